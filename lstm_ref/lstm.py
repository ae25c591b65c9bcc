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
    r"""Run an LSTM over a batch of sequences, as ``keras.layers.LSTM``.

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

    Notes
    -----
    Two implementation choices make this about twice as fast as the textbook loop,
    with the same results to rounding:

    * Arrays are stored time-major, (T, N, ...), so each step reads and writes
      contiguous blocks; ``hs`` and the cache entries are (N, T, ...) *views* of them
      (``hs.flags.c_contiguous`` is False; ``np.ascontiguousarray(hs)`` copies).
    * :math:`\sigma(a) = (1 + \tanh(a / 2)) / 2`. The sigmoid blocks of the weights are
      halved once (exact in floating point), so one fast ``np.tanh`` over the whole
      (N, 4H) block serves all four gates; :func:`sigmoid` (SciPy's ``expit``) is several
      times slower per element.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    c0 = _checks.state("c0", c0, N, H, dtype)
    H2, H3 = 2 * H, 3 * H
    U = recurrent_kernel.astype(dtype, copy=False)
    half = np.full(4 * H, 0.5, dtype=dtype)   # halve the i, f, o blocks: see Notes
    half[H2:H3] = 1.0
    U_half = U * half
    # One input projection for all steps, time-major: (T*N, D) @ (D, 4H) -> (T, N, 4H).
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype).reshape(T * N, D)
    gates = np.matmul(x_tm, kernel.astype(dtype, copy=False) * half).reshape(T, N, 4 * H)
    gates += bias.astype(dtype, copy=False) * half
    hs = np.empty((T, N, H), dtype=dtype)
    cs = np.empty((T, N, H), dtype=dtype)
    tanh_cs = np.empty((T, N, H), dtype=dtype)
    rec = np.empty((N, 4 * H), dtype=dtype)      # h_{t-1} U, reused every step
    ig = np.empty((N, H), dtype=dtype)           # i * g, reused every step
    h = h0.astype(dtype, copy=False)
    c = c0.astype(dtype, copy=False)
    for t in range(T):
        a = gates[t]                             # (N, 4H), becomes [i, f, g, o]
        np.matmul(h, U_half, out=rec)
        a += rec
        np.tanh(a, out=a)                        # g, and tanh(a/2) for i, f, o
        s = a[:, :H2]                            # i, f = (1 + tanh(a/2)) / 2
        s *= 0.5
        s += 0.5
        s = a[:, H3:]                            # o
        s *= 0.5
        s += 0.5
        c_t = cs[t]
        np.multiply(a[:, H:H2], c, out=c_t)      # f * c_{t-1}
        np.multiply(a[:, :H], a[:, H2:H3], out=ig)
        c_t += ig                                # + i * g
        np.tanh(c_t, out=tanh_cs[t])
        np.multiply(a[:, H3:], tanh_cs[t], out=hs[t])
        h, c = hs[t], c_t

    def batch_first(a: np.ndarray) -> np.ndarray:
        return a.transpose(1, 0, 2)

    hs = batch_first(hs)
    cache = {"x": x, "h0": h0, "c0": c0, "hs": hs, "cs": batch_first(cs),
             "tanh_cs": batch_first(tanh_cs), "gates": batch_first(gates),
             "kernel": kernel, "recurrent_kernel": U, "bias": bias}
    return hs, cache


def _lstm_backward(dhs: np.ndarray, cache: dict[str, Any], record: bool = False):
    # Works time-major: the (N, T, ...) cache entries are transposed back (free for a
    # cache made by lstm_forward, whose arrays are time-major underneath).
    x, h0, c0 = cache["x"], cache["h0"], cache["c0"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]
    hs = cache["hs"].transpose(1, 0, 2)          # (T, N, H)
    cs = cache["cs"].transpose(1, 0, 2)
    tanh_cs = cache["tanh_cs"].transpose(1, 0, 2)
    gates = cache["gates"].transpose(1, 0, 2)    # (T, N, 4H): i, f, g, o
    T, N, H = hs.shape
    dhs = _checks.upstream("dhs", dhs, (N, T, H)).transpose(1, 0, 2)
    D = x.shape[2]
    dtype = np.result_type(hs, dhs)
    H2, H3 = 2 * H, 3 * H
    # Local derivatives of the activations for all steps at once (no recursion in them):
    # s (1 - s) on the sigmoid blocks, 1 - g^2 on the candidate; da is then finished in
    # place inside the loop by multiplying in the upstream factors.
    da = np.multiply(gates, gates, dtype=dtype)
    np.subtract(gates, da, out=da)
    np.subtract(1.0, np.square(gates[..., H2:H3], dtype=dtype), out=da[..., H2:H3])
    # o_t (1 - tanh^2 c_t): how dh_t reaches c_t.
    o_dtanh = np.square(tanh_cs, dtype=dtype)
    np.subtract(1.0, o_dtanh, out=o_dtanh)
    o_dtanh *= gates[..., H3:]
    U_T = np.ascontiguousarray(U.T, dtype=dtype)
    dh = np.empty((N, H), dtype=dtype)
    dc = np.zeros((N, H), dtype=dtype)           # dc_{t+1} f_{t+1}, then dc_t
    dh_next = np.zeros((N, H), dtype=dtype)      # da_{t+1} U^T
    tmp = np.empty((N, H), dtype=dtype)
    up = np.empty((N, 4 * H), dtype=dtype)       # upstream factor of each gate
    dh_all = np.empty((T, N, H), dtype=dtype) if record else None
    dc_all = np.empty((T, N, H), dtype=dtype) if record else None
    c0c = c0.astype(dtype, copy=False)
    for t in range(T - 1, -1, -1):
        g4 = gates[t]
        np.add(dhs[t], dh_next, out=dh)
        np.multiply(dh, o_dtanh[t], out=tmp)
        dc += tmp
        if record:
            dh_all[t] = dh
            dc_all[t] = dc
        np.multiply(dc, g4[:, H2:H3], out=up[:, :H])                    # di = dc g
        np.multiply(dc, cs[t - 1] if t > 0 else c0c, out=up[:, H:H2])   # df = dc c_{t-1}
        np.multiply(dc, g4[:, :H], out=up[:, H2:H3])                    # dg = dc i
        np.multiply(dh, tanh_cs[t], out=up[:, H3:])                     # do = dh tanh c
        d = da[t]
        d *= up
        np.matmul(d, U_T, out=dh_next)
        dc *= g4[:, H:H2]
    da2 = da.reshape(T * N, 4 * H)
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype).reshape(T * N, D)
    dU = h0.astype(dtype, copy=False).T @ da[0]
    if T > 1:
        dU += hs[:-1].reshape((T - 1) * N, H).T @ da[1:].reshape((T - 1) * N, 4 * H)
    dx = (da2 @ kernel.astype(dtype, copy=False).T).reshape(T, N, D)
    grads = {
        "x": np.ascontiguousarray(dx.transpose(1, 0, 2), dtype=x.dtype),
        "kernel": (x_tm.T @ da2).astype(kernel.dtype, copy=False),
        "recurrent_kernel": dU.astype(U.dtype, copy=False),
        "bias": da2.sum(axis=0).astype(cache["bias"].dtype, copy=False),
        "h0": dh_next.astype(h0.dtype, copy=False),
        "c0": dc.astype(c0.dtype, copy=False),
    }
    per_step = {"h": None if dh_all is None else dh_all.transpose(1, 0, 2),
                "c": None if dc_all is None else dc_all.transpose(1, 0, 2)}
    return grads, per_step


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
