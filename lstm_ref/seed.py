r"""The per-gate LSTM cell of the course's seed article, and its bridge to Keras.

The article writes one weight matrix per gate acting on the concatenation
:math:`[h_{t-1}; x_t]` of length H + D, with column vectors:

.. math::

    f_t = \sigma(W_f [h_{t-1}; x_t] + b_f), \quad \dots

Keras stores the same function transposed and fused: ``kernel`` (D, 4H) multiplies
:math:`x_t` from the right, ``recurrent_kernel`` (H, 4H) multiplies :math:`h_{t-1}`,
and the gates sit side by side in the order i, f, c, o. So
:math:`W_f = [U^f; W^f]^\top`, and the conversion is a reshuffle with no arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import _checks
from .activations import sigmoid

__all__ = ["SEED_GATES", "keras_to_seed_weights", "lstm_cell", "seed_weights_to_keras"]

#: The article's gate names in Keras' block order (i, f, c, o).
SEED_GATES = ("i", "f", "c", "o")
_KEYS = tuple(k for g in SEED_GATES for k in (f"W{g}", f"b{g}"))


def _seed_weights(weights: Mapping[str, object]) -> tuple[dict[str, np.ndarray], int, int]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a dict of {', '.join(_KEYS)}, got "
                        f"{type(weights).__name__}")
    missing = [k for k in _KEYS if k not in weights]
    if missing:
        raise ValueError(f"weights is missing key(s) {', '.join(missing)}; expected all of "
                         f"{', '.join(_KEYS)}")
    w = {k: _checks.as_float_array(f"weights['{k}']", weights[k]) for k in _KEYS}
    Wf = w["Wf"]
    if Wf.ndim != 2:
        raise ValueError(f"weights['Wf'] must have shape (H, H + D), got shape {Wf.shape}")
    H, HD = Wf.shape
    if HD <= H:
        raise ValueError(
            f"weights['Wf'] must have shape (H, H + D) with D >= 1, got shape {Wf.shape}")
    for g in SEED_GATES:
        _checks.check_shape(f"weights['W{g}']", w[f"W{g}"], (H, HD))
        _checks.check_shape(f"weights['b{g}']", w[f"b{g}"], (H,))
    return w, H, HD - H


def lstm_cell(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    weights: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    r"""One LSTM step written gate by gate, as in the seed article (1-D vectors).

    .. math::

        f &= \sigma(W_f [h_{t-1}; x_t] + b_f), \quad
        i = \sigma(W_i [h_{t-1}; x_t] + b_i) \\
        g &= \tanh(W_c [h_{t-1}; x_t] + b_c), \quad
        o = \sigma(W_o [h_{t-1}; x_t] + b_o) \\
        c_t &= f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t)

    Parameters
    ----------
    x : ndarray, shape (D,)
        Input at this step.
    h_prev, c_prev : ndarray, shape (H,)
        Previous hidden and cell states.
    weights : dict of ndarray
        ``Wf, Wi, Wc, Wo`` of shape (H, H + D) acting on ``concatenate([h_prev, x])``
        (hidden state first), and ``bf, bi, bc, bo`` of shape (H,).

    Returns
    -------
    h, c : ndarray, shape (H,)
        New hidden and cell states.
    """
    w, H, D = _seed_weights(weights)
    x = _checks.as_float_array("x", x)
    _checks.check_shape("x", x, (D,))
    h_prev = _checks.as_float_array("h_prev", h_prev)
    _checks.check_shape("h_prev", h_prev, (H,))
    c_prev = _checks.as_float_array("c_prev", c_prev)
    _checks.check_shape("c_prev", c_prev, (H,))
    hx = np.concatenate([h_prev, x])
    f = sigmoid(w["Wf"] @ hx + w["bf"])
    i = sigmoid(w["Wi"] @ hx + w["bi"])
    g = np.tanh(w["Wc"] @ hx + w["bc"])
    o = sigmoid(w["Wo"] @ hx + w["bo"])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c


def seed_weights_to_keras(
    weights: Mapping[str, np.ndarray], input_dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert the article's per-gate weights to Keras' fused layout.

    Parameters
    ----------
    weights : dict of ndarray
        ``W{g}`` (H, H + D) and ``b{g}`` (H,) for g in i, f, c, o.
    input_dim : int
        D, the input size (checked against the weights).

    Returns
    -------
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,)
        Ready for :func:`lstm_step` or ``keras.layers.LSTM.set_weights``.
    """
    w, H, D = _seed_weights(weights)
    if int(input_dim) != D:
        raise ValueError(f"input_dim is {input_dim} but weights['Wf'] has shape "
                         f"{w['Wf'].shape}, i.e. (H, H + D) with D = {D}")
    kernel = np.concatenate([w[f"W{g}"][:, H:].T for g in SEED_GATES], axis=1)
    recurrent = np.concatenate([w[f"W{g}"][:, :H].T for g in SEED_GATES], axis=1)
    bias = np.concatenate([w[f"b{g}"] for g in SEED_GATES])
    return kernel, recurrent, bias


def keras_to_seed_weights(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray
) -> dict[str, np.ndarray]:
    """Convert Keras' fused LSTM weights to the article's per-gate dict.

    Parameters
    ----------
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,)

    Returns
    -------
    weights : dict of ndarray
        ``Wi, Wf, Wc, Wo`` of shape (H, H + D) and ``bi, bf, bc, bo`` of shape (H,).
    """
    kernel, recurrent_kernel, bias, _, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4)
    out: dict[str, np.ndarray] = {}
    for k, g in enumerate(SEED_GATES):
        cols = slice(k * H, (k + 1) * H)
        out[f"W{g}"] = np.concatenate([recurrent_kernel[:, cols].T, kernel[:, cols].T], axis=1)
        out[f"b{g}"] = bias[cols].copy()
    return out
