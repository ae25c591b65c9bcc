"""Windowing (create_sequences) and chronological splitting of time series."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_ref as L


def naive_windows(data: np.ndarray, seq_length: int, horizon: int = 1):
    """The obvious Python loop (the seed article's form, generalised to a horizon)."""
    X, y = [], []
    for k in range(len(data) - seq_length - horizon + 1):
        X.append(data[k : k + seq_length])
        y.append(data[k + seq_length + horizon - 1])
    X = np.array(X)
    if data.ndim == 1:
        X = X[..., None]
    return X, np.array(y)


@pytest.mark.parametrize("n", [16, 50])
@pytest.mark.parametrize("seq_length", [1, 3, 10])
@pytest.mark.parametrize("horizon", [1, 2, 5])
@pytest.mark.parametrize("features", [None, 1, 3], ids=["1-D", "F=1", "F=3"])
def test_create_sequences_matches_naive_loop(n, seq_length, horizon, features, rng):
    shape = (n,) if features is None else (n, features)
    data = rng.standard_normal(shape)
    X, y = L.create_sequences(data, seq_length, horizon)
    X_ref, y_ref = naive_windows(data, seq_length, horizon)
    S = n - seq_length - horizon + 1
    assert X.shape == (S, seq_length, 1 if features is None else features)
    assert y.shape == ((S,) if features is None else (S, features))
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_create_sequences_small_example():
    X, y = L.create_sequences(np.arange(6.0), 3)
    np.testing.assert_array_equal(X[..., 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    X, y = L.create_sequences(np.arange(6.0), 3, horizon=3)
    np.testing.assert_array_equal(X[..., 0], [[0, 1, 2]])
    np.testing.assert_array_equal(y, [5])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_create_sequences_returns_independent_contiguous_copies(dtype, rng):
    data = rng.standard_normal((20, 2)).astype(dtype)
    X, y = L.create_sequences(data, 4)
    assert X.dtype == y.dtype == dtype
    assert X.flags.c_contiguous
    X[:] = 0.0
    y[:] = 0.0
    assert np.all(data != 0.0), "writing into X or y must not change the series"


@pytest.mark.parametrize(("n", "seq_length", "horizon"), [(5, 5, 1), (5, 3, 3), (0, 1, 1)])
def test_create_sequences_series_too_short(n, seq_length, horizon):
    with pytest.raises(ValueError, match=rf"data has {n} points, too few for one window "
                                         rf"of seq_length={seq_length} plus horizon={horizon}"):
        L.create_sequences(np.zeros(n), seq_length, horizon)


def test_create_sequences_shortest_series_gives_one_window():
    X, y = L.create_sequences(np.arange(5.0), 3, horizon=2)
    assert X.shape == (1, 3, 1)
    assert y.tolist() == [4.0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(30,), (30, 2)])
def test_create_sequences_refuses_nan_and_infinity(bad, shape):
    data = np.ones(shape)
    data[17] = bad
    with pytest.raises(ValueError, match=r"data holds NaN or infinity \(first at index 17\)"):
        L.create_sequences(data, 5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"seq_length": 0}, "seq_length must be an int >= 1, got 0"),
    ({"seq_length": 2.0}, "seq_length must be an int >= 1"),
    ({"seq_length": 3, "horizon": 0}, "horizon must be an int >= 1, got 0"),
])
def test_create_sequences_bad_lengths(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.create_sequences(np.zeros(20), **kwargs)


def test_create_sequences_bad_data_types_and_ndim():
    with pytest.raises(TypeError, match="data must be a NumPy array, got list"):
        L.create_sequences([1.0, 2.0, 3.0], 1)
    with pytest.raises(TypeError, match="data has dtype int64"):
        L.create_sequences(np.arange(10), 2)
    with pytest.raises(ValueError, match=r"data must have shape \(n,\) or \(n, F\)"):
        L.create_sequences(np.zeros((10, 2, 2)), 2)


# ------------------------------------------------------------------ chronological split


@pytest.mark.parametrize(("n", "train", "val"), [(100, 0.7, 0.15), (526, 0.8, 0.1),
                                                 (10, 0.5, 0.0), (309, 0.6, 0.2)])
def test_chronological_split_keeps_order_and_sizes(n, train, val):
    data = np.arange(n, dtype=float)
    a, b, c = L.chronological_split(data, train, val)
    assert (len(a), len(b)) == (round(n * train), round(n * (train + val)) - round(n * train))
    np.testing.assert_array_equal(np.concatenate([a, b, c]), data)
    assert len(c) > 0
    if len(b):
        assert a.max() < b.min()
    assert (b.max() if len(b) else a.max()) < c.min()


def test_chronological_split_defaults_and_2d(rng):
    data = rng.standard_normal((200, 3))
    a, b, c = L.chronological_split(data)
    assert [len(a), len(b), len(c)] == [140, 30, 30]
    np.testing.assert_array_equal(np.concatenate([a, b, c]), data)


@pytest.mark.parametrize(("train", "val"), [(0.0, 0.1), (1.0, 0.0), (0.7, 0.3), (0.5, -0.1),
                                            (0.9, 0.2)])
def test_chronological_split_bad_fractions(train, val):
    with pytest.raises(ValueError, match="need 0 < train, 0 <= val and train \\+ val < 1"):
        L.chronological_split(np.zeros(10), train, val)
