"""Properties that must hold for every input (hypothesis), and dtype preservation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import GATES, KINDS, random_weights
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lstm_ref as L

FORWARD = {"rnn": L.rnn_forward, "lstm": L.lstm_forward, "gru": L.gru_forward}
BACKWARD = {"rnn": L.rnn_backward, "lstm": L.lstm_backward, "gru": L.gru_backward}
DTYPES = (np.float32, np.float64)


def bounded(shape, dtype, bound):
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, width=32))


@st.composite
def small_problem(draw, kind, x_bound=2.0, w_bound=0.5, max_T=6):
    """x in [-x_bound, x_bound], weights in [-w_bound, w_bound], tiny shapes."""
    dtype = draw(st.sampled_from(DTYPES))
    N, T = draw(st.integers(1, 3)), draw(st.integers(1, max_T))
    D, H = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    G = GATES[kind]
    b_shape = (2, G * H) if kind == "gru" else (G * H,)
    x = draw(bounded((N, T, D), dtype, x_bound))
    W = draw(bounded((D, G * H), dtype, w_bound))
    U = draw(bounded((H, G * H), dtype, w_bound))
    b = draw(bounded(b_shape, dtype, w_bound))
    h0 = draw(bounded((N, H), dtype, 0.75))
    return x, W, U, b, h0


@pytest.fixture(autouse=True)
def _strict_numerics():
    """Any overflow, invalid operation or division by zero fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


# ------------------------------------------------------------------ sigmoid


FLOATS64 = st.floats(allow_nan=False, width=64)
FLOATS32 = st.floats(allow_nan=False, width=32)


def extremes(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    big = [1e4, 1e30, float(fi.max)] + ([1e308] if dtype == np.float64 else [1e38])
    small = [float(fi.tiny), float(fi.smallest_subnormal), 0.0, 1e-4]
    vals = big + small + [88.0, 89.0, 709.0, 710.0, 745.0, np.inf]
    return np.array(sorted(set(vals) | {-v for v in vals}), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_at_extremes_is_quiet_bounded_and_exact_at_the_ends(dtype):
    x = extremes(dtype)
    with np.errstate(all="raise"):              # not even an underflow
        s = L.sigmoid(x)
    assert s.dtype == dtype
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) >= 0)
    assert s[0] == 0.0
    assert s[-1] == 1.0
    assert L.sigmoid(np.array([-1e4], dtype))[0] == 0.0
    assert L.sigmoid(np.array([1e4], dtype))[0] == 1.0
    assert L.sigmoid(np.array([0.0], dtype))[0] == 0.5


@pytest.mark.parametrize(("elements", "dtype"), [(FLOATS64, np.float64),
                                                 (FLOATS32, np.float32)])
@given(data=st.data())
def test_sigmoid_monotone_bounded_symmetric(elements, dtype, data):
    x = np.sort(data.draw(hnp.arrays(dtype, st.integers(1, 40), elements=elements)))
    with np.errstate(all="raise"):
        s = L.sigmoid(x)
        s_neg = L.sigmoid(-x)
    assert s.dtype == dtype
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) >= 0), "sigmoid must be non-decreasing"
    tol = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(s + s_neg, 1.0, rtol=0, atol=tol)


@given(x=hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-30, 30)))
def test_sigmoid_equals_textbook_formula_where_that_is_safe(x):
    np.testing.assert_allclose(L.sigmoid(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-14)


def test_sigmoid_out_argument():
    x = np.array([-2.0, 0.0, 3.0])
    out = np.empty_like(x)
    assert L.sigmoid(x, out=out) is out
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-np.array([-2.0, 0.0, 3.0]))))
    L.sigmoid(x, out=x)
    np.testing.assert_array_equal(x, out)


# ------------------------------------------------------------------ gates and states


