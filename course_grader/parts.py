"""Out-of-kernel re-checks of the assignments' graded NumPy parts.

nbgrader's in-kernel tests can be defeated from inside the kernel (``np.allclose =
lambda *a, **k: True``). So after autograde, the grader re-runs each submission's
solution cells in a fresh sandboxed Python (no ``lstm_ref`` on its path), calls the
learner's function on inputs drawn at grading time, and compares the results in its own
process with a reference: ``lstm_ref``'s function where it has one, else the short NumPy
reference defined in this module. A part whose re-check fails scores 0, whatever the
kernel said.

Each assignment lists its re-checked parts in ``PARTS``; the grader reads only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import lstm_ref


def compare_arrays(got: Any, want: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """Return None when ``got`` matches ``want``, else a short reason (no expected values).

    Strict: a tuple must be a tuple of the same length, arrays must have the same shape
    (no broadcasting), no NaN, and close within ``rtol``/``atol``.
    """
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or len(got) != len(want):
            return f"expected a tuple of {len(want)} values, got {type(got).__name__}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare_arrays(g, w, rtol=rtol, atol=atol)
            if reason:
                return f"item {k}: {reason}"
        return None
    if isinstance(want, (int, np.integer)) and not isinstance(want, bool):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)) or got != want:
            return "wrong integer value"
        return None
    if not isinstance(got, np.ndarray):
        return f"expected a NumPy array, got {type(got).__name__}"
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not np.issubdtype(got.dtype, np.number):
        return f"dtype {got.dtype} is not numeric"
    if not np.all(np.isfinite(got)):
        return "result holds NaN or infinity"
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0))
    tol = atol + rtol * float(np.max(np.abs(want), initial=0.0))
    if err > tol:
        return f"max abs error {err:.2e} exceeds tolerance {tol:.1e}"
    return None


@dataclass(frozen=True)
class Part:
    """One re-checked part of an assignment.

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the test cell whose points this re-check guards
        (the hidden test cell of that part).
    function : str
        Name of the function the learner's solution cells define.
    make_inputs : callable (numpy.random.Generator) -> list of tuple
        Argument tuples to call the function with, drawn at grading time.
    reference : callable
        The reference (usually from ``lstm_ref``) called with the same arguments.
    compare : callable (got, want) -> str or None
        None if the result is acceptable, else a reason that reveals no expected value.
    uses : tuple of str
        Functions of earlier parts the learner's function is meant to call: when one of
        them lost its points too, the reason points back to it (one bug, one place).
    """

    grade_id: str
    function: str
    make_inputs: Callable[[np.random.Generator], list[tuple]]
    reference: Callable[..., Any]
    compare: Callable[[Any, Any], str | None] = field(default=compare_arrays)
    uses: tuple[str, ...] = ()


def compare_mapping(got: Any, want: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """Like :func:`compare_arrays` for a dict of arrays: same keys, each value matching."""
    if not isinstance(got, dict):
        return f"expected a dict, got {type(got).__name__}"
    if sorted(map(str, got)) != sorted(map(str, want)):
        return f"keys {sorted(map(str, got))}, expected {sorted(map(str, want))}"
    for key in want:
        reason = compare_arrays(got[key], want[key], rtol=rtol, atol=atol)
        if reason:
            return f"{key!r}: {reason}"
    return None


def compare_nested(got: Any, want: Any, *, rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """Compare nested results: lists and tuples item by item (same type, same length),
    dicts key by key, Python or NumPy real scalars by value, arrays by
    :func:`compare_arrays`."""
    if isinstance(want, (list, tuple)):
        if type(got) is not type(want) or len(got) != len(want):
            return (f"expected a {type(want).__name__} of {len(want)} items, got "
                    f"{type(got).__name__}")
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare_nested(g, w, rtol=rtol, atol=atol)
            if reason:
                return f"item {k}: {reason}"
        return None
    if isinstance(want, dict):
        return compare_mapping(got, want, rtol=rtol, atol=atol)
    if isinstance(want, (float, np.floating)):
        if isinstance(got, (bool, np.bool_)) or not isinstance(
                got, (int, float, np.integer, np.floating)):
            return f"expected a number, got {type(got).__name__}"
        if not np.isfinite(got) or abs(float(got) - float(want)) > atol + rtol * abs(float(want)):
            return "wrong value"
        return None
    return compare_arrays(got, want, rtol=rtol, atol=atol)


def compare_exact(got: Any, want: Any) -> str | None:
    """Exact equality for small structures (lists of shape tuples, ints, None): same
    container types all the way down, equal values."""
    if isinstance(want, (list, tuple)):
        if type(got) is not type(want) or len(got) != len(want):
            return (f"expected a {type(want).__name__} of {len(want)} items, got "
                    f"{type(got).__name__}")
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare_exact(g, w)
            if reason:
                return f"item {k}: {reason}"
        return None
    if want is None:
        return None if got is None else "wrong value"
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        return f"expected an int, got {type(got).__name__}"
    return None if got == want else "wrong value"


# ---------------------------------------------------------------- shared input generators
def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0,
            dtype: Any = np.float64) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _sizes(rng: np.random.Generator, n: int, low: int = 1, high: int = 6) -> list[int]:
    return [int(v) for v in rng.integers(low, high, size=n)]


def _sigmoid_inputs(rng: np.random.Generator) -> list[tuple]:
    return [
        (_normal(rng, *_sizes(rng, 2), scale=20.0),),
        (_normal(rng, *_sizes(rng, 3), scale=5.0, dtype=np.float32),),
        (np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4]),),
    ]


def _step_inputs(rng: np.random.Generator, blocks: int, *, with_c: bool = False,
                 bias_rows: int = 0) -> list[tuple]:
    """Arguments (x, h_prev[, c_prev], kernel, recurrent_kernel, bias) of a step function
    with ``blocks`` gate blocks (rnn 1, gru 3, lstm 4); ``bias_rows=2`` for Keras' GRU."""
    out = []
    for k in range(3):
        N, D, H = (1, 1, 1) if k == 0 else _sizes(rng, 3)
        x, h = _normal(rng, N, D), _normal(rng, N, H)
        c = (_normal(rng, N, H),) if with_c else ()
        W, U = _normal(rng, D, blocks * H), _normal(rng, H, blocks * H)
        b = _normal(rng, bias_rows, blocks * H) if bias_rows else _normal(rng, blocks * H)
        out.append((x, h, *c, W, U, b))
    return out


