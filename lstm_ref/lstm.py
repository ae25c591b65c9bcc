r"""The LSTM layer in Keras' fused layout.

Notation (shared with the book). With :math:`W` = ``kernel`` (D, 4H), :math:`U` =
``recurrent_kernel`` (H, 4H) and :math:`b` = ``bias`` (4H,), split column-wise into the
four gate blocks in Keras' order **i, f, c, o**:

.. math::

    a_t &= x_t W + h_{t-1} U + b = [a^i_t, a^f_t, a^g_t, a^o_t] \\
    i_t &= \sigma(a^i_t), \quad f_t = \sigma(a^f_t), \quad
    g_t = \tanh(a^g_t), \quad o_t = \sigma(a^o_t) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)

:math:`g_t` is the candidate cell state (Keras calls its block "c").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks
from .activations import sigmoid

__all__ = ["lstm_backward", "lstm_forward", "lstm_step"]


def _activate(a: np.ndarray, H: int) -> np.ndarray:
    """Apply the gate nonlinearities to a pre-activation block (N, 4H), in place."""
    sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])
    np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
    sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])
    return a


def lstm_gates(
    x: np.ndarray,
    h_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> dict[str, np.ndarray]:
    """The four gate activations of one LSTM step, for inspection and plots.

    Parameters are those of :func:`lstm_step` (without ``c_prev``, which no gate reads).

    Returns
    -------
    dict of ndarray, each (N, H)
        ``"i"`` input gate, ``"f"`` forget gate, ``"g"`` candidate, ``"o"`` output gate.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.step_input("x", x, D)
    h_prev = _checks.state("h_prev", h_prev, x.shape[0], H, x.dtype)
    a = _activate(x @ kernel + h_prev @ recurrent_kernel + bias, H)
    return {"i": a[:, :H], "f": a[:, H : 2 * H], "g": a[:, 2 * H : 3 * H], "o": a[:, 3 * H :]}


def lstm_step(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step in Keras' layout (gate order i, f, c, o).

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs :math:`x_t`.
    h_prev : ndarray, shape (N, H)
        Previous hidden state :math:`h_{t-1}`.
    c_prev : ndarray, shape (N, H)
        Previous cell state :math:`c_{t-1}`.
    kernel : ndarray, shape (D, 4H)
        Input weights :math:`W`, gate blocks i, f, c, o side by side.
    recurrent_kernel : ndarray, shape (H, 4H)
        Recurrent weights :math:`U`, same block order.
    bias : ndarray, shape (4H,)
        Bias :math:`b`, same block order.

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state :math:`h_t`.
    c : ndarray, shape (N, H)
        New cell state :math:`c_t`.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.step_input("x", x, D)
    N = x.shape[0]
    h_prev = _checks.state("h_prev", h_prev, N, H, x.dtype)
    c_prev = _checks.state("c_prev", c_prev, N, H, x.dtype)
    a = _activate(x @ kernel + h_prev @ recurrent_kernel + bias, H)
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c


def lstm_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run an LSTM over a batch of sequences, as ``keras.layers.LSTM``.

    ``lstm_forward(x, *layer.get_weights())[0]`` equals
    ``keras.layers.LSTM(H, return_sequences=True)(x)`` for the same layer.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Batch-first input sequences.
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,)
        Weights in Keras' layout, gate order i, f, c, o.
    h0, c0 : ndarray, shape (N, H), optional
        Initial hidden and cell states; zeros when omitted (as in Keras).

    Returns
    -------
    hs : ndarray, shape (N, T, H)
        Hidden state at every step.
    cache : dict
        What :func:`lstm_backward` needs: the inputs, states and gate activations
        ``"gates"`` of shape (N, T, 4H) (i, f, g, o after their nonlinearities), and the
        cell states ``"cs"`` of shape (N, T, H).
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    c0 = _checks.state("c0", c0, N, H, dtype)
    U = recurrent_kernel.astype(dtype, copy=False)
    # One input projection for all steps; the loop adds one fused recurrent product.
    gates = (x.reshape(N * T, D) @ kernel.astype(dtype, copy=False)).reshape(N, T, 4 * H)
    gates += bias
    hs = np.empty((N, T, H), dtype=dtype)
    cs = np.empty((N, T, H), dtype=dtype)
    tanh_cs = np.empty((N, T, H), dtype=dtype)
    h = h0.astype(dtype, copy=False)
    c = c0.astype(dtype, copy=False)
    for t in range(T):
        a = gates[:, t]
        a += h @ U
        _activate(a, H)
        c_t = cs[:, t]
        np.multiply(a[:, H : 2 * H], c, out=c_t)
        c_t += a[:, :H] * a[:, 2 * H : 3 * H]
        np.tanh(c_t, out=tanh_cs[:, t])
        np.multiply(a[:, 3 * H :], tanh_cs[:, t], out=hs[:, t])
        h, c = hs[:, t], c_t
    cache = {"x": x, "h0": h0, "c0": c0, "hs": hs, "cs": cs, "tanh_cs": tanh_cs,
             "gates": gates, "kernel": kernel, "recurrent_kernel": U, "bias": bias}
    return hs, cache


