"""Core numerics of lstm_ref without Keras: forward = step loop, backward = centred
differences, the article's cell = Keras layout, and the toy tasks of chapter 1."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GATES, KINDS, random_weights

import lstm_ref as L

FORWARD = {"rnn": L.rnn_forward, "lstm": L.lstm_forward, "gru": L.gru_forward}
BACKWARD = {"rnn": L.rnn_backward, "lstm": L.lstm_backward, "gru": L.gru_backward}
GRAD_KEYS = {
    "rnn": ("x", "kernel", "recurrent_kernel", "bias", "h0"),
    "lstm": ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0"),
    "gru": ("x", "kernel", "recurrent_kernel", "bias", "h0"),
}


def problem(kind: str, rng: np.random.Generator, N=2, T=5, D=3, H=4, dtype=np.float64):
    """Inputs, weights and initial states of one small problem, as a dict of arrays."""
    W, U, b = random_weights(kind, D, H, rng, dtype)
    p = {"x": rng.standard_normal((N, T, D)).astype(dtype), "kernel": W,
         "recurrent_kernel": U, "bias": b,
         "h0": (0.5 * rng.standard_normal((N, H))).astype(dtype)}
    if kind == "lstm":
        p["c0"] = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    return p


def forward(kind: str, p: dict):
    return FORWARD[kind](**p)


def step_loop(kind: str, p: dict) -> np.ndarray:
    """The forward pass written as a loop over the public step functions."""
    x, W, U, b = p["x"], p["kernel"], p["recurrent_kernel"], p["bias"]
    h, c = p["h0"], p.get("c0")
    out = []
    for t in range(x.shape[1]):
        if kind == "rnn":
            h = L.rnn_step(x[:, t], h, W, U, b)
        elif kind == "gru":
            h = L.gru_step(x[:, t], h, W, U, b)
        else:
            h, c = L.lstm_step(x[:, t], h, c, W, U, b)
        out.append(h)
    return np.stack(out, axis=1)


# ------------------------------------------------------------------ forward


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_forward_equals_loop_over_steps(kind, with_state, rng):
    p = problem(kind, rng, N=3, T=7, D=2, H=5)
    if not with_state:
        p["h0"] = np.zeros_like(p["h0"])
        if kind == "lstm":
            p["c0"] = np.zeros_like(p["c0"])
    expected = step_loop(kind, p)
    if not with_state:   # omitted states must mean zeros
        p.pop("h0")
        p.pop("c0", None)
    hs, _ = forward(kind, p)
    assert hs.shape == (3, 7, 5)
    np.testing.assert_allclose(hs, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_of_one_step_equals_step(kind, rng):
    p = problem(kind, rng, N=4, T=1, D=3, H=2)
    np.testing.assert_allclose(forward(kind, p)[0], step_loop(kind, p), rtol=0, atol=1e-14)


def test_lstm_step_by_hand(rng):
    """lstm_step against the equations written out gate by gate (order i, f, c, o)."""
    N, D, H = 3, 2, 4
    W, U, b = random_weights("lstm", D, H, rng)
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    a = x @ W + h @ U + b

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c_new = f * c + i * g
    h_new, c_got = L.lstm_step(x, h, c, W, U, b)
    np.testing.assert_allclose(c_got, c_new, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(h_new, o * np.tanh(c_new), rtol=1e-13, atol=1e-14)
    gates = L.lstm_gates(x, h, W, U, b)
    for name, want in zip("ifgo", (i, f, g, o), strict=True):
        np.testing.assert_allclose(gates[name], want, rtol=1e-13, atol=1e-14, err_msg=name)


def test_gru_step_by_hand(rng):
    """gru_step against Keras' reset_after=True equations (z keeps the old state)."""
    N, D, H = 3, 2, 4
    W, U, b = random_weights("gru", D, H, rng)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    ax, ah = x @ W + b[0], h @ U + b[1]
    z = sig(ax[:, :H] + ah[:, :H])
    r = sig(ax[:, H:2 * H] + ah[:, H:2 * H])
    cand = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    np.testing.assert_allclose(L.gru_step(x, h, W, U, b), z * h + (1 - z) * cand,
                               rtol=1e-13, atol=1e-14)


def test_rnn_step_by_hand(rng):
    W, U, b = random_weights("rnn", 3, 4, rng)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    np.testing.assert_allclose(L.rnn_step(x, h, W, U, b), np.tanh(x @ W + h @ U + b),
                               rtol=1e-14, atol=1e-15)