def _count_inputs(kinds: tuple[str, ...]) -> Callable[[np.random.Generator], list[tuple]]:
    def make(rng: np.random.Generator) -> list[tuple]:
        return [(kind, 1, 1) for kind in kinds] + [
            (kind, *_sizes(rng, 2, 1, 300)) for kind in kinds for _ in range(2)]
    return make


# ---------------------------------------------------------------- ch01_vanishing_gradients
def bptt_hidden_grads(hs: np.ndarray, recurrent_kernel: np.ndarray,
                      dh_last: np.ndarray) -> np.ndarray:
    """dL/dh_t for every t (N, T, H) of a tanh RNN whose loss reads only h_{T-1}."""
    grads = np.zeros(hs.shape)
    grads[:, -1] = dh_last
    for t in range(hs.shape[1] - 1, 0, -1):
        grads[:, t - 1] = (grads[:, t] * (1.0 - hs[:, t] ** 2)) @ recurrent_kernel.T
    return grads


def grad_norm_ratios(grads: np.ndarray) -> np.ndarray:
    """rho(d) (T,): mean per-example gradient norm d steps back over the one at lag 0."""
    per_lag = np.linalg.norm(grads, axis=2).mean(axis=0)[::-1]
    return per_lag / per_lag[0]


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float) -> tuple[list, float]:
    """Scale all arrays by max_norm / max(global norm, max_norm); return them and the norm."""
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads)))
    return [g * (max_norm / max(norm, max_norm)) for g in grads], norm


