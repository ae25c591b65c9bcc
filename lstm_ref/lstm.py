r"""The LSTM layer in Keras' fused layout: the reference to read beside the book.

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

The code is one step forward (:func:`_step_forward`), one step backward
(:func:`_step_backward`) and a loop over time in each direction. ``lstm_ref.fast`` holds
an optimised twin of :func:`lstm_forward` and :func:`lstm_backward` with the same
signatures, tested equal to these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks
from .activations import sigmoid

__all__ = ["lstm_backward", "lstm_forward", "lstm_gates", "lstm_step"]


def _activate(a: np.ndarray) -> np.ndarray:
    """Gate activations from pre-activations.

    Parameters
    ----------
    a : ndarray, shape (N, 4H)
        Pre-activations :math:`a_t`, blocks i, f, c, o.

    Returns
    -------
    ndarray, shape (N, 4H)
        :math:`[i_t, f_t, g_t, o_t]`: sigmoid on blocks i, f, o and tanh on block c.
    """
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    return np.concatenate([sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)], axis=1)


def _step_forward(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""One LSTM step, without input checks (:func:`lstm_step` checks, then calls this).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,)
        As for :func:`lstm_step`.

    Returns
    -------
    h, c : ndarray, shape (N, H)
        New hidden and cell states.
    gates : ndarray, shape (N, 4H)
        :math:`[i_t, f_t, g_t, o_t]`, kept for the backward pass.
    tanh_c : ndarray, shape (N, H)
        :math:`\tanh(c_t)`, kept for the backward pass.
    """
    gates = _activate(x @ kernel + h_prev @ recurrent_kernel + bias)
    i, f, g, o = np.split(gates, 4, axis=1)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, gates, tanh_c


