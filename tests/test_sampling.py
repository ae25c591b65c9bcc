"""lstm_ref.sampling: temperature softmax, categorical draws, a character-level LSTM
language model run and sampled in NumPy, and the same model in Keras.

The Keras comparisons are marked ``keras``; the rest runs without TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

import lstm_ref as L

V, D, H = 7, 5, 6


def lm_weights(rng, dtype=np.float64, scale=0.5):
    """Embedding (V, D), LSTM kernel, recurrent kernel, bias, dense kernel (H, V), bias."""
    shapes = [(V, D), (D, 4 * H), (H, 4 * H), (4 * H,), (H, V), (V,)]
    return [(scale * rng.standard_normal(s)).astype(dtype) for s in shapes]


# ------------------------------------------------------------------ softmax_temperature


def test_temperature_one_is_the_plain_softmax(rng):
    z = rng.standard_normal((3, 4, V))
    np.testing.assert_allclose(L.softmax_temperature(z, 1.0), softmax(z, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("tau", [0.25, 0.5, 2.0, 7.0])
def test_temperature_divides_the_logits(rng, tau):
    z = rng.standard_normal((5, V))
    np.testing.assert_allclose(L.softmax_temperature(z, tau), softmax(z / tau, axis=-1),
                               rtol=1e-12)


def test_lower_temperature_sharpens_higher_flattens(rng):
    z = rng.standard_normal((50, V)) * 2
    top = {tau: L.softmax_temperature(z, tau).max(axis=-1) for tau in (0.5, 1.0, 2.0)}
    assert np.all(top[0.5] > top[1.0])
    assert np.all(top[1.0] > top[2.0])


def test_temperature_zero_is_greedy_and_takes_the_first_of_a_tie():
    z = np.array([[0.1, 3.0, -1.0], [2.0, 2.0, 1.0]])
    np.testing.assert_array_equal(L.softmax_temperature(z, 0), [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_temperature_does_not_overflow_and_tends_to_greedy(rng, dtype):
    z = (rng.standard_normal((20, V)) * 50).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = L.softmax_temperature(z, 1e-300 if dtype == np.float64 else 1e-40)
    assert p.dtype == dtype
    np.testing.assert_array_equal(p, L.softmax_temperature(z, 0.0))


def test_huge_temperature_tends_to_uniform(rng):
    z = rng.standard_normal((4, V)) * 10
    np.testing.assert_allclose(L.softmax_temperature(z, 1e12), np.full((4, V), 1 / V),
                               atol=1e-9)


def test_float32_in_float32_out_rows_sum_to_one(rng):
    z = rng.standard_normal((10, V)).astype(np.float32)
    p = L.softmax_temperature(z, 0.7)
    assert p.dtype == np.float32
    assert p.shape == z.shape
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("tau", [-0.5, float("nan"), float("inf"), -float("inf")])
def test_bad_temperature_values(tau):
    with pytest.raises(ValueError, match="temperature must be finite and >= 0"):
        L.softmax_temperature(np.zeros((1, 3)), tau)


@pytest.mark.parametrize("tau", ["1.0", None, True, np.array([1.0, 2.0])])
def test_bad_temperature_types(tau):
    with pytest.raises(TypeError, match="temperature must be a real number"):
        L.softmax_temperature(np.zeros((1, 3)), tau)


def test_numpy_scalar_temperature_is_accepted(rng):
    z = rng.standard_normal((2, V))
    np.testing.assert_allclose(L.softmax_temperature(z, np.float32(0.5)),
                               L.softmax_temperature(z, 0.5))


@pytest.mark.parametrize(("z", "match"), [
    (np.array(1.0), "last axis of size V >= 1"),
    (np.zeros((2, 0)), "last axis of size V >= 1"),
    (np.array([[0.0, np.nan]]), "NaN or infinity"),
    (np.array([[0.0, np.inf]]), "NaN or infinity"),
])
def test_bad_logits(z, match):
    with pytest.raises(ValueError, match=match):
        L.softmax_temperature(z, 1.0)


def test_logits_must_be_a_float_array():
    with pytest.raises(TypeError, match="logits must be a NumPy array"):
        L.softmax_temperature([[0.0, 1.0]], 1.0)
    with pytest.raises(TypeError, match="logits has dtype int64"):
        L.softmax_temperature(np.array([[0, 1]]), 1.0)


# ------------------------------------------------------------------ sample_categorical


def test_draws_follow_the_probabilities():
    p = np.array([0.1, 0.0, 0.6, 0.3])
    draws = L.sample_categorical(np.tile(p, (200_000, 1)), rng=0)
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, p, atol=0.005)
    assert freq[1] == 0, "a symbol of probability 0 was drawn"


def test_draws_are_the_inverse_cdf_of_the_uniforms():
    p = np.array([[0.2, 0.5, 0.3]] * 5)
    u = np.random.default_rng(3).random(5)
    expected = np.searchsorted(np.cumsum(p[0]), u, side="right")
    np.testing.assert_array_equal(L.sample_categorical(p, np.random.default_rng(3)), expected)


def test_same_seed_same_draws_and_shape(rng):
    p = softmax(rng.standard_normal((3, 4, V)), axis=-1)
    a, b = L.sample_categorical(p, 7), L.sample_categorical(p, 7)
    assert a.shape == (3, 4)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, b)


def test_one_hot_rows_always_give_their_index():
    p = np.eye(V)[[3, 0, 6, 6]]
    for seed in range(5):
        np.testing.assert_array_equal(L.sample_categorical(p, seed), [3, 0, 6, 6])


def test_rounding_never_draws_a_trailing_zero_probability_symbol():
    # rows summing to slightly less than 1, with a zero at the end
    p = np.array([[0.3, 0.7 - 1e-7, 0.0]], dtype=np.float64).repeat(1000, axis=0)
    assert L.sample_categorical(p, 0).max() <= 1


@pytest.mark.parametrize(("p", "match"), [
    (np.array([[0.5, 0.6]]), "sum to 1, found a row summing to 1.1"),
    (np.array([[2.0, -1.0]]), "finite and non-negative"),
    (np.array([[np.nan, 1.0]]), "finite and non-negative"),
    (np.array([[3.0, 1.0, -2.0]]), "finite and non-negative"),
    (np.zeros((3, 0)), "last axis of size V >= 1"),
])
def test_bad_probabilities(p, match):
    with pytest.raises(ValueError, match=match):
        L.sample_categorical(p, 0)


def test_logits_passed_as_probabilities_get_a_hint(rng):
    with pytest.raises(ValueError, match="logits instead of probabilities"):
        L.sample_categorical(np.abs(rng.standard_normal((2, V))) + 1, 0)


def test_bad_rng():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        L.sample_categorical(np.array([[1.0]]), rng=np.random.RandomState(0))


# ------------------------------------------------------------------ the language model


def reference_logits(ids, emb, W, U, b, Wd, bd):
    # The textbook loop with lstm_step: what language_model_logits must equal.
    N, T = ids.shape
    h = np.zeros((N, U.shape[0]))
    c = np.zeros_like(h)
    out = []
    for t in range(T):
        h, c = L.lstm_step(emb[ids[:, t]], h, c, W, U, b)
        out.append(h @ Wd + bd)
    return np.stack(out, axis=1), (h, c)


def test_language_model_logits_equal_the_step_loop(rng):
    w = lm_weights(rng)
    ids = rng.integers(0, V, (3, 11))
    logits, (h, c) = L.language_model_logits(ids, *w)
    expected, (h_ref, c_ref) = reference_logits(ids, *w)
    assert logits.shape == (3, 11, V)
    np.testing.assert_allclose(logits, expected, atol=1e-12)
    np.testing.assert_allclose(h, h_ref, atol=1e-12)
    np.testing.assert_allclose(c, c_ref, atol=1e-12)


def test_one_hot_inputs_are_the_identity_embedding(rng):
    _, W, U, b, Wd, bd = lm_weights(rng)
    W1 = (0.5 * rng.standard_normal((V, 4 * H)))        # D = V for one-hot inputs
    ids = rng.integers(0, V, (2, 9))
    logits, _ = L.language_model_logits(ids, np.eye(V), W1, U, b, Wd, bd)
    hs, _ = L.lstm_forward(np.eye(V)[ids], W1, U, b)
    np.testing.assert_allclose(logits, hs @ Wd + bd, atol=1e-12)


def test_sampling_at_temperature_zero_follows_the_argmax_of_the_logits(rng):
    w = lm_weights(rng, scale=1.0)
    prime = rng.integers(0, V, (4, 3))
    gen = L.sample_sequence(prime, 25, *w, temperature=0, rng=0)
    logits, _ = L.language_model_logits(np.concatenate([prime, gen], axis=1), *w)
    np.testing.assert_array_equal(gen, logits[:, 2:-1].argmax(-1))


@pytest.mark.parametrize("tau", [0.5, 1.0, 1.7])
def test_sampling_equals_drawing_from_the_whole_sequence_logits(rng, tau):
    # Teacher-forcing the generated text through the model gives, at every step, the
    # distribution the sampler drew from: with the same uniforms, the same symbols.
    w = lm_weights(rng, scale=1.0)
    prime = rng.integers(0, V, (3, 4))
    gen = L.sample_sequence(prime, 40, *w, temperature=tau, rng=11)
    logits, _ = L.language_model_logits(np.concatenate([prime, gen], axis=1), *w)
    probs = L.softmax_temperature(logits[:, 3:-1], tau)
    replay = np.random.default_rng(11)
    again = np.stack([L.sample_categorical(probs[:, k], replay) for k in range(40)], axis=1)
    np.testing.assert_array_equal(gen, again)


def test_sampling_is_reproducible_and_seed_dependent(rng):
    w = lm_weights(rng, scale=1.0)
    prime = rng.integers(0, V, (2, 2))
    a = L.sample_sequence(prime, 30, *w, temperature=1.0, rng=5)
    b = L.sample_sequence(prime, 30, *w, temperature=1.0, rng=5)
    c = L.sample_sequence(prime, 30, *w, temperature=1.0, rng=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (2, 30)
    assert a.dtype == np.int64
    assert a.min() >= 0
    assert a.max() < V


def test_zero_length_gives_an_empty_array(rng):
    w = lm_weights(rng)
    out = L.sample_sequence(np.zeros((2, 1), dtype=np.int64), 0, *w)
    assert out.shape == (2, 0)


@pytest.mark.parametrize(("ids", "err", "match"), [
    (np.array([1, 2, 3]), ValueError, r"must have shape \(N, T\).*add a batch axis"),
    (np.zeros((2, 0), dtype=np.int64), ValueError, r"must have shape \(N, T\) with T >= 1"),
    (np.array([[0, V]]), ValueError, rf"must hold ids in \[0, V\) = \[0, {V}\).*0 to {V}"),
    (np.array([[-1, 0]]), ValueError, r"must hold ids in \[0, V\)"),
    (np.array([[0.0, 1.0]]), TypeError, "must hold integer ids.*float64"),
    ([[0, 1]], TypeError, "must be a NumPy array of integer ids, got list"),
])
def test_bad_ids(rng, ids, err, match):
    # the message names the argument: ids for the model run, prime for the sampler
    w = lm_weights(rng)
    with pytest.raises(err, match="^ids " + match):
        L.language_model_logits(ids, *w)
    with pytest.raises(err, match="^prime " + match):
        L.sample_sequence(ids, 3, *w)


@pytest.mark.parametrize("length", [-1, 2.5, True, "3"])
def test_bad_length(rng, length):
    with pytest.raises(ValueError, match="length must be an int >= 0"):
        L.sample_sequence(np.zeros((1, 1), dtype=np.int64), length, *lm_weights(rng))


@pytest.mark.parametrize(("which", "shape", "match"), [
    (0, (V, D + 1), r"embedding must have shape \(V, D\) = \(V, 5\)"),
    (4, (H, V + 1), r"dense_kernel must have shape \(H, V\) = \(6, 7\)"),
    (4, (H + 1, V), r"dense_kernel must have shape \(H, V\)"),
    (5, (V + 1,), r"dense_bias must have shape \(V,\) = \(7,\)"),
    (2, (H, 3 * H), r"recurrent_kernel must have shape \(H, 4H\)"),
])
def test_bad_model_weights(rng, which, shape, match):
    w = lm_weights(rng)
    w[which] = rng.standard_normal(shape)
    ids = np.zeros((1, 2), dtype=np.int64)
    with pytest.raises(ValueError, match=match):
        L.language_model_logits(ids, *w)
    with pytest.raises(ValueError, match=match):
        L.sample_sequence(ids, 2, *w)


def test_bad_temperature_in_sample_sequence(rng):
    with pytest.raises(ValueError, match="temperature must be finite and >= 0"):
        L.sample_sequence(np.zeros((1, 1), dtype=np.int64), 2, *lm_weights(rng),
                          temperature=-1.0)


# ------------------------------------------------------------------ against Keras


def keras_lm(keras, dtype, seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              keras.layers.Embedding(V, D, dtype=dtype),
                              keras.layers.LSTM(H, return_sequences=True, dtype=dtype),
                              keras.layers.Dense(V, dtype=dtype)])
    # perturb the weights so the comparison is not made only at Keras' initialisation
    rng = np.random.default_rng(100 + seed)
    model.set_weights([(w + rng.normal(0, 0.5, w.shape)).astype(dtype)
                       for w in model.get_weights()])
    return model


def weights_of(model):
    emb, lstm, dense = model.layers
    kind, (W, U, b) = L.weights_from_keras(lstm)
    assert kind == "lstm"
    return [emb.get_weights()[0], W, U, b, *dense.get_weights()]


ATOL = {"float32": 5e-5, "float64": 1e-12}


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 1])
def test_logits_equal_the_keras_model(keras, dtype, seed):
    model = keras_lm(keras, dtype, seed)
    ids = np.random.default_rng(seed).integers(0, V, (4, 30))
    expected = np.asarray(model(ids))
    logits, _ = L.language_model_logits(ids, *weights_of(model))
    assert logits.dtype == np.dtype(dtype)
    assert logits.shape == expected.shape
    err = np.abs(logits - expected).max()
    assert err <= ATOL[dtype], f"{dtype}: max abs error {err:.2e}"


@pytest.mark.keras
@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 2.0])
def test_numpy_sampling_equals_sampling_from_keras_predictions(keras, tau):
    # Keras reads the prime plus what NumPy generated; its probabilities at every step
    # are those NumPy drew from, and with the same uniforms give the same symbols.
    model = keras_lm(keras, "float64", 2)
    w = weights_of(model)
    prime = np.random.default_rng(4).integers(0, V, (3, 5))
    gen = L.sample_sequence(prime, 60, *w, temperature=tau, rng=9)
    full = np.concatenate([prime, gen], axis=1)
    probs = L.softmax_temperature(np.asarray(model(full))[:, 4:-1], tau)
    replay = np.random.default_rng(9)
    again = np.stack([L.sample_categorical(probs[:, k], replay) for k in range(60)], axis=1)
    np.testing.assert_array_equal(gen, again)
