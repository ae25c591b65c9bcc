r"""The vanilla (Elman) recurrent layer, as Keras' ``SimpleRNN`` with ``tanh``.

Notation (shared with the book):

.. math::

    h_t = \tanh(x_t W + h_{t-1} U + b)

with :math:`W` = ``kernel`` (D, H), :math:`U` = ``recurrent_kernel`` (H, H) and
:math:`b` = ``bias`` (H,).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks

__all__ = ["rnn_backward", "rnn_forward", "rnn_step"]


def rnn_step(
    x: np.ndarray,
    h_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> np.ndarray:
    r"""One step of a SimpleRNN: :math:`h_t = \tanh(x_t W + h_{t-1} U + b)`.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this time step.
    h_prev : ndarray, shape (N, H)
        Previous hidden state :math:`h_{t-1}`.
    kernel : ndarray, shape (D, H)
        Input weights :math:`W`.
    recurrent_kernel : ndarray, shape (H, H)
        Recurrent weights :math:`U`.
    bias : ndarray, shape (H,)
        Bias :math:`b`.

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state, in the promoted dtype of the inputs.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 1
    )
    x = _checks.step_input("x", x, D)
    h_prev = _checks.state("h_prev", h_prev, x.shape[0], H, x.dtype)
    return np.tanh(x @ kernel + h_prev @ recurrent_kernel + bias)


def rnn_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run a SimpleRNN over a batch of sequences.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Batch-first input sequences.
    kernel : ndarray, shape (D, H)
    recurrent_kernel : ndarray, shape (H, H)
    bias : ndarray, shape (H,)
        Weights in Keras' layout: ``SimpleRNN(H).get_weights()``.
    h0 : ndarray, shape (N, H), optional
        Initial hidden state; zeros when omitted (as in Keras).

    Returns
    -------
    hs : ndarray, shape (N, T, H)
        Hidden state at every step (Keras' ``return_sequences=True`` output).
    cache : dict
        What :func:`rnn_backward` needs.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 1
    )
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    U = recurrent_kernel.astype(dtype, copy=False)
    # One input projection for all steps: (N*T, D) @ (D, H).
    a = (x.reshape(N * T, D) @ kernel.astype(dtype, copy=False)).reshape(N, T, H)
    a += bias
    hs = np.empty((N, T, H), dtype=dtype)
    h = h0.astype(dtype, copy=False)
    for t in range(T):
        at = a[:, t]
        at += h @ U
        h = np.tanh(at, out=hs[:, t])
    cache = {"x": x, "h0": h0, "hs": hs, "kernel": kernel, "recurrent_kernel": U,
             "bias": bias}
    return hs, cache


def _rnn_backward(dhs: np.ndarray, cache: dict[str, Any], record: bool = False):
    x, h0, hs = cache["x"], cache["h0"], cache["hs"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]
    dhs = _checks.upstream("dhs", dhs, hs.shape)
    N, T, H = hs.shape
    D = x.shape[2]
    da = np.empty_like(hs, dtype=np.result_type(hs, dhs))
    dh_next = np.zeros((N, H), dtype=da.dtype)
    dh_all = np.empty_like(da) if record else None
    for t in range(T - 1, -1, -1):
        dh = dhs[:, t] + dh_next
        if record:
            dh_all[:, t] = dh
        h = hs[:, t]
        np.multiply(dh, 1.0 - h * h, out=da[:, t])
        dh_next = da[:, t] @ U.T
    h_prev = np.concatenate([h0[:, None, :].astype(hs.dtype, copy=False), hs[:, :-1]], axis=1)
    da2 = da.reshape(N * T, H)
    grads = {
        "x": (da2 @ kernel.T).reshape(N, T, D).astype(x.dtype, copy=False),
        "kernel": (x.reshape(N * T, D).T @ da2).astype(kernel.dtype, copy=False),
        "recurrent_kernel": (h_prev.reshape(N * T, H).T @ da2).astype(U.dtype, copy=False),
        "bias": da2.sum(axis=0).astype(cache["bias"].dtype, copy=False),
        "h0": dh_next.astype(h0.dtype, copy=False),
    }
    return grads, {"h": dh_all}


def rnn_backward(dhs: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``hs``.
    cache : dict
        The cache returned by :func:`rnn_forward`.

    Returns
    -------
    grads : dict of ndarray
        ``"x"`` (N, T, D), ``"kernel"`` (D, H), ``"recurrent_kernel"`` (H, H),
        ``"bias"`` (H,), ``"h0"`` (N, H).
    """
    return _rnn_backward(dhs, cache)[0]