def test_lstm_cache_holds_documented_gates_and_cells(rng):
    p = problem("lstm", rng, N=2, T=6, D=3, H=4)
    hs, cache = L.lstm_forward(**p)
    assert cache["gates"].shape == (2, 6, 16)
    assert cache["cs"].shape == (2, 6, 4)
    h, c = p["h0"], p["c0"]
    for t in range(6):
        g = L.lstm_gates(p["x"][:, t], h, p["kernel"], p["recurrent_kernel"], p["bias"])
        np.testing.assert_allclose(cache["gates"][:, t], np.concatenate(
            [g["i"], g["f"], g["g"], g["o"]], axis=1), rtol=0, atol=1e-14)
        h, c = L.lstm_step(p["x"][:, t], h, c, p["kernel"], p["recurrent_kernel"], p["bias"])
        np.testing.assert_allclose(cache["cs"][:, t], c, rtol=0, atol=1e-13)
        np.testing.assert_allclose(hs[:, t], h, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_does_not_modify_its_inputs(kind, rng):
    p = problem(kind, rng)
    before = {k: v.copy() for k, v in p.items()}
    hs, cache = forward(kind, p)
    BACKWARD[kind](np.ones_like(hs), cache)
    for k, v in p.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_float32_close_to_float64(kind, rng):
    p = problem(kind, rng, N=4, T=30, D=3, H=8)
    hs64, _ = forward(kind, p)
    hs32, _ = forward(kind, {k: v.astype(np.float32) for k, v in p.items()})
    assert np.abs(hs32 - hs64).max() < 1e-5


# ------------------------------------------------------------------ backward


@pytest.mark.parametrize(("kind", "key"), [(k, g) for k in KINDS for g in GRAD_KEYS[k]])
def test_backward_matches_centred_differences(kind, key, rng):
    p = problem(kind, rng)
    dhs = rng.standard_normal((2, 5, 4))

    def loss() -> float:
        return float(np.sum(dhs * forward(kind, p)[0]))

    _, cache = forward(kind, p)
    grads = BACKWARD[kind](dhs, cache)
    assert set(grads) == set(GRAD_KEYS[kind])
    num = L.numerical_gradient(loss, p[key])
    assert grads[key].shape == p[key].shape
    err = L.rel_error(grads[key], num)
    assert err <= 1e-7, f"{kind} d{key}: relative error {err:.2e}"
    assert np.abs(num).max() > 1e-3, "degenerate check: the gradient is ~0"


@pytest.mark.parametrize("kind", KINDS)
def test_backward_without_initial_state_gives_state_gradients(kind, rng):
    p = problem(kind, rng)
    p_zero = {k: (np.zeros_like(v) if k in ("h0", "c0") else v) for k, v in p.items()}
    dhs = rng.standard_normal((2, 5, 4))
    g_given = BACKWARD[kind](dhs, forward(kind, p_zero)[1])
    g_omitted = BACKWARD[kind](dhs, FORWARD[kind](p["x"], p["kernel"], p["recurrent_kernel"],
                                                  p["bias"])[1])
    for k in GRAD_KEYS[kind]:
        np.testing.assert_allclose(g_omitted[k], g_given[k], rtol=0, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_is_linear_in_dhs(kind, rng):
    p = problem(kind, rng)
    _, cache = forward(kind, p)
    d1, d2 = rng.standard_normal((2, 2, 5, 4))
    g1, g2 = BACKWARD[kind](d1, cache), BACKWARD[kind](d2, cache)
    g12 = BACKWARD[kind](2.0 * d1 - d2, cache)
    for k in g12:
        np.testing.assert_allclose(g12[k], 2.0 * g1[k] - g2[k], rtol=1e-12, atol=1e-13)


def test_numerical_gradient_of_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    num = L.numerical_gradient(lambda: float(np.sum(np.sin(x) * x)), x)
    assert L.rel_error(num, np.cos(x) * x + np.sin(x)) < 1e-9
    np.testing.assert_array_equal(x, [[0.3, -1.2], [2.0, 0.5]])   # restored


def test_rel_error_values():
    a = np.array([1.0, 2.0])
    assert L.rel_error(a, a) == 0.0
    assert L.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert L.rel_error(a, -a) == pytest.approx(1.0)
    assert L.rel_error(a, a + 1e-6) == pytest.approx(np.sqrt(2) * 1e-6 / (2 * np.sqrt(5)))


# ------------------------------------------------------------------ the article's cell


def seed_weights(rng, D=3, H=4):
    w = {f"W{g}": 0.5 * rng.standard_normal((H, H + D)) for g in "ifco"}
    w.update({f"b{g}": 0.5 * rng.standard_normal(H) for g in "ifco"})
    return w


def test_lstm_cell_equals_lstm_step_after_conversion(rng):
    D, H = 3, 4
    w = seed_weights(rng, D, H)
    W, U, b = L.seed_weights_to_keras(w, D)
    assert (W.shape, U.shape, b.shape) == ((D, 4 * H), (H, 4 * H), (4 * H,))
    for _ in range(5):
        x, h, c = rng.standard_normal(D), rng.standard_normal(H), rng.standard_normal(H)
        h_cell, c_cell = L.lstm_cell(x, h, c, w)
        h_step, c_step = L.lstm_step(x[None], h[None], c[None], W, U, b)
        np.testing.assert_allclose(h_cell, h_step[0], rtol=0, atol=1e-14)
        np.testing.assert_allclose(c_cell, c_step[0], rtol=0, atol=1e-14)


def test_lstm_cell_gate_placement(rng):
    """Only the forget gate's bias is huge: the cell copies c_prev (f = 1, i * g small)."""
    D, H = 2, 3
    w = {f"W{g}": np.zeros((H, H + D)) for g in "ifco"}
    w.update({f"b{g}": np.zeros(H) for g in "ifco"})
    w["bf"][:] = 40.0
    w["bi"][:] = -40.0
    c_prev = np.array([0.3, -0.7, 2.0])
    h, c = L.lstm_cell(rng.standard_normal(D), rng.standard_normal(H), c_prev, w)
    np.testing.assert_allclose(c, c_prev, rtol=1e-12)
    np.testing.assert_allclose(h, 0.5 * np.tanh(c_prev), rtol=1e-12)
    W, U, b = L.seed_weights_to_keras(w, D)
    np.testing.assert_array_equal(b[H:2 * H], 40.0)    # Keras order i, f, c, o
    np.testing.assert_array_equal(b[:H], -40.0)


def test_seed_to_keras_round_trip(rng):
    D = 3
    w = seed_weights(rng, D)
    back = L.keras_to_seed_weights(*L.seed_weights_to_keras(w, D))
    assert set(back) == set(w)
    for k in w:
        np.testing.assert_array_equal(back[k], w[k], err_msg=k)


def test_keras_to_seed_round_trip(rng):
    W, U, b = random_weights("lstm", 3, 4, rng)
    W2, U2, b2 = L.seed_weights_to_keras(L.keras_to_seed_weights(W, U, b), 3)
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(U2, U)
    np.testing.assert_array_equal(b2, b)


def test_seed_weights_act_on_hidden_state_first(rng):
    """W_f = [U^f; W^f]^T: the first H columns multiply h_prev, the last D multiply x."""
    D, H = 2, 3
    W, U, b = random_weights("lstm", D, H, rng)
    w = L.keras_to_seed_weights(W, U, b)
    np.testing.assert_array_equal(w["Wf"][:, :H], U[:, H:2 * H].T)
    np.testing.assert_array_equal(w["Wf"][:, H:], W[:, H:2 * H].T)
    np.testing.assert_array_equal(w["bc"], b[2 * H:3 * H])


# ------------------------------------------------------------------ parameters, init


@pytest.mark.parametrize(("kind", "D", "H", "expected"), [
    ("rnn", 1, 50, 2600), ("lstm", 1, 50, 10400), ("gru", 1, 50, 7950),
    ("lstm", 32, 128, 82432), ("gru", 32, 128, 62208), ("rnn", 100, 10, 1110),
])
def test_count_params_known_values(kind, D, H, expected):
    assert L.count_params(kind, D, H) == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("D", "H"), [(1, 1), (3, 7), (16, 32)])
def test_count_params_equals_size_of_weights(kind, D, H):
    assert L.count_params(kind, D, H) == sum(w.size for w in L.init_weights(kind, D, H, rng=0))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_weights_shapes_dtypes_and_distributions(kind, dtype):
    D, H = 5, 16
    G = GATES[kind]
    W, U, b = L.init_weights(kind, D, H, rng=1, dtype=dtype)
    assert W.shape == (D, G * H)
    assert U.shape == (H, G * H)
    assert b.shape == ((2, G * H) if kind == "gru" else (G * H,))
    assert W.dtype == U.dtype == b.dtype == dtype
    limit = np.sqrt(6.0 / (D + G * H))            # Glorot uniform
    assert np.abs(W).max() <= limit * (1 + 1e-6)
    assert np.abs(W).max() > 0.8 * limit
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # Keras' Orthogonal on an (H, G*H) matrix: orthonormal rows.
    np.testing.assert_allclose(U @ U.T, np.eye(H), atol=tol)
    if kind == "rnn":
        np.testing.assert_allclose(U.T @ U, np.eye(H), atol=tol)
    expected_b = np.zeros(b.shape)
    if kind == "lstm":
        expected_b[H:2 * H] = 1.0                  # unit_forget_bias=True
    np.testing.assert_array_equal(b, expected_b)


def test_init_weights_default_dtype_seed_and_forget_bias():
    W1, U1, b1 = L.init_weights("lstm", 2, 3, rng=7, forget_bias=3.0)
    W2, U2, _ = L.init_weights("lstm", 2, 3, rng=np.random.default_rng(7))
    assert W1.dtype == np.float32
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(U1, U2)
    np.testing.assert_array_equal(b1, [0, 0, 0, 3, 3, 3, 0, 0, 0, 0, 0, 0])
    W3, _, _ = L.init_weights("lstm", 2, 3, rng=8)
    assert not np.array_equal(W1, W3)


# ------------------------------------------------------------------ adding problem


def test_adding_problem_structure():
    n, T = 500, 11
    x, y = L.adding_problem(n, T, rng=3)
    assert x.shape == (n, T, 2)
    assert y.shape == (n, 1)
    assert x.dtype == np.float32
    assert y.dtype == np.float32
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0
    assert values.max() < 1.0
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    half = T // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    # markers are spread over each half, not stuck at one position
    assert len(np.unique(np.argmax(markers[:, :half], axis=1))) == half
    assert len(np.unique(np.argmax(markers[:, half:], axis=1))) == T - half


def test_adding_problem_baseline_mse_is_one_sixth():
    _, y = L.adding_problem(200_000, 4, rng=0)
    mse = float(np.mean((y.astype(np.float64) - 1.0) ** 2))
    assert mse == pytest.approx(1 / 6, abs=3e-3)


def test_adding_problem_is_reproducible():
    a, ya = L.adding_problem(10, 6, rng=5)
    b, yb = L.adding_problem(10, 6, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    c, _ = L.adding_problem(10, 6, rng=6)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------ gradient norms vs lag


@pytest.mark.parametrize("kind", KINDS)
def test_state_gradient_norms_lag_zero_is_one(kind, rng):
    T = 12
    x = rng.standard_normal((3, T, 2)).astype(np.float32)
    out = L.state_gradient_norms(kind, x, *L.init_weights(kind, 2, 6, rng=0))
    np.testing.assert_array_equal(out["lag"], np.arange(T))
    assert set(out) == ({"lag", "h", "c"} if kind == "lstm" else {"lag", "h"})
    assert out["h"].shape == (T,)
    assert out["h"][0] == 1.0
    if kind == "lstm":
        assert out["c"][0] == 1.0


@pytest.mark.parametrize(("kind", "per_step"), [("rnn", 0.6), ("gru", 0.5)])
def test_state_gradient_norms_exact_geometric_decay(kind, per_step):
    """With zero input and weights the state stays 0: every step scales by a constant.

    rnn: h_t = tanh(h_{t-1} (0.6 I)) and tanh'(0) = 1, so the ratio is 0.6^d.
    gru: z = sigma(0) = 1/2 and the candidate does not depend on h, so 0.5^d.
    """
    T, H = 15, 4
    G = GATES[kind]
    U = np.zeros((H, G * H))
    if kind == "rnn":
        U[:] = 0.6 * np.eye(H)
    b = np.zeros((2, G * H)) if kind == "gru" else np.zeros(G * H)
    out = L.state_gradient_norms(kind, np.zeros((2, T, 1)), np.zeros((1, G * H)), U, b)
    np.testing.assert_allclose(out["h"], per_step ** np.arange(T), rtol=1e-12)


def test_state_gradient_norms_lstm_cell_path_is_forget_gate_power():
    """Zero input and U = 0: dL/dc_{T-d} = f^d dL/dc_T with f = sigma(b_f); h gets nothing."""
    T, H, bf = 15, 4, 2.0
    b = np.zeros(4 * H)
    b[H:2 * H] = bf
    out = L.state_gradient_norms("lstm", np.zeros((2, T, 1)), np.zeros((1, 4 * H)),
                                 np.zeros((H, 4 * H)), b)
    f = 1.0 / (1.0 + np.exp(-bf))
    np.testing.assert_allclose(out["c"], f ** np.arange(T), rtol=1e-12)
    np.testing.assert_array_equal(out["h"][1:], 0.0)


def test_state_gradient_norms_rnn_decays_and_lstm_keeps_cell_path(rng):
    T, D, H = 40, 2, 32
    x = 0.01 * rng.standard_normal((8, T, D))
    W, U, b = L.init_weights("rnn", D, H, rng=0, dtype=np.float64)
    rnn = L.state_gradient_norms("rnn", x, W, 0.5 * U, b)["h"]
    assert np.all(np.diff(rnn) < 0), "small recurrent weights: the ratio must shrink each step"
    assert rnn[20] < 1e-5
    lstm = L.state_gradient_norms("lstm", x, *L.init_weights("lstm", D, H, rng=0,
                                                             forget_bias=3.0, dtype=np.float64))
    assert lstm["c"][20] > 0.1                     # roughly sigma(3)^20 = 0.38
    assert lstm["c"][20] > 1e4 * rnn[20]
    assert lstm["c"][T - 1] > 1e4 * rnn[T - 1]