def _lstm_backward(dhs: np.ndarray, cache: dict[str, Any], record: bool = False):
    x, h0, c0 = cache["x"], cache["h0"], cache["c0"]
    hs, cs, tanh_cs, gates = cache["hs"], cache["cs"], cache["tanh_cs"], cache["gates"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]
    dhs = _checks.upstream("dhs", dhs, hs.shape)
    N, T, H = hs.shape
    D = x.shape[2]
    dtype = np.result_type(hs, dhs)
    da = np.empty((N, T, 4 * H), dtype=dtype)
    dh_next = np.zeros((N, H), dtype=dtype)
    dc_next = np.zeros((N, H), dtype=dtype)
    dh_all = np.empty((N, T, H), dtype=dtype) if record else None
    dc_all = np.empty((N, T, H), dtype=dtype) if record else None
    c0 = c0.astype(dtype, copy=False)
    for t in range(T - 1, -1, -1):
        g4 = gates[:, t]
        i, f, g, o = g4[:, :H], g4[:, H : 2 * H], g4[:, 2 * H : 3 * H], g4[:, 3 * H :]
        tc = tanh_cs[:, t]
        c_prev = cs[:, t - 1] if t > 0 else c0
        dh = dhs[:, t] + dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        if record:
            dh_all[:, t] = dh
            dc_all[:, t] = dc
        d = da[:, t]
        np.multiply(dc * g, i * (1.0 - i), out=d[:, :H])
        np.multiply(dc * c_prev, f * (1.0 - f), out=d[:, H : 2 * H])
        np.multiply(dc * i, 1.0 - g * g, out=d[:, 2 * H : 3 * H])
        np.multiply(dh * tc, o * (1.0 - o), out=d[:, 3 * H :])
        dh_next = d @ U.T
        dc_next = dc * f
    h_prev = np.concatenate([h0[:, None, :].astype(dtype, copy=False), hs[:, :-1]], axis=1)
    da2 = da.reshape(N * T, 4 * H)
    grads = {
        "x": (da2 @ kernel.T).reshape(N, T, D).astype(x.dtype, copy=False),
        "kernel": (x.reshape(N * T, D).T @ da2).astype(kernel.dtype, copy=False),
        "recurrent_kernel": (h_prev.reshape(N * T, H).T @ da2).astype(U.dtype, copy=False),
        "bias": da2.sum(axis=0).astype(cache["bias"].dtype, copy=False),
        "h0": dh_next.astype(h0.dtype, copy=False),
        "c0": dc_next.astype(cache["c0"].dtype, copy=False),
    }
    return grads, {"h": dh_all, "c": dc_all}


def lstm_backward(dhs: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    r"""Backpropagation through time for :func:`lstm_forward`.

    With :math:`\delta h_t` the total gradient reaching :math:`h_t` (from ``dhs`` and from
    step :math:`t+1`), the cell-state gradient is

    .. math::

        \delta c_t = \delta c_{t+1} \odot f_{t+1} + \delta h_t \odot o_t \odot
        (1 - \tanh^2 c_t),

    the additive path that lets gradients cross many steps while :math:`f \approx 1`.

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``hs``.
    cache : dict
        The cache returned by :func:`lstm_forward`.

    Returns
    -------
    grads : dict of ndarray
        ``"x"`` (N, T, D), ``"kernel"`` (D, 4H), ``"recurrent_kernel"`` (H, 4H),
        ``"bias"`` (4H,), ``"h0"`` (N, H), ``"c0"`` (N, H).
    """
    return _lstm_backward(dhs, cache)[0]
