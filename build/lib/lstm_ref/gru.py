r"""The GRU layer in Keras' default layout (``reset_after=True``).

Notation (shared with the book). :math:`W` = ``kernel`` (D, 3H), :math:`U` =
``recurrent_kernel`` (H, 3H), split column-wise into the gate blocks **z, r, h**;
``bias`` is (2, 3H): row 0 :math:`b^x` is added to the input projection, row 1
:math:`b^h` to the recurrent one (the "second bias" of ``reset_after=True``):

.. math::

    z_t &= \sigma(x_t W^z + b^{x,z} + h_{t-1} U^z + b^{h,z}) \\
    r_t &= \sigma(x_t W^r + b^{x,r} + h_{t-1} U^r + b^{h,r}) \\
    \tilde h_t &= \tanh\big(x_t W^h + b^{x,h} + r_t \odot (h_{t-1} U^h + b^{h,h})\big) \\
    h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

Note Keras' convention: :math:`z_t` close to 1 *keeps* the old state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks
from .activations import sigmoid

__all__ = ["gru_backward", "gru_forward", "gru_step"]


def _weights(kernel, recurrent_kernel, bias):
    return _checks.recurrent_weights(kernel, recurrent_kernel, bias, 3, bias_rows=2)


def gru_step(
    x: np.ndarray,
    h_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> np.ndarray:
    """One GRU step, as Keras' ``GRU`` with ``reset_after=True`` (its default).

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs :math:`x_t`.
    h_prev : ndarray, shape (N, H)
        Previous hidden state :math:`h_{t-1}`.
    kernel : ndarray, shape (D, 3H)
        Input weights, gate blocks z, r, h side by side.
    recurrent_kernel : ndarray, shape (H, 3H)
        Recurrent weights, same block order.
    bias : ndarray, shape (2, 3H)
        Row 0 input bias, row 1 recurrent bias.

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state :math:`h_t`.
    """
    kernel, recurrent_kernel, bias, D, H = _weights(kernel, recurrent_kernel, bias)
    x = _checks.step_input("x", x, D)
    h_prev = _checks.state("h_prev", h_prev, x.shape[0], H, x.dtype)
    ax = x @ kernel + bias[0]
    ah = h_prev @ recurrent_kernel + bias[1]
    z = sigmoid(ax[:, :H] + ah[:, :H])
    r = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    cand = np.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
    return z * h_prev + (1.0 - z) * cand


def gru_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run a GRU over a batch of sequences, as ``keras.layers.GRU``.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Batch-first input sequences.
    kernel : ndarray, shape (D, 3H)
    recurrent_kernel : ndarray, shape (H, 3H)
    bias : ndarray, shape (2, 3H)
        Weights in Keras' layout (``GRU(H).get_weights()``), gate order z, r, h.
    h0 : ndarray, shape (N, H), optional
        Initial hidden state; zeros when omitted.

    Returns
    -------
    hs : ndarray, shape (N, T, H)
        Hidden state at every step.
    cache : dict
        What :func:`gru_backward` needs.
    """
    kernel, recurrent_kernel, bias, D, H = _weights(kernel, recurrent_kernel, bias)
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    U = recurrent_kernel.astype(dtype, copy=False)
    ax = (x.reshape(N * T, D) @ kernel.astype(dtype, copy=False)).reshape(N, T, 3 * H)
    ax += bias[0]
    hs = np.empty((N, T, H), dtype=dtype)
    zr = np.empty((N, T, 2 * H), dtype=dtype)   # z and r after the sigmoid
    cands = np.empty((N, T, H), dtype=dtype)    # candidate h~ after tanh
    rec_h = np.empty((N, T, H), dtype=dtype)    # h_{t-1} U^h + b^{h,h}
    h = h0.astype(dtype, copy=False)
    b1 = bias[1].astype(dtype, copy=False)
    for t in range(T):
        ah = h @ U
        ah += b1
        s = zr[:, t]
        np.add(ax[:, t, : 2 * H], ah[:, : 2 * H], out=s)
        sigmoid(s, out=s)
        z, r = s[:, :H], s[:, H:]
        rec_h[:, t] = ah[:, 2 * H :]
        cand = cands[:, t]
        np.multiply(r, ah[:, 2 * H :], out=cand)
        cand += ax[:, t, 2 * H :]
        np.tanh(cand, out=cand)
        # h = z * h_prev + (1 - z) * cand  ==  cand + z * (h_prev - cand)
        out = hs[:, t]
        np.subtract(h, cand, out=out)
        out *= z
        out += cand
        h = out
    cache = {"x": x, "h0": h0, "hs": hs, "zr": zr, "cands": cands, "rec_h": rec_h,
             "kernel": kernel, "recurrent_kernel": U, "bias": bias}
    return hs, cache


