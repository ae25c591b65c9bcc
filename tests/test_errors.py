"""Every bad input raises, and the message names the argument and what was expected."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import KINDS, random_weights

import lstm_ref as L

FORWARD = {"rnn": L.rnn_forward, "lstm": L.lstm_forward, "gru": L.gru_forward}
BACKWARD = {"rnn": L.rnn_backward, "lstm": L.lstm_backward, "gru": L.gru_backward}
N, T, D, H = 2, 5, 3, 4


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def weights(kind, rng):
    return random_weights(kind, D, H, rng)


@pytest.fixture
def x(rng):
    return rng.standard_normal((N, T, D))


def step(kind, x, h, W, U, b):
    if kind == "lstm":
        return L.lstm_step(x, h, np.zeros((x.shape[0], H)), W, U, b)
    return {"rnn": L.rnn_step, "gru": L.gru_step}[kind](x, h, W, U, b)


# ------------------------------------------------------------------ shapes


def test_input_size_differs_from_kernel(kind, weights, rng):
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\) with D = 3"):
        FORWARD[kind](rng.standard_normal((N, T, D + 1)), *weights)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\) = \(N, 3\)"):
        step(kind, rng.standard_normal((N, D + 1)), np.zeros((N, H)), *weights)


def test_kernel_and_recurrent_kernel_disagree_on_H(kind, x, rng):
    W, U, b = random_weights(kind, D, H, rng)
    W_other, _, _ = random_weights(kind, D, H + 1, rng)
    with pytest.raises(ValueError, match=r"kernel must have shape \(D, \d?H\).*H = 4"):
        FORWARD[kind](x, W_other, U, b)


def test_recurrent_kernel_not_square_per_gate(kind, x, rng):
    W, U, b = random_weights(kind, D, H, rng)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(H, \d?H\)"):
        FORWARD[kind](x, W, U[:, :-1], b)
    with pytest.raises(ValueError, match="recurrent_kernel must have 2 dimensions"):
        FORWARD[kind](x, W, U[None], b)


def test_lstm_weights_given_to_gru_name_the_gate_count(x, rng):
    W, U, b = random_weights("lstm", D, H, rng)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(H, 3H\).*gate count"):
        L.gru_forward(x, W, U, b)


def test_sequence_without_batch_axis(kind, weights, rng):
    with pytest.raises(ValueError, match=r"x must have 3 dimensions.*add a batch axis"):
        FORWARD[kind](rng.standard_normal((T, D)), *weights)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        FORWARD[kind](rng.standard_normal((1, N, T, D)), *weights)


def test_empty_sequence(kind, weights):
    with pytest.raises(ValueError, match="x must have at least one time step"):
        FORWARD[kind](np.zeros((N, 0, D)), *weights)


def test_bias_of_wrong_length(kind, weights, x):
    W, U, b = weights
    with pytest.raises(ValueError, match=r"bias must have shape"):
        FORWARD[kind](x, W, U, b[..., :-1])


@pytest.mark.parametrize("kind_", ["rnn", "lstm"])
def test_lstm_and_rnn_bias_is_one_dimensional(kind_, x, rng):
    W, U, b = random_weights(kind_, D, H, rng)
    with pytest.raises(ValueError, match=r"bias must have shape \(\d?H,\)"):
        FORWARD[kind_](x, W, U, np.stack([b, b]))


def test_gru_bias_needs_two_rows(x, rng):
    W, U, b = random_weights("gru", D, H, rng)
    with pytest.raises(ValueError, match=r"bias must have shape \(2, 3H\) = \(2, 12\)"):
        L.gru_forward(x, W, U, b[0])
    with pytest.raises(ValueError, match=r"bias must have shape \(2, 3H\)"):
        L.gru_step(x[:, 0], np.zeros((N, H)), W, U, b[0])


def test_initial_state_of_wrong_shape(kind, weights, x):
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 4\)"):
        FORWARD[kind](x, *weights, h0=np.zeros((N, H + 1)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 4\), got "
                                         r"shape \(4,\)"):
        FORWARD[kind](x, *weights, h0=np.zeros(H))
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\)"):
        step(kind, x[:, 0], np.zeros((N + 1, H)), *weights)


def test_lstm_cell_state_of_wrong_shape(x, rng):
    W, U, b = random_weights("lstm", D, H, rng)
    with pytest.raises(ValueError, match=r"c0 must have shape \(N, H\) = \(2, 4\)"):
        L.lstm_forward(x, W, U, b, c0=np.zeros((N, H - 1)))
    with pytest.raises(ValueError, match=r"c_prev must have shape \(N, H\)"):
        L.lstm_step(x[:, 0], np.zeros((N, H)), np.zeros((1, H)), W, U, b)


def test_upstream_gradient_of_wrong_shape(kind, weights, x):
    hs, cache = FORWARD[kind](x, *weights)
    with pytest.raises(ValueError, match=r"dhs must have the shape of the forward output "
                                         r"\(2, 5, 4\), got shape \(2, 4\)"):
        BACKWARD[kind](hs[:, -1], cache)
    with pytest.raises(ValueError, match="dhs must have the shape"):
        BACKWARD[kind](np.ones((N, T, H + 1)), cache)


# ------------------------------------------------------------------ types


def test_list_instead_of_array(kind, weights, x):
    with pytest.raises(TypeError, match="x must be a NumPy array, got list"):
        FORWARD[kind](x.tolist(), *weights)
    W, U, b = weights
    with pytest.raises(TypeError, match="bias must be a NumPy array, got list"):
        FORWARD[kind](x, W, U, b.tolist())
    with pytest.raises(TypeError, match="h0 must be a NumPy array, got tuple"):
        FORWARD[kind](x, *weights, h0=tuple(np.zeros((N, H))))


def test_none_weight(kind, weights, x):
    W, U, b = weights
    with pytest.raises(TypeError, match="recurrent_kernel is None"):
        FORWARD[kind](x, W, None, b)


def test_integer_dtype(kind, weights, rng):
    with pytest.raises(TypeError, match="x has dtype int64; expected a floating dtype"):
        FORWARD[kind](rng.integers(0, 5, size=(N, T, D)), *weights)
    W, U, b = weights
    with pytest.raises(TypeError, match="kernel has dtype int"):
        FORWARD[kind](np.zeros((N, T, D)), W.astype(np.int32), U, b)
    hs, cache = FORWARD[kind](np.zeros((N, T, D)), *weights)
    with pytest.raises(TypeError, match="dhs has dtype int64"):
        BACKWARD[kind](np.ones(hs.shape, dtype=np.int64), cache)


def test_boolean_and_complex_dtypes_are_refused(kind, weights):
    with pytest.raises(TypeError, match="x has dtype bool"):
        FORWARD[kind](np.zeros((N, T, D), dtype=bool), *weights)
    with pytest.raises(TypeError, match="x has dtype complex128"):
        FORWARD[kind](np.zeros((N, T, D), dtype=complex), *weights)


# ------------------------------------------------------------------ the article's cell


def seed_weights(D=D, H=H):
    w = {f"W{g}": np.zeros((H, H + D)) for g in "ifco"}
    w.update({f"b{g}": np.zeros(H) for g in "ifco"})
    return w


def test_seed_weights_missing_a_key():
    w = seed_weights()
    del w["Wo"]
    with pytest.raises(ValueError, match="weights is missing key.*Wo"):
        L.lstm_cell(np.zeros(D), np.zeros(H), np.zeros(H), w)
    with pytest.raises(ValueError, match="weights is missing key.*Wo"):
        L.seed_weights_to_keras(w, D)


def test_seed_weights_not_a_dict():
    with pytest.raises(TypeError, match="weights must be a dict"):
        L.lstm_cell(np.zeros(D), np.zeros(H), np.zeros(H), list(seed_weights().values()))


def test_seed_weight_of_wrong_shape():
    w = seed_weights()
    w["Wc"] = np.zeros((H, H + D + 1))
    with pytest.raises(ValueError, match=r"weights\['Wc'\] must have shape \(4, 7\)"):
        L.lstm_cell(np.zeros(D), np.zeros(H), np.zeros(H), w)
    w = seed_weights()
    w["bi"] = np.zeros(H + 1)
    with pytest.raises(ValueError, match=r"weights\['bi'\] must have shape \(4,\)"):
        L.lstm_cell(np.zeros(D), np.zeros(H), np.zeros(H), w)


def test_lstm_cell_inputs_of_wrong_shape():
    w = seed_weights()
    with pytest.raises(ValueError,
                       match=r"x must have 1 dimension with shape \(3,\), got 2 dimensions"):
        L.lstm_cell(np.zeros((1, D)), np.zeros(H), np.zeros(H), w)
    with pytest.raises(ValueError, match=r"h_prev must have shape \(4,\)"):
        L.lstm_cell(np.zeros(D), np.zeros(H + 1), np.zeros(H), w)
    with pytest.raises(TypeError, match="c_prev must be a NumPy array, got list"):
        L.lstm_cell(np.zeros(D), np.zeros(H), [0.0] * H, w)


def test_seed_to_keras_with_wrong_input_dim():
    with pytest.raises(ValueError, match="input_dim is 5 but .*D = 3"):
        L.seed_weights_to_keras(seed_weights(), 5)


# ------------------------------------------------------------------ helpers and tasks


def test_count_params_unknown_kind():
    with pytest.raises(ValueError,
                       match=r"kind must be one of \['gru', 'lstm', 'rnn'\], got 'LSTM'"):
        L.count_params("LSTM", 3, 4)


@pytest.mark.parametrize(("D_", "H_", "name"), [(0, 4, "input_dim"), (3, 2.0, "units"),
                                                (3, True, "units"), (-1, 4, "input_dim")])
def test_count_params_bad_sizes(D_, H_, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        L.count_params("rnn", D_, H_)


def test_init_weights_and_gradient_norms_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        L.init_weights("lstmm", 2, 3)
    with pytest.raises(ValueError, match="kind must be one of"):
        L.state_gradient_norms("cnn", np.zeros((1, 3, 2)), *L.init_weights("rnn", 2, 3))


def test_state_gradient_norms_checks_its_weights():
    W, U, b = L.init_weights("lstm", 2, 3)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(H, 1H\)"):
        L.state_gradient_norms("rnn", np.zeros((1, 3, 2)), W, U, b)


@pytest.mark.parametrize(("n", "T", "match"), [(5, 1, "seq_len must be at least 2"),
                                              (0, 10, "n must be at least 1")])
def test_adding_problem_bad_sizes(n, T, match):
    with pytest.raises(ValueError, match=match):
        L.adding_problem(n, T)


def test_numerical_gradient_needs_float64_array():
    with pytest.raises(TypeError, match="centred differences need float64"):
        L.numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="x must be a NumPy array, got list"):
        L.numerical_gradient(lambda: 0.0, [0.0, 1.0])


def test_rel_error_shape_mismatch():
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        L.rel_error(np.zeros(3), np.zeros((3, 1)))