def _bptt_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for k in range(3):
        N, H = (1, 1) if k == 0 else _sizes(rng, 2, 1, 5)
        T = 1 if k == 0 else int(rng.integers(2, 15))
        out.append((np.tanh(_normal(rng, N, T, H)), _normal(rng, H, H), _normal(rng, N, H)))
    return out


def _ratio_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(_normal(rng, N, T, H) * np.logspace(-4, 0, T)[None, :, None],)
            for N, T, H in ([1, 1, 1], _sizes(rng, 3, 1, 9), _sizes(rng, 3, 2, 9))]


def _clip_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for factor in (0.1, 0.7, 2.0):
        grads = [_normal(rng, *_sizes(rng, int(rng.integers(1, 4)), 1, 5))
                 for _ in range(int(rng.integers(1, 5)))]
        norm = float(np.sqrt(sum((g ** 2).sum() for g in grads)))
        out.append((grads, factor * norm))
    out.append(([np.zeros((2, 3)), np.zeros(4)], 1.0))
    return out


# ---------------------------------------------------------------- ch02_lstm_cell
def _lstm_cell_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for k in range(3):
        D, H = (1, 1) if k == 0 else _sizes(rng, 2)
        weights = {}
        for g in "fico":
            weights[f"W{g}"] = _normal(rng, H, H + D)
            weights[f"b{g}"] = _normal(rng, H)
        out.append((_normal(rng, D), _normal(rng, H), _normal(rng, H), weights))
    return out


def lstm_gates(*args: np.ndarray) -> dict[str, np.ndarray]:
    """lstm_ref.lstm_gates with each gate copied out of the shared block."""
    return {k: v.copy() for k, v in lstm_ref.lstm_gates(*args).items()}


# ---------------------------------------------------------------- ch03_text_classification
def binary_accuracy(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Share of labels equal to (y_prob > threshold); y_prob (N,) or (N, 1)."""
    y_prob = y_prob.reshape(-1) if y_prob.ndim == 2 and y_prob.shape[1] == 1 else y_prob
    return float(np.mean((y_prob > threshold) == (y_true == 1)))


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy on y_test of y_train's majority class (a tie counts as 1)."""
    return float(np.mean(y_test == (1 if np.mean(y_train) >= 0.5 else 0)))


def _accuracy_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for k, threshold in enumerate((0.5, 0.3, 0.8)):
        N = 1 if k == 0 else int(rng.integers(2, 60))
        p = rng.uniform(size=N).round(1)  # some probabilities equal the threshold exactly
        out.append((rng.integers(0, 2, size=N), p if k != 1 else p[:, None], threshold))
    return out


def _majority_inputs(rng: np.random.Generator) -> list[tuple]:
    out = [(np.array([1, 0, 0, 1]), rng.integers(0, 2, size=9))]
    for share in (0.2, 0.8):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        out.append(((rng.uniform(size=n) < share).astype(int),
                    (rng.uniform(size=m) < 1 - share).astype(int)))
    return out


# ---------------------------------------------------------------- ch04_stacked_lstms
def stacked_output_shapes(batch: int | None, timesteps: int | None, input_dim: int,
                          units: list[int]) -> list[tuple]:
    """Output shape of each LSTM layer of a stack whose last layer returns one state."""
    return [(batch, timesteps, H) for H in units[:-1]] + [(batch, units[-1])]


def count_stack_params(input_dim: int, units: list[int]) -> int:
    """Sum of 4 H_k (D_k + H_k + 1) over the layers, D_k the previous layer's H."""
    dims = [input_dim] + list(units[:-1])
    return int(sum(lstm_ref.count_params("lstm", d, H) for d, H in zip(dims, units,
                                                                        strict=True)))


def stacked_forward(x: np.ndarray, weights: list[tuple]) -> np.ndarray:
    """Top layer's last hidden state of a stack of LSTM layers."""
    seq = x
    for W, U, b in weights:
        seq = lstm_ref.lstm_forward(seq, W, U, b)[0]
    return seq[:, -1]


def _stack_shape_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for batch, T in ((None, None), (int(rng.integers(1, 64)), None),
                     (int(rng.integers(1, 64)), int(rng.integers(1, 300)))):
        out.append((batch, T, int(rng.integers(1, 50)),
                    [int(n) for n in rng.integers(1, 200, size=rng.integers(1, 5))]))
    return out


def _stack_count_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(int(rng.integers(1, 300)), [int(n) for n in rng.integers(1, 300, size=k)])
            for k in (1, 2, int(rng.integers(3, 6)))]