def _gru_backward(dhs: np.ndarray, cache: dict[str, Any], record: bool = False):
    x, h0, hs = cache["x"], cache["h0"], cache["hs"]
    zr, cands, rec_h = cache["zr"], cache["cands"], cache["rec_h"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]
    dhs = _checks.upstream("dhs", dhs, hs.shape)
    N, T, H = hs.shape
    D = x.shape[2]
    dtype = np.result_type(hs, dhs)
    dax = np.empty((N, T, 3 * H), dtype=dtype)   # gradient wrt input pre-activations
    dah = np.empty((N, T, 3 * H), dtype=dtype)   # gradient wrt recurrent pre-activations
    dh_next = np.zeros((N, H), dtype=dtype)
    dh_all = np.empty((N, T, H), dtype=dtype) if record else None
    h0c = h0.astype(dtype, copy=False)
    for t in range(T - 1, -1, -1):
        z, r = zr[:, t, :H], zr[:, t, H:]
        cand = cands[:, t]
        h_prev = hs[:, t - 1] if t > 0 else h0c
        dh = dhs[:, t] + dh_next
        if record:
            dh_all[:, t] = dh
        d_cand_pre = dh * (1.0 - z) * (1.0 - cand * cand)
        dz_pre = dh * (h_prev - cand) * z * (1.0 - z)
        dr_pre = d_cand_pre * rec_h[:, t] * r * (1.0 - r)
        dx = dax[:, t]
        dx[:, :H] = dz_pre
        dx[:, H : 2 * H] = dr_pre
        dx[:, 2 * H :] = d_cand_pre
        drec = dah[:, t]
        drec[:, : 2 * H] = dx[:, : 2 * H]
        np.multiply(d_cand_pre, r, out=drec[:, 2 * H :])
        dh_next = dh * z + drec @ U.T
    h_prev_all = np.concatenate([h0c[:, None, :], hs[:, :-1]], axis=1)
    dax2 = dax.reshape(N * T, 3 * H)
    dah2 = dah.reshape(N * T, 3 * H)
    bias = cache["bias"]
    grads = {
        "x": (dax2 @ kernel.T).reshape(N, T, D).astype(x.dtype, copy=False),
        "kernel": (x.reshape(N * T, D).T @ dax2).astype(kernel.dtype, copy=False),
        "recurrent_kernel": (h_prev_all.reshape(N * T, H).T @ dah2).astype(
            U.dtype, copy=False),
        "bias": np.stack([dax2.sum(axis=0), dah2.sum(axis=0)]).astype(bias.dtype, copy=False),
        "h0": dh_next.astype(h0.dtype, copy=False),
    }
    return grads, {"h": dh_all}


def gru_backward(dhs: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``hs``.
    cache : dict
        The cache returned by :func:`gru_forward`.

    Returns
    -------
    grads : dict of ndarray
        ``"x"`` (N, T, D), ``"kernel"`` (D, 3H), ``"recurrent_kernel"`` (H, 3H),
        ``"bias"`` (2, 3H), ``"h0"`` (N, H).
    """
    return _gru_backward(dhs, cache)[0]
