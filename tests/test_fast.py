"""lstm_ref.fast equals the plain reference lstm_ref.lstm_forward / lstm_backward.

In float64 within 1e-12: every output, the final states, the cache and every gradient, over
shapes with T = 1, N = 1, D or H = 1, a batch wider than the 16-row blocks of the backward's
transpose, and sequences long enough for several cache-sized chunks; with and without
initial states. The comparison with Keras is in test_keras_parity.py (marker ``keras``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_weights

import lstm_ref as L
from lstm_ref import fast

TOL = 1e-12
GRAD_KEYS = ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")
#: (N, T, D, H)
SHAPES = [(1, 1, 1, 1), (4, 1, 3, 2), (1, 9, 2, 3), (3, 23, 2, 5), (37, 12, 4, 6),
          (5, 60, 7, 4), (2, 150, 1, 16)]
SHAPE_IDS = [f"N{n}-T{t}-D{d}-H{h}" for n, t, d, h in SHAPES]


def problem(rng, N, T, D, H, dtype=np.float64, with_state=True):
    """Arguments of lstm_forward as a dict; initial states only ``with_state``."""
    W, U, b = random_weights("lstm", D, H, rng, dtype)
    p = {"x": rng.standard_normal((N, T, D)).astype(dtype), "kernel": W,
         "recurrent_kernel": U, "bias": b}
    if with_state:
        p["h0"] = (0.8 * rng.uniform(-1, 1, (N, H))).astype(dtype)
        p["c0"] = rng.standard_normal((N, H)).astype(dtype)
    return p


def assert_close(got, want, what, tol=TOL):
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    err = float(np.abs(got - want).max())
    assert err <= tol, f"{what}: max |fast - plain| = {err:.1e} > {tol:.0e}"


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_fast_equals_plain_in_float64(shape, with_state, rng):
    p = problem(rng, *shape, with_state=with_state)
    hs, cache = L.lstm_forward(**p)
    hs_f, cache_f = fast.lstm_forward(**p)
    assert_close(hs_f, hs, "hs")
    assert_close(hs_f[:, -1], hs[:, -1], "final h")
    assert_close(cache_f["cs"][:, -1], cache["cs"][:, -1], "final c")
    for key in ("gates", "cs", "tanh_cs"):
        assert_close(cache_f[key], cache[key], f'cache["{key}"]')
    assert np.abs(hs).max() > 0.1, "degenerate comparison: outputs near zero"

    dhs = rng.standard_normal(hs.shape)
    grads, grads_f = L.lstm_backward(dhs, cache), fast.lstm_backward(dhs, cache_f)
    assert set(grads_f) == set(grads) == set(GRAD_KEYS)
    for key in GRAD_KEYS:
        assert_close(grads_f[key], grads[key], f"d{key}")
        if key == "recurrent_kernel" and shape[1] == 1 and not with_state:
            continue                                 # one step from h0 = 0: dU is 0
        assert np.abs(grads[key]).max() > 1e-3, f"degenerate comparison: d{key} near zero"


@pytest.mark.parametrize("chunk_steps", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("T", [5, 23])
def test_fast_backward_in_small_chunks_equals_plain(T, chunk_steps, rng, monkeypatch):
    """The backward walks the sequence in cache-sized chunks of steps (a whole short
    sequence is one chunk); force chunks of a few steps, with boundaries inside the
    sequence and a short first chunk."""
    N, D, H = 3, 2, 5
    p = problem(rng, N, T, D, H)
    monkeypatch.setattr(fast, "_CHUNK_ELEMENTS", chunk_steps * 4 * H * N)
    dhs = rng.standard_normal((N, T, H))
    grads = L.lstm_backward(dhs, L.lstm_forward(**p)[1])
    grads_f = fast.lstm_backward(dhs, fast.lstm_forward(**p)[1])
    for key in GRAD_KEYS:
        assert_close(grads_f[key], grads[key], f"chunks of {chunk_steps} steps, d{key}")


def test_fast_in_float32_keeps_dtype_and_is_close_to_plain(rng):
    p = problem(rng, 8, 40, 3, 16, dtype=np.float32)
    hs, cache = L.lstm_forward(**p)
    hs_f, cache_f = fast.lstm_forward(**p)
    dhs = rng.standard_normal(hs.shape).astype(np.float32)
    grads, grads_f = L.lstm_backward(dhs, cache), fast.lstm_backward(dhs, cache_f)
    assert_close(hs_f, hs, "hs, float32", tol=1e-5)
    for key in GRAD_KEYS:
        scale = float(np.abs(grads[key]).max())
        assert_close(grads_f[key], grads[key], f"d{key}, float32", tol=1e-5 * max(1.0, scale))


def test_fast_backward_takes_dhs_in_either_layout(rng):
    """dhs as a fresh C-contiguous array, or shaped like the fast forward's hs (a view of
    feature-major storage): the backward copies each layout its own way."""
    p = problem(rng, 37, 6, 3, 4)
    hs, cache = fast.lstm_forward(**p)
    assert not hs.flags.c_contiguous
    dhs_view = np.zeros_like(hs)
    dhs_view[...] = rng.standard_normal(hs.shape)
    dhs = np.ascontiguousarray(dhs_view)
    grads_c, grads_v = fast.lstm_backward(dhs, cache), fast.lstm_backward(dhs_view, cache)
    for key in GRAD_KEYS:
        np.testing.assert_array_equal(grads_v[key], grads_c[key], err_msg=key)


def test_either_backward_takes_either_forwards_cache(rng):
    p = problem(rng, 3, 9, 2, 4)
    hs, cache = L.lstm_forward(**p)
    _, cache_f = fast.lstm_forward(**p)
    dhs = rng.standard_normal(hs.shape)
    want = L.lstm_backward(dhs, cache)
    for name, grads in (("fast on plain cache", fast.lstm_backward(dhs, cache)),
                        ("plain on fast cache", L.lstm_backward(dhs, cache_f))):
        for key in GRAD_KEYS:
            assert_close(grads[key], want[key], f"{name}: d{key}")


def test_fast_does_not_modify_its_inputs(rng):
    p = problem(rng, 3, 7, 2, 4)
    before = {k: v.copy() for k, v in p.items()}
    hs, cache = fast.lstm_forward(**p)
    dhs = rng.standard_normal(hs.shape)
    dhs_before = dhs.copy()
    fast.lstm_backward(dhs, cache)
    for k, v in p.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    np.testing.assert_array_equal(dhs, dhs_before)


def _bad_calls(N=2, T=3, D=3, H=4):
    W, U, b = random_weights("lstm", D, H, np.random.default_rng(0))
    x = np.zeros((N, T, D))
    return {
        "x without batch axis": lambda m: m.lstm_forward(x[0], W, U, b),
        "x with wrong D": lambda m: m.lstm_forward(np.zeros((N, T, D + 1)), W, U, b),
        "x of ints": lambda m: m.lstm_forward(x.astype(int), W, U, b),
        "x as a list": lambda m: m.lstm_forward(x.tolist(), W, U, b),
        "no time steps": lambda m: m.lstm_forward(x[:, :0], W, U, b),
        "GRU-sized weights": lambda m: m.lstm_forward(x, W[:, :3 * H], U[:, :3 * H], b[:3 * H]),
        "bias of wrong size": lambda m: m.lstm_forward(x, W, U, b[:-1]),
        "c0 of wrong shape": lambda m: m.lstm_forward(x, W, U, b, c0=np.zeros((N, H - 1))),
        "dhs of wrong shape": lambda m: m.lstm_backward(np.zeros((N, T, H + 1)),
                                                        m.lstm_forward(x, W, U, b)[1]),
    }


@pytest.mark.parametrize("case", list(_bad_calls()))
def test_fast_rejects_bad_input_with_the_plain_message(case):
    call = _bad_calls()[case]
    with pytest.raises((TypeError, ValueError)) as plain:
        call(L)
    with pytest.raises(plain.type) as got:
        call(fast)
    assert str(got.value) == str(plain.value)