def _stack_forward_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for n_layers in (1, 2, 3):
        N, T, D = _sizes(rng, 3, 1, 5)
        weights, d = [], D
        for H in _sizes(rng, n_layers, 1, 5):
            weights.append((_normal(rng, d, 4 * H), _normal(rng, H, 4 * H), _normal(rng, 4 * H)))
            d = H
        out.append((_normal(rng, N, T, D), weights))
    return out


# ---------------------------------------------------------------- ch05_time_series
def create_sequences(data: np.ndarray, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """lstm_ref.create_sequences with its default horizon of 1."""
    return lstm_ref.create_sequences(data, seq_length)


def scale_train_test(train: np.ndarray, test: np.ndarray) -> tuple:
    """Standardise both parts with train's mean and population std (axis 0)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    return (train - mean) / std, (test - mean) / std, mean, std


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_true - y_pred)))


def persistence_forecast(X: np.ndarray) -> np.ndarray:
    """The last value of each window (S, L, 1) -> (S,)."""
    return X[:, -1, 0]


def _series_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for k, shape in enumerate([(int(rng.integers(2, 40)),), (int(rng.integers(5, 40)),),
                               (int(rng.integers(5, 40)), int(rng.integers(2, 4)))]):
        L = 1 if k == 0 else int(rng.integers(1, shape[0]))
        out.append((_normal(rng, *shape).cumsum(axis=0), L))
    return out


def _split_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for F in (None, None, int(rng.integers(2, 4))):
        n, m = int(rng.integers(3, 30)), int(rng.integers(1, 10))
        series = _normal(rng, *((n + m,) if F is None else (n + m, F))).cumsum(axis=0)
        series = series * rng.uniform(0.5, 50) + rng.uniform(-100, 100)
        out.append((series[:n], series[n:] + 25.0))
    return out


def _metric_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(_normal(rng, *s, scale=10.0), _normal(rng, *s, scale=10.0))
            for s in ([1], [int(rng.integers(2, 50))], _sizes(rng, 2))]


def _window_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(_normal(rng, 1, 1, 1),), (_normal(rng, *_sizes(rng, 2, 2, 30), 1),)]


# ---------------------------------------------------------------- ch06_gru
def gru_step_reset_before(x: np.ndarray, h_prev: np.ndarray, kernel: np.ndarray,
                          recurrent_kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """One step of Keras' GRU(reset_after=False): bias (3H,), r scales h_prev before U_h."""
    H = recurrent_kernel.shape[0]
    ax = x @ kernel + bias
    z = lstm_ref.sigmoid(ax[:, :H] + h_prev @ recurrent_kernel[:, :H])
    r = lstm_ref.sigmoid(ax[:, H:2 * H] + h_prev @ recurrent_kernel[:, H:2 * H])
    cand = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ recurrent_kernel[:, 2 * H:])
    return z * h_prev + (1.0 - z) * cand


