"""Activation functions used by the cells."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["sigmoid"]


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, numerically stable.

    The textbook form ``1 / (1 + np.exp(-x))`` overflows (and warns) for
    ``x < -709`` in float64 or ``x < -88`` in float32. This uses SciPy's ``expit``,
    which evaluates the same function without overflow for every finite input.

    Parameters
    ----------
    x : ndarray, any shape
        Pre-activations, float32 or float64.
    out : ndarray, optional
        Where to write the result (same shape as ``x``); may be ``x`` itself.

    Returns
    -------
    ndarray, shape of ``x``
        Values in [0, 1] (strictly inside (0, 1) where float precision allows),
        same dtype as ``x``.
    """
    if out is None:
        return expit(x)
    return expit(x, out=out)
