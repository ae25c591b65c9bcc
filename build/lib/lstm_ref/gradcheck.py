"""Numerical gradient checks by centred differences (run them in float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    r"""Centred-difference gradient of a scalar function of the array ``x``.

    .. math::

        \frac{\partial f}{\partial x_k} \approx \frac{f(x + h e_k) - f(x - h e_k)}{2h}

    ``x`` is perturbed **in place**, one entry at a time, and restored; ``f`` takes no
    argument and must read ``x`` (a closure), so any array an expression depends on can
    be checked. Error :math:`O(h^2)`; use float64, where ``h = 1e-6`` gives relative
    errors near 1e-9.

    Parameters
    ----------
    f : callable () -> float
        The loss, re-evaluated at each perturbation.
    x : ndarray, any shape, float64
        The array to differentiate with respect to.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, shape of ``x``
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array, got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"x has dtype {x.dtype}; centred differences need float64")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        k = it.multi_index
        old = x[k]
        x[k] = old + h
        plus = float(f())
        x[k] = old - h
        minus = float(f())
        x[k] = old
        grad[k] = (plus - minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    r"""Norm-wise relative error :math:`\|a - b\| / \max(\|a\| + \|b\|, \epsilon)`.

    Parameters
    ----------
    a, b : ndarray, same shape
    eps : float
        Floor of the denominator, so that two zero arrays compare as equal.

    Returns
    -------
    float
        About 1e-9 or below for a correct float64 backward pass checked by
        :func:`numerical_gradient`; 1e-2 or more means a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    num = np.linalg.norm(a - b)
    den = max(np.linalg.norm(a) + np.linalg.norm(b), eps)
    return float(num / den)