@given(problem=small_problem("lstm"))
def test_lstm_gates_open_interval(problem):
    x, W, U, b, h0 = problem
    gates = L.lstm_gates(x[:, 0], h0, W, U, b)
    assert set(gates) == {"i", "f", "g", "o"}
    for name in "ifo":
        v = gates[name]
        assert v.dtype == x.dtype
        assert v.shape == h0.shape
        assert np.all((v > 0) & (v < 1)), f"gate {name} left (0, 1)"
    assert np.all(np.abs(gates["g"]) < 1)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_hidden_state_stays_in_open_unit_interval(kind, data):
    x, W, U, b, h0 = data.draw(small_problem(kind))
    hs, cache = FORWARD[kind](x, W, U, b, h0)
    assert np.all(np.abs(hs) < 1)
    if kind == "lstm":
        gates = cache["gates"]
        assert np.all((gates > -1) & (gates < 1))
        H = hs.shape[2]
        sig = np.concatenate([gates[..., :2 * H], gates[..., 3 * H:]], axis=-1)
        assert np.all((sig > 0) & (sig < 1))


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_batch_rows_are_independent_and_time_is_causal(kind, data):
    x, W, U, b, h0 = data.draw(small_problem(kind))
    hs, _ = FORWARD[kind](x, W, U, b, h0)
    atol = 1e-6 if x.dtype == np.float32 else 1e-14
    n = data.draw(st.integers(0, x.shape[0] - 1))
    one, _ = FORWARD[kind](x[n : n + 1], W, U, b, h0[n : n + 1])
    np.testing.assert_allclose(one[0], hs[n], rtol=0, atol=atol)
    t = data.draw(st.integers(1, x.shape[1]))
    prefix, _ = FORWARD[kind](x[:, :t], W, U, b, h0)
    np.testing.assert_allclose(prefix, hs[:, :t], rtol=0, atol=atol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1e2, 1e4, 1e30])
def test_saturating_inputs_raise_no_warning(kind, dtype, scale, rng):
    """Huge pre-activations saturate the gates; nothing overflows or turns into NaN."""
    if dtype == np.float32 and scale > 1e15:
        scale = 1e15                            # keep x @ W finite in float32
    W, U, b = random_weights(kind, 3, 5, rng, dtype, scale=1.0)
    x = (scale * rng.standard_normal((2, 8, 3))).astype(dtype)
    hs, cache = FORWARD[kind](x, W, U, b)
    assert np.all(np.isfinite(hs))
    assert np.all(np.abs(hs) <= 1)
    grads = BACKWARD[kind](rng.standard_normal(hs.shape).astype(dtype), cache)
    for k, g in grads.items():
        assert np.all(np.isfinite(g)), k


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_is_kept_everywhere(kind, dtype, rng):
    N, T, D, H = 2, 4, 3, 5
    W, U, b = random_weights(kind, D, H, rng, dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    kwargs = {"h0": h0}
    if kind == "lstm":
        kwargs["c0"] = rng.standard_normal((N, H)).astype(dtype)
    for kw in ({}, kwargs):
        hs, cache = FORWARD[kind](x, W, U, b, **kw)
        assert hs.dtype == dtype
        grads = BACKWARD[kind](np.ones_like(hs), cache)
        for k, g in grads.items():
            assert g.dtype == dtype, f"{kind} grad {k}: {g.dtype}"
    if kind == "lstm":
        h, c = L.lstm_step(x[:, 0], h0, kwargs["c0"], W, U, b)
        assert h.dtype == c.dtype == dtype
        assert all(g.dtype == dtype for g in L.lstm_gates(x[:, 0], h0, W, U, b).values())
        assert all(a.dtype == dtype for a in (cache["gates"], cache["cs"]))
    else:
        step = L.rnn_step if kind == "rnn" else L.gru_step
        assert step(x[:, 0], h0, W, U, b).dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_kept_by_the_article_cell_and_helpers(dtype, rng):
    D, H = 2, 3
    w = {f"W{g}": rng.standard_normal((H, H + D)).astype(dtype) for g in "ifco"}
    w.update({f"b{g}": rng.standard_normal(H).astype(dtype) for g in "ifco"})
    h, c = L.lstm_cell(np.ones(D, dtype), np.zeros(H, dtype), np.zeros(H, dtype), w)
    assert h.dtype == c.dtype == dtype
    W, U, b = L.seed_weights_to_keras(w, D)
    assert W.dtype == U.dtype == b.dtype == dtype
    assert all(v.dtype == dtype for v in L.keras_to_seed_weights(W, U, b).values())
    assert L.sigmoid(np.zeros(3, dtype)).dtype == dtype
    X, y = L.create_sequences(np.arange(10, dtype=dtype), 3)
    assert X.dtype == y.dtype == dtype
