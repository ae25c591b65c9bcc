"""Windowing and splitting of time series for sequence models."""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["chronological_split", "create_sequences"]


def create_sequences(
    data: np.ndarray, seq_length: int, horizon: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into overlapping input windows and the value that follows each.

    Window ``k`` is ``data[k : k + seq_length]`` and its target is
    ``data[k + seq_length + horizon - 1]``. Built with a strided view, not a Python
    loop, and shaped for Keras directly (the feature axis is added for a 1-D series).

    Parameters
    ----------
    data : ndarray, shape (n,) or (n, F)
        The series in time order; float, no NaN.
    seq_length : int
        L, the window length, at least 1.
    horizon : int
        How many steps ahead the target lies (1 = the next value).

    Returns
    -------
    X : ndarray, shape (S, L, F), with F = 1 for a 1-D series
    y : ndarray, shape (S,) for a 1-D series, (S, F) otherwise
        S = n - L - horizon + 1 samples.

    Raises
    ------
    ValueError
        If the series is too short for one window, holds NaN or infinity, or has more
        than two dimensions.
    """
    data = _checks.as_float_array("data", data)
    for name, v, low in (("seq_length", seq_length, 1), ("horizon", horizon, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    if data.ndim not in (1, 2):
        raise ValueError(f"data must have shape (n,) or (n, F), got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        bad = int(np.flatnonzero(~np.isfinite(data.reshape(len(data), -1)).all(axis=1))[0])
        raise ValueError(f"data holds NaN or infinity (first at index {bad}); fill or "
                         f"drop the gaps before windowing")
    n = data.shape[0]
    S = n - seq_length - horizon + 1
    if S < 1:
        raise ValueError(f"data has {n} points, too few for one window of seq_length="
                         f"{seq_length} plus horizon={horizon}")
    series = data[:, None] if data.ndim == 1 else data
    windows = np.lib.stride_tricks.sliding_window_view(series[: n - horizon], seq_length,
                                                       axis=0)  # (S, F, L)
    X = np.ascontiguousarray(windows.transpose(0, 2, 1))
    y = data[seq_length + horizon - 1 :].copy()
    return X, y


def chronological_split(
    data: np.ndarray, train: float = 0.7, val: float = 0.15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split along time: the first part trains, the next validates, the last tests.

    Never shuffle a time series before splitting: a random split lets the model see the
    future of the points it is tested on.

    Parameters
    ----------
    data : ndarray, shape (n, ...)
    train, val : float
        Fractions of the series for training and validation; the rest is the test part.

    Returns
    -------
    train, val, test : ndarray
        Consecutive slices of ``data``, in that order.
    """
    if not (0 < train < 1 and 0 <= val < 1 and train + val < 1):
        raise ValueError(f"need 0 < train, 0 <= val and train + val < 1, got train={train}, "
                         f"val={val}")
    n = len(data)
    a, b = int(round(n * train)), int(round(n * (train + val)))
    return data[:a], data[a:b], data[b:]
