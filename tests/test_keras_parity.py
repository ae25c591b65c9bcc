"""Keras is the oracle: lstm_ref's forward, steps, backward and counts equal Keras' (and
so do lstm_ref.fast's forward and backward).

Every test here is marked ``keras`` (run with ``pytest -m keras``). Layers are built once
per (kind, dtype, shape, seed) and their weights perturbed by N(0, 0.5^2), so the
comparison is not made only at Keras' default initialisation.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import KINDS

import lstm_ref as L

pytestmark = pytest.mark.keras

FORWARD = {"rnn": L.rnn_forward, "lstm": L.lstm_forward, "gru": L.gru_forward}
BACKWARD = {"rnn": L.rnn_backward, "lstm": L.lstm_backward, "gru": L.gru_backward}
LAYER = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
#: Largest absolute difference allowed between lstm_ref and Keras, per dtype.
ATOL = {"float32": 5e-5, "float64": 1e-12}
#: (N, T, D, H, seed): tiny, a single input feature, a longer sequence.
CASES = [(2, 5, 3, 4, 0), (3, 17, 1, 8, 1), (4, 60, 5, 16, 2)]
CASE_IDS = [f"N{n}-T{t}-D{d}-H{h}-s{s}" for n, t, d, h, s in CASES]

_BUILT: dict[tuple, tuple] = {}


def built(keras, kind: str, dtype: str, D: int, H: int, seed: int):
    """A ``return_sequences=True`` layer of ``kind``, built for input size D, with weights
    perturbed by N(0, 0.5^2); cached for the session. Returns (layer, weights)."""
    key = (kind, dtype, D, H, seed)
    if key not in _BUILT:
        keras.utils.set_random_seed(seed)
        layer = getattr(keras.layers, LAYER[kind])(H, return_sequences=True, dtype=dtype)
        layer.build((None, None, D))
        rng = np.random.default_rng(1000 + seed)
        weights = [(w + rng.normal(0.0, 0.5, w.shape)).astype(dtype)
                   for w in layer.get_weights()]
        layer.set_weights(weights)
        _BUILT[key] = (layer, [np.asarray(w) for w in layer.get_weights()])
    return _BUILT[key]


def inputs(kind, dtype, N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    states = [(0.8 * rng.uniform(-1, 1, (N, H))).astype(dtype)]
    if kind == "lstm":
        states.append(rng.standard_normal((N, H)).astype(dtype))
    return x, states


def keyword_states(kind, states):
    return dict(zip(("h0", "c0") if kind == "lstm" else ("h0",), states, strict=True))


# ------------------------------------------------------------------ forward


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_forward_equals_keras_layer(keras, kind, dtype, case):
    N, T, D, H, seed = case
    layer, weights = built(keras, kind, dtype, D, H, seed)
    x, states = inputs(kind, dtype, N, T, D, H, seed)

    expected = np.asarray(layer(x))
    hs, _ = FORWARD[kind](x, *weights)
    assert hs.dtype == expected.dtype == np.dtype(dtype)
    assert hs.shape == expected.shape == (N, T, H)
    err = np.abs(hs - expected).max()
    assert err <= ATOL[dtype], f"{kind} {dtype}: max abs error {err:.2e}"

    expected = np.asarray(layer(x, initial_state=states))
    hs, _ = FORWARD[kind](x, *weights, **keyword_states(kind, states))
    err = np.abs(hs - expected).max()
    assert err <= ATOL[dtype], f"{kind} {dtype} with initial state: max abs error {err:.2e}"
    assert np.abs(expected).max() > 0.1, "degenerate comparison: outputs near zero"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_steps_equal_one_step_of_the_cell(keras, kind, dtype):
    N, T, D, H, seed = CASES[0]
    layer, (W, U, b) = built(keras, kind, dtype, D, H, seed)
    x, states = inputs(kind, dtype, N, T, D, H, seed)
    out, new_states = layer.cell(x[:, 0], states)
    new_states = [np.asarray(s) for s in (new_states if isinstance(new_states, (list, tuple))
                                          else [new_states])]
    if kind == "lstm":
        h, c = L.lstm_step(x[:, 0], states[0], states[1], W, U, b)
        np.testing.assert_allclose(c, new_states[1], rtol=0, atol=ATOL[dtype])
        gates = L.lstm_gates(x[:, 0], states[0], W, U, b)
        np.testing.assert_allclose(c, gates["f"] * states[1] + gates["i"] * gates["g"],
                                   rtol=0, atol=ATOL[dtype])
    elif kind == "gru":
        h = L.gru_step(x[:, 0], states[0], W, U, b)
    else:
        h = L.rnn_step(x[:, 0], states[0], W, U, b)
    assert h.dtype == np.dtype(dtype)
    np.testing.assert_allclose(h, np.asarray(out), rtol=0, atol=ATOL[dtype])
    np.testing.assert_allclose(h, new_states[0], rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("kind", KINDS)
def test_weights_from_keras_reads_the_layer(keras, kind):
    N, T, D, H, seed = CASES[1]
    layer, weights = built(keras, kind, "float32", D, H, seed)
    got_kind, got = L.weights_from_keras(layer)
    assert got_kind == kind
    assert len(got) == 3
    for a, b in zip(got, weights, strict=True):
        assert isinstance(a, np.ndarray)
        np.testing.assert_array_equal(a, b)
    x, _ = inputs(kind, "float32", N, T, D, H, seed)
    hs, _ = FORWARD[got_kind](x, *got)
    np.testing.assert_allclose(hs, np.asarray(layer(x)), rtol=0, atol=ATOL["float32"])


@pytest.mark.parametrize(("make", "match"), [
    (lambda k: k.layers.GRU(3, reset_after=False), "reset_after"),
    (lambda k: k.layers.LSTM(3, activation="relu"), "activation='relu'"),
    (lambda k: k.layers.LSTM(3, recurrent_activation="hard_sigmoid"), "recurrent_activation"),
    (lambda k: k.layers.SimpleRNN(3, go_backwards=True), "go_backwards"),
    (lambda k: k.layers.GRU(3, use_bias=False), "use_bias"),
    (lambda k: k.layers.LSTM(3), "must be built"),
], ids=["gru-reset-before", "relu", "hard-sigmoid", "backwards", "no-bias", "unbuilt"])
def test_weights_from_keras_refuses_what_it_cannot_reproduce(keras, make, match):
    with pytest.raises(ValueError, match=match):
        L.weights_from_keras(make(keras))


def test_weights_from_keras_refuses_other_layers(keras):
    with pytest.raises(TypeError, match="SimpleRNN, LSTM or GRU, got Dense"):
        L.weights_from_keras(keras.layers.Dense(3))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("D", "H"), [(1, 1), (1, 50), (3, 7), (32, 128)])
def test_count_params_equals_keras(keras, kind, D, H):
    model = keras.Sequential([keras.Input((None, D)), getattr(keras.layers, LAYER[kind])(H)])
    assert L.count_params(kind, D, H) == model.count_params()


def test_article_cell_equals_keras_after_conversion(keras):
    D, H = 3, 4
    rng = np.random.default_rng(5)
    w = {f"W{g}": rng.normal(0, 0.5, (H, H + D)) for g in "ifco"}
    w.update({f"b{g}": rng.normal(0, 0.5, H) for g in "ifco"})
    layer = keras.layers.LSTM(H, return_state=True, dtype="float64")
    layer.build((None, None, D))
    layer.set_weights(list(L.seed_weights_to_keras(w, D)))
    x, h0, c0 = rng.standard_normal(D), rng.standard_normal(H), rng.standard_normal(H)
    _, h, c = layer(x[None, None], initial_state=[h0[None], c0[None]])
    h_cell, c_cell = L.lstm_cell(x, h0, c0, w)
    np.testing.assert_allclose(h_cell, np.asarray(h)[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_cell, np.asarray(c)[0], rtol=0, atol=1e-12)


# ------------------------------------------------------------------ backward vs GradientTape


def check_backward_against_gradient_tape(keras, tf, kind, dtype, tol, forward, backward):
    N, T, D, H, seed = CASES[1]
    layer, weights = built(keras, kind, dtype, D, H, seed)
    x, states = inputs(kind, dtype, N, T, D, H, seed)
    dhs = np.random.default_rng(seed + 7).standard_normal((N, T, H)).astype(dtype)

    xt = tf.constant(x)
    st = [tf.constant(s) for s in states]
    cell = layer.cell
    params = [cell.kernel, cell.recurrent_kernel, cell.bias]
    with tf.GradientTape() as tape:
        tape.watch([xt, *st])
        loss = tf.reduce_sum(tf.constant(dhs) * layer(xt, initial_state=st))
    tape_grads = tape.gradient(loss, [xt, *st, *params])
    names = ["x", "h0", "c0"][: 1 + len(st)] + ["kernel", "recurrent_kernel", "bias"]

    _, cache = forward(x, *weights, **keyword_states(kind, states))
    grads = backward(dhs, cache)
    assert set(grads) == set(names)
    for name, expected in zip(names, tape_grads, strict=True):
        expected = np.asarray(expected)
        assert grads[name].shape == expected.shape, name
        err = L.rel_error(grads[name], expected)
        assert err <= tol, f"{kind} {dtype} d{name}: relative error {err:.2e}"


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("kind", KINDS)
def test_backward_equals_gradient_tape(keras, tf, kind, dtype, tol):
    check_backward_against_gradient_tape(keras, tf, kind, dtype, tol, FORWARD[kind],
                                         BACKWARD[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_init_weights_follows_keras_initialisers(keras, kind):
    """Same distributions as a fresh Keras layer: Glorot-uniform kernel, a recurrent
    kernel (H, G*H) with orthonormal *rows* (Keras' Orthogonal on the whole matrix, not
    per gate block), the same bias (LSTM forget block 1)."""
    D, H = 5, 16
    keras.utils.set_random_seed(0)
    layer = getattr(keras.layers, LAYER[kind])(H)
    layer.build((None, None, D))
    W_k, U_k, b_k = layer.get_weights()
    W, U, b = L.init_weights(kind, D, H, rng=0)
    assert (W.shape, U.shape, b.shape) == (W_k.shape, U_k.shape, b_k.shape)
    assert W.dtype == U.dtype == b.dtype == W_k.dtype
    limit = np.sqrt(6.0 / (D + W.shape[1]))
    for kernel in (W, W_k):
        assert np.abs(kernel).max() <= limit * (1 + 1e-6)
    for rec in (U, U_k):
        np.testing.assert_allclose(rec @ rec.T, np.eye(H), atol=1e-5)
    np.testing.assert_array_equal(b, b_k)


# ------------------------------------------------------------------ lstm_ref.fast


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fast_lstm_forward_equals_keras_layer(keras, dtype, case):
    """lstm_ref.fast.lstm_forward: every hidden state, and the final cell state of
    ``return_state=True``, with and without initial states."""
    N, T, D, H, seed = case
    layer, weights = built(keras, "lstm", dtype, D, H, seed)
    with_state = keras.layers.LSTM(H, return_sequences=True, return_state=True, dtype=dtype)
    with_state.build((None, None, D))
    with_state.set_weights(weights)
    x, states = inputs("lstm", dtype, N, T, D, H, seed)
    for initial in (None, states):
        kwargs = {} if initial is None else keyword_states("lstm", initial)
        expected, h_last, c_last = (np.asarray(a) for a in with_state(x, initial_state=initial))
        hs, cache = L.fast.lstm_forward(x, *weights, **kwargs)
        assert hs.dtype == np.dtype(dtype)
        np.testing.assert_allclose(hs, np.asarray(layer(x, initial_state=initial)), rtol=0,
                                   atol=ATOL[dtype])
        np.testing.assert_allclose(hs, expected, rtol=0, atol=ATOL[dtype])
        np.testing.assert_allclose(hs[:, -1], h_last, rtol=0, atol=ATOL[dtype])
        np.testing.assert_allclose(cache["cs"][:, -1], c_last, rtol=0, atol=ATOL[dtype])
        assert np.abs(expected).max() > 0.1, "degenerate comparison: outputs near zero"


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_fast_lstm_backward_equals_gradient_tape(keras, tf, dtype, tol):
    check_backward_against_gradient_tape(keras, tf, "lstm", dtype, tol, L.fast.lstm_forward,
                                         L.fast.lstm_backward)


def _small_model(keras, seed: int):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(4), keras.layers.Dense(1)])


def test_restartable_model_trains_like_a_new_one(keras):
    """restart(weights) then fit() gives the weights a new compiled model reaches from
    the same start, also after the shared model was trained on another seed first."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6, 2)).astype("float32"), rng.normal(size=(32, 1))

    def fit(model, seed):
        keras.utils.set_random_seed(100 + seed)                    # data order
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    shared = _small_model(keras, 0)
    shared.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    restart = L.restartable(shared)
    for seed in (0, 1):
        restart(_small_model(keras, seed).get_weights())
        got = fit(shared, seed)
        new = _small_model(keras, seed)
        new.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        want = fit(new, seed)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # without the optimizer reset, the second run differs (Adam's step count and moments)
    shared.set_weights(_small_model(keras, 1).get_weights())
    stale = fit(shared, 1)
    assert max(float(np.abs(g - w).max()) for g, w in zip(stale, want, strict=True)) > 1e-4


def test_restartable_needs_a_compiled_model(keras):
    with pytest.raises(ValueError, match="compile it"):
        L.restartable(_small_model(keras, 0))