def _step_backward(
    dh: np.ndarray,
    dc_next: np.ndarray,
    gates: np.ndarray,
    c_prev: np.ndarray,
    tanh_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Backpropagation through the gates of one step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        :math:`\delta h_t`, the total gradient reaching :math:`h_t`: from the loss at
        step :math:`t` and from step :math:`t + 1`.
    dc_next : ndarray, shape (N, H)
        The gradient reaching :math:`c_t` from step :math:`t + 1`,
        :math:`\delta c_{t+1} \odot f_{t+1}` (zeros at the last step).
    gates : ndarray, shape (N, 4H)
        :math:`[i_t, f_t, g_t, o_t]` from the forward pass.
    c_prev : ndarray, shape (N, H)
        :math:`c_{t-1}`.
    tanh_c : ndarray, shape (N, H)
        :math:`\tanh(c_t)`.

    Returns
    -------
    da : ndarray, shape (N, 4H)
        :math:`\delta a_t`, the gradient of the pre-activations, blocks i, f, c, o.
    dc : ndarray, shape (N, H)
        :math:`\delta c_t`, the total gradient reaching :math:`c_t`.
    """
    i, f, g, o = np.split(gates, 4, axis=1)
    dc = dc_next + dh * o * (1.0 - tanh_c**2)
    da_i = dc * g * i * (1.0 - i)
    da_f = dc * c_prev * f * (1.0 - f)
    da_g = dc * i * (1.0 - g**2)
    da_o = dh * tanh_c * o * (1.0 - o)
    return np.concatenate([da_i, da_f, da_g, da_o], axis=1), dc


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
    gates = _activate(x @ kernel + h_prev @ recurrent_kernel + bias)
    return dict(zip("ifgo", np.split(gates, 4, axis=1), strict=True))


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
    h, c, _, _ = _step_forward(x, h_prev, c_prev, kernel, recurrent_kernel, bias)
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
    ``keras.layers.LSTM(H, return_sequences=True)(x)`` for the same layer; its last step
    ``hs[:, -1]`` is the output of ``LSTM(H)`` and ``cache["cs"][:, -1]`` the final cell
    state of ``return_state=True``.

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
        What :func:`lstm_backward` needs: the inputs ``"x"`` (N, T, D), ``"h0"`` and
        ``"c0"`` (N, H), the weights ``"kernel"``, ``"recurrent_kernel"``, ``"bias"``;
        ``"hs"`` (N, T, H); the gate activations ``"gates"`` (N, T, 4H) (i, f, g, o after
        their nonlinearities); the cell states ``"cs"`` (N, T, H) and their tanh
        ``"tanh_cs"`` (N, T, H).

    See Also
    --------
    lstm_ref.fast.lstm_forward : the same function, optimised.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    c0 = _checks.state("c0", c0, N, H, dtype)
    W, U, b = (w.astype(dtype, copy=False) for w in (kernel, recurrent_kernel, bias))
    hs = np.empty((N, T, H), dtype=dtype)
    cs = np.empty((N, T, H), dtype=dtype)
    tanh_cs = np.empty((N, T, H), dtype=dtype)
    gates = np.empty((N, T, 4 * H), dtype=dtype)
    h, c = h0.astype(dtype, copy=False), c0.astype(dtype, copy=False)
    for t in range(T):
        h, c, gates[:, t], tanh_cs[:, t] = _step_forward(x[:, t], h, c, W, U, b)
        hs[:, t], cs[:, t] = h, c
    cache = {"x": x, "h0": h0, "c0": c0, "hs": hs, "cs": cs, "tanh_cs": tanh_cs,
             "gates": gates, "kernel": kernel, "recurrent_kernel": U, "bias": bias}
    return hs, cache


def _lstm_backward(dhs: np.ndarray, cache: dict[str, Any], record: bool = False):
    r""":func:`lstm_backward`; with ``record``, also every step's total gradients
    ``{"h": (N, T, H), "c": (N, T, H)}`` (:math:`\delta h_t`, :math:`\delta c_t`)."""
    x, h0, c0, hs = cache["x"], cache["h0"], cache["c0"], cache["hs"]
    gates, cs, tanh_cs = cache["gates"], cache["cs"], cache["tanh_cs"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]
    N, T, H = hs.shape
    dhs = _checks.upstream("dhs", dhs, (N, T, H))
    dtype = np.result_type(hs, dhs)
    da = np.empty((N, T, 4 * H), dtype=dtype)       # delta a_t of every step
    dh_all = np.empty((N, T, H), dtype=dtype) if record else None
    dc_all = np.empty((N, T, H), dtype=dtype) if record else None
    dh_next = np.zeros((N, H), dtype=dtype)          # to h_t from step t + 1
    dc_next = np.zeros((N, H), dtype=dtype)          # to c_t from step t + 1
    for t in reversed(range(T)):
        c_prev = cs[:, t - 1] if t > 0 else c0
        dh = dhs[:, t] + dh_next                      # delta h_t
        da[:, t], dc = _step_backward(dh, dc_next, gates[:, t], c_prev, tanh_cs[:, t])
        dh_next = da[:, t] @ U.T                      # to h_{t-1}, through U
        dc_next = dc * gates[:, t, H : 2 * H]         # to c_{t-1}, through f_t alone
        if record:
            dh_all[:, t], dc_all[:, t] = dh, dc
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)   # (N, T, H): h_{t-1}
    # dW = sum over n and t of x_t^T delta a_t; dU likewise with h_{t-1}; db of delta a_t.
    grads = {
        "x": (da @ kernel.T).astype(x.dtype, copy=False),
        "kernel": np.tensordot(x, da, axes=([0, 1], [0, 1])).astype(kernel.dtype, copy=False),
        "recurrent_kernel": np.tensordot(h_prev, da, axes=([0, 1], [0, 1])).astype(
            U.dtype, copy=False),
        "bias": da.sum(axis=(0, 1)).astype(cache["bias"].dtype, copy=False),
        "h0": dh_next.astype(h0.dtype, copy=False),
        "c0": dc_next.astype(c0.dtype, copy=False),
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

    See Also
    --------
    lstm_ref.fast.lstm_backward : the same function, optimised.
    """
    return _lstm_backward(dhs, cache)[0]