def gru_sequence(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                 bias: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """All hidden states (N, T, H) of Keras' GRU (lstm_ref.gru_forward)."""
    return lstm_ref.gru_forward(x, kernel, recurrent_kernel, bias, h0)[0]


def _gru_sequence_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for k in range(3):
        N, D, H = (1, 1, 1) if k == 0 else _sizes(rng, 3, 1, 5)
        T = 1 if k == 0 else int(rng.integers(2, 9))
        args = (_normal(rng, N, T, D), _normal(rng, D, 3 * H), _normal(rng, H, 3 * H),
                _normal(rng, 2, 3 * H))
        out.append(args + ((None if k == 1 else _normal(rng, N, H)),))
    return out


# ---------------------------------------------------------------- the registry
#: assignment name -> its re-checked parts. ``grade_id`` is the part's test cell (visible
#: checks and hidden tests live in the same cell, named ``<part>_tests``). Several parts may
#: share a grade_id (a cell that checks two functions); each must pass for that cell to keep
#: its points. Parts whose functions need Keras are not re-checked here (their in-kernel
#: checks inspect the model's structure, which a patched comparison cannot fake easily).
PARTS: dict[str, list[Part]] = {
    "ch01_vanishing_gradients": [
        Part("sigmoid_tests", "sigmoid", _sigmoid_inputs, lstm_ref.sigmoid),
        Part("rnn_step_tests", "rnn_step", lambda rng: _step_inputs(rng, 1), lstm_ref.rnn_step),
        Part("bptt_hidden_grads_tests", "bptt_hidden_grads", _bptt_inputs, bptt_hidden_grads),
        Part("grad_norm_ratios_tests", "grad_norm_ratios", _ratio_inputs, grad_norm_ratios),
        Part("clip_by_global_norm_tests", "clip_by_global_norm", _clip_inputs,
             clip_by_global_norm, compare_nested),
    ],
    "ch02_lstm_cell": [
        Part("sigmoid_tests", "sigmoid", _sigmoid_inputs, lstm_ref.sigmoid),
        Part("lstm_cell_tests", "lstm_cell", _lstm_cell_inputs, lstm_ref.lstm_cell,
             uses=("sigmoid",)),
        Part("lstm_gates_tests", "lstm_gates", lambda rng: _step_inputs(rng, 4), lstm_gates,
             compare_mapping, uses=("sigmoid",)),
        Part("lstm_step_tests", "lstm_step", lambda rng: _step_inputs(rng, 4, with_c=True),
             lstm_ref.lstm_step, uses=("lstm_gates",)),
        Part("count_params_tests", "count_params", _count_inputs(("rnn", "lstm")),
             lstm_ref.count_params),
    ],
    "ch03_text_classification": [
        Part("binary_accuracy_tests", "binary_accuracy", _accuracy_inputs, binary_accuracy,
             compare_nested),
        Part("majority_baseline_tests", "majority_baseline", _majority_inputs,
             majority_baseline, compare_nested),
    ],
    "ch04_stacked_lstms": [
        Part("stacked_output_shapes_tests", "stacked_output_shapes", _stack_shape_inputs,
             stacked_output_shapes, compare_exact),
        Part("count_stack_params_tests", "count_stack_params", _stack_count_inputs,
             count_stack_params),
        Part("stacked_forward_tests", "stacked_forward", _stack_forward_inputs,
             stacked_forward),
    ],
    "ch05_time_series": [
        Part("create_sequences_tests", "create_sequences", _series_inputs, create_sequences),
        Part("scale_train_test_tests", "scale_train_test", _split_inputs, scale_train_test,
             compare_nested),
        Part("metrics_tests", "rmse", _metric_inputs, rmse, compare_nested),
        Part("metrics_tests", "mae", _metric_inputs, mae, compare_nested),
        Part("persistence_forecast_tests", "persistence_forecast", _window_inputs,
             persistence_forecast),
    ],
    "ch06_gru": [
        Part("gru_step_tests", "gru_step", lambda rng: _step_inputs(rng, 3, bias_rows=2),
             lstm_ref.gru_step),
        Part("gru_step_reset_before_tests", "gru_step_reset_before",
             lambda rng: _step_inputs(rng, 3), gru_step_reset_before),
        Part("gru_sequence_tests", "gru_sequence", _gru_sequence_inputs, gru_sequence),
        Part("count_params_tests", "count_params", _count_inputs(("rnn", "lstm", "gru")),
             lstm_ref.count_params),
    ],
}


def earlier_parts(assignment: str) -> dict[str, list[tuple[str, str]]]:
    """grade_id -> [(function, its grade_id)] of the earlier parts it is meant to call."""
    owner = {p.function: p.grade_id for p in PARTS.get(assignment, [])}
    return {p.grade_id: [(f, owner[f]) for f in p.uses if f in owner]
            for p in PARTS.get(assignment, []) if p.uses}
