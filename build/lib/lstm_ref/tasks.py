r"""Weights, toy tasks and gradient measurements for the vanishing-gradient chapter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .gru import _gru_backward, gru_forward
from .lstm import _lstm_backward, lstm_forward
from .params import GATE_BLOCKS
from .rnn import _rnn_backward, rnn_forward

__all__ = ["adding_problem", "init_weights", "state_gradient_norms"]

_FORWARD = {"rnn": rnn_forward, "lstm": lstm_forward, "gru": gru_forward}
_BACKWARD = {"rnn": _rnn_backward, "lstm": _lstm_backward, "gru": _gru_backward}


def _kind(kind: str) -> str:
    if kind not in GATE_BLOCKS:
        raise ValueError(f"kind must be one of {sorted(GATE_BLOCKS)}, got {kind!r}")
    return kind


def _orthogonal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Keras' ``Orthogonal`` initializer (gain 1) for a (rows, cols) matrix."""
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return q.T if rows < cols else q


def init_weights(
    kind: str,
    input_dim: int,
    units: int,
    *,
    rng: np.random.Generator | int | None = None,
    forget_bias: float = 1.0,
    dtype: np.dtype | type = np.float32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw weights the way Keras initialises a fresh layer.

    ``kernel`` is Glorot-uniform, ``recurrent_kernel`` orthogonal, ``bias`` zero, except
    the LSTM forget-gate block, set to ``forget_bias`` (Keras' ``unit_forget_bias=True``
    sets 1). Same distributions as Keras, not the same numbers.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    input_dim, units : int
        D and H.
    rng : numpy.random.Generator or int, optional
        Source of randomness (an int is used as a seed).
    forget_bias : float
        LSTM only: the initial forget-gate bias; 3.0 keeps the gate open
        (:math:`\\sigma(3) \\approx 0.95`).
    dtype : dtype
        float32 (Keras' default) or float64.

    Returns
    -------
    kernel : ndarray, shape (D, G·H)
    recurrent_kernel : ndarray, shape (H, G·H)
    bias : ndarray, shape (G·H,), or (2, 3H) for the GRU
        With G = 1, 4, 3 gate blocks for rnn, lstm, gru.
    """
    kind = _kind(kind)
    rng = np.random.default_rng(rng)
    G = GATE_BLOCKS[kind]
    D, H = int(input_dim), int(units)
    limit = np.sqrt(6.0 / (D + G * H))
    kernel = rng.uniform(-limit, limit, size=(D, G * H))
    recurrent = _orthogonal(H, G * H, rng)
    if kind == "gru":
        bias = np.zeros((2, G * H))
    else:
        bias = np.zeros(G * H)
        if kind == "lstm":
            bias[H : 2 * H] = forget_bias
    return kernel.astype(dtype), recurrent.astype(dtype), bias.astype(dtype)


def adding_problem(
    n: int, seq_len: int, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The adding problem (Hochreiter & Schmidhuber 1997), in the form of Le et al. 2015.

    Each sequence has two channels: channel 0 holds values drawn from U[0, 1], channel 1
    is zero except for two 1s, one placed uniformly in the first half of the sequence and
    one in the second half. The target is the sum of the two marked values. Predicting the
    constant 1 gives an MSE of :math:`\mathrm{Var}(u_1 + u_2) = 1/6 \approx 0.167`: a
    model must beat that to have learnt anything.

    Parameters
    ----------
    n : int
        Number of sequences.
    seq_len : int
        T, at least 2.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    x : ndarray, shape (n, T, 2), float32
    y : ndarray, shape (n, 1), float32
    """
    if int(seq_len) < 2:
        raise ValueError(f"seq_len must be at least 2, got {seq_len}")
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(rng)
    T = int(seq_len)
    values = rng.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return x, y


def state_gradient_norms(
    kind: str,
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, Any]:
    r"""How the gradient of a loss at the last step decays with distance (lag).

    Runs the layer over ``x``, takes the loss :math:`L = \sum_n v^\top h^{(n)}_{T}` with
    a random unit vector :math:`v` (so only the last hidden state is scored), and
    backpropagates through time. For each lag :math:`d` it reports

    .. math::

        \rho_h(d) = \frac{\operatorname{mean}_n \|\partial L / \partial h^{(n)}_{T-d}\|}
                         {\operatorname{mean}_n \|\partial L / \partial h^{(n)}_{T}\|}

    and, for the LSTM, the same ratio :math:`\rho_c(d)` for the cell state.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    x : ndarray, shape (N, T, D)
    kernel, recurrent_kernel, bias : ndarray
        Keras-layout weights of that kind (see :func:`init_weights`).
    rng : numpy.random.Generator or int, optional
        Draws :math:`v`.

    Returns
    -------
    dict
        ``"lag"`` (T,) ints 0..T-1; ``"h"`` (T,) the ratios :math:`\rho_h(d)`;
        ``"c"`` (T,) :math:`\rho_c(d)` for the LSTM only.
    """
    kind = _kind(kind)
    hs, cache = _FORWARD[kind](x, kernel, recurrent_kernel, bias)
    N, T, H = hs.shape
    v = np.random.default_rng(rng).standard_normal(H)
    v /= np.linalg.norm(v)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = v
    _, per_step = _BACKWARD[kind](dhs, cache, record=True)
    out: dict[str, Any] = {"lag": np.arange(T)}
    for name, g in per_step.items():
        if g is None:
            continue
        norms = np.linalg.norm(g, axis=2).mean(axis=0)   # (T,)
        norms = norms[::-1]                                # index by lag
        out[name] = norms / norms[0] if norms[0] > 0 else norms
    return out
