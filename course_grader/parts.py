"""Every graded part of the assignments, declared once.

Each :class:`Part` names the function a learner writes, the points of its test cell, an
input generator seeded at grading time, the reference that gives the expected value
(``lstm_ref``'s function where it has one, else a short readable one in this module) and
a comparator that returns a reason revealing no expected value. The notebooks keep only
their visible tests (the learner's worked examples); the grader calls each declared
function in the student's sandboxed kernel right after its test cell ran and judges the
returned data here (:mod:`course_grader.checks`). This module is outside ``solutions/``
and ``exercises/``, so nbgrader never releases it, and it never enters the sandbox.

``PARTS`` maps each assignment to its parts; the grader reads only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import lstm_ref
from lstm_ref import count_params, sigmoid
from lstm_ref.params import GATE_BLOCKS


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
    """One graded part of an assignment.

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the part's test cell (``<function>_tests``).
    function : str
        Name of the function the learner's solution cells define.
    points : int
        Points of that test cell (the notebook's nbgrader metadata must agree).
    make_inputs : callable (numpy.random.Generator) -> list of tuple
        Argument tuples to call the function with, drawn at grading time.
    reference : callable
        The reference called with the same arguments (and ``feeds=`` when ``feed`` is set).
    compare : callable (got, want) -> str or None
        None if the result is acceptable, else a reason that reveals no expected value.
    uses : tuple of (str, callable)
        Functions of earlier parts the learner's function is meant to call, each with the
        argument tuples it will be called with (computed from this part's arguments). The
        grader answers those calls with the earlier part's reference while it checks this
        part, so the part is judged on its own code; when the earlier part lost its points,
        this one keeps its own (and its reason points back there: one bug, one place).
    describe : str or None
        For a function that returns a Keras object: how the sandbox turns it into data
        (``"model"`` or ``"vectorizer"``, see :mod:`course_grader.probe`).
    feed : callable (Generator, args) -> list, optional
        Inputs the sandbox feeds to the returned object (``describe`` parts).
    mistakes : tuple of (str, callable)
        Usual mistakes, each a description and the function it amounts to (same
        arguments): a wrong answer that matches one is named in the reason ("it matches
        h = o * c; ..."), so the learner learns what went wrong, not only that it did.
    outputs : tuple of str
        Names of the items of a returned tuple, for the reason ("c: max abs error ...").
    """

    grade_id: str
    function: str
    points: int
    make_inputs: Callable[[np.random.Generator], list[tuple]]
    reference: Callable[..., Any]
    compare: Callable[[Any, Any], str | None] = field(default=None)
    uses: tuple[tuple[str, Callable[..., list[tuple]]], ...] = ()
    describe: str | None = None
    feed: Callable[[np.random.Generator, tuple], list] | None = None
    mistakes: tuple[tuple[str, Callable[..., Any]], ...] = ()
    outputs: tuple[str, ...] = ()

    def __post_init__(self):
        if self.compare is None:
            object.__setattr__(self, "compare", compare_arrays)
        if not self.mistakes:
            object.__setattr__(self, "mistakes", MISTAKES.get(self.function, ()))
        if not self.outputs:
            object.__setattr__(self, "outputs", OUTPUTS.get(self.function, ()))


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


def compare_exact_arrays(got: Any, want: Any) -> str | None:
    """Integer arrays (or tuples of them) equal entry by entry: same shape, integer dtype."""
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or len(got) != len(want):
            return f"expected a tuple of {len(want)} arrays, got {type(got).__name__}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare_exact_arrays(g, w)
            if reason:
                return f"item {k}: {reason}"
        return None
    if not isinstance(got, np.ndarray):
        return f"expected a NumPy array, got {type(got).__name__}"
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not np.issubdtype(got.dtype, np.integer):
        return f"dtype {got.dtype}, expected integers"
    wrong = int(np.sum(got != want))
    return f"{wrong} of {want.size} entries are wrong" if wrong else None


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


def _cell_sigmoid_args(x, h_prev, c_prev, weights) -> list[tuple]:
    """The pre-activations lstm_cell passes to sigmoid (gates f, i, o)."""
    hx = np.concatenate([h_prev, x])
    return [(weights[f"W{g}"] @ hx + weights[f"b{g}"],) for g in "fio"]


def _gates_sigmoid_args(x, h_prev, kernel, recurrent_kernel, bias) -> list[tuple]:
    """The pre-activations lstm_gates passes to sigmoid: all of them, or block by block."""
    H = recurrent_kernel.shape[0]
    a = x @ kernel + h_prev @ recurrent_kernel + bias
    return [(a,)] + [(a[:, k * H:(k + 1) * H],) for k in (0, 1, 3)]


def _step_gates_args(x, h_prev, c_prev, kernel, recurrent_kernel, bias) -> list[tuple]:
    return [(x, h_prev, kernel, recurrent_kernel, bias)]


def _sequence_step_args(x, kernel, recurrent_kernel, bias, h0=None) -> list[tuple]:
    """The calls gru_sequence makes to gru_step, with the reference's states."""
    N, T = x.shape[:2]
    h = np.zeros((N, recurrent_kernel.shape[0])) if h0 is None else h0
    out = []
    for t in range(T):
        out.append((x[:, t], h, kernel, recurrent_kernel, bias))
        h = lstm_ref.gru_step(x[:, t], h, kernel, recurrent_kernel, bias)
    return out


def lstm_gates(x: np.ndarray, h_prev: np.ndarray, kernel: np.ndarray,
               recurrent_kernel: np.ndarray, bias: np.ndarray) -> dict[str, np.ndarray]:
    """lstm_ref.lstm_gates with each gate copied out of the shared block."""
    gates = lstm_ref.lstm_gates(x, h_prev, kernel, recurrent_kernel, bias)
    return {k: v.copy() for k, v in gates.items()}


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
    return int(sum(count_params("lstm", d, H) for d, H in zip(dims, units,
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


def scale_train_test(train: np.ndarray, test: np.ndarray, *, stats_from: np.ndarray | None = None,
                     ddof: int = 0) -> tuple:
    """Standardise both parts with train's mean and population std (axis 0).

    ``stats_from`` and ``ddof`` exist for the usual mistakes (statistics of the whole
    series, the sample standard deviation)."""
    stats = train if stats_from is None else stats_from
    mean, std = stats.mean(axis=0), stats.std(axis=0, ddof=ddof)
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


# ---------------------------------------------------------------- parts that build Keras objects
# The sandbox describes what the learner's function returned (probe.describe_model,
# probe.describe_vectorizer); these references say what that description must be.
def compare_model(got: Any, want: dict) -> str | None:
    """Compare a model's description (probe.describe_model) with what it must be."""
    if not isinstance(got, dict) or not got.get("is_model"):
        kind = got.get("type") if isinstance(got, dict) else type(got).__name__
        return f"returned a {kind}, expected a Keras model"
    kinds = [layer.get("class") for layer in got.get("layers", [])]
    wanted = [layer["class"] for layer in want["layers"]]
    if kinds != wanted:
        return f"the layers are {kinds}, expected {wanted}"
    for k, (g, w) in enumerate(zip(got["layers"], want["layers"], strict=True)):
        for key, value in w.items():
            if g.get(key) != value:
                return f"layer {k} ({w['class']}): {key} is {g.get(key)!r}, expected {value!r}"
    for k, (g, w) in enumerate(zip(got.get("layer_shapes", []), want.get("layer_shapes", []),
                                   strict=False)):
        if tuple(g) != tuple(w):
            return f"layer {k} outputs shape {tuple(g)}, expected {tuple(w)}"
    outs = got.get("outputs", [])
    for k, (out, shape) in enumerate(zip(outs, want["output_shapes"], strict=True)):
        if not isinstance(out, np.ndarray) or out.shape != tuple(shape):
            return (f"the output for input {k} has shape {getattr(out, 'shape', None)}, "
                    f"expected {tuple(shape)}")
        if not np.all(np.isfinite(out)):
            return f"the output for input {k} holds NaN or infinity"
        if want.get("probabilities") and not np.all((out > 0) & (out < 1)):
            return f"the output for input {k} is not a probability in (0, 1)"
    for a, b in want.get("equal_outputs", []):
        err = float(np.max(np.abs(outs[a] - outs[b]), initial=0.0))
        if err > 1e-5:
            return (f"padding changed the prediction (max difference {err:.1e} between the "
                    "padded and the unpadded sequences)")
    if got.get("params") != want["params"]:
        return f"count_params() is {got.get('params')}, which is wrong"
    return None


def build_model(vocab_size: int, embed_dim: int, units: int, *, feeds: list) -> dict:
    """Embedding(mask_zero) -> LSTM(units) -> Dense(1, sigmoid); feeds: padded, unpadded."""
    return {"layers": [{"class": "Embedding", "input_dim": vocab_size,
                        "output_dim": embed_dim, "mask_zero": True},
                       {"class": "LSTM", "units": units, "return_sequences": False},
                       {"class": "Dense", "units": 1, "activation": "sigmoid"}],
            "output_shapes": [(f.shape[0], 1) for f in feeds], "probabilities": True,
            "equal_outputs": [(0, 1)],
            "params": vocab_size * embed_dim + count_params("lstm", embed_dim, units) + units + 1}


def _build_model_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(2, 1, 1), tuple(int(n) for n in rng.integers(3, 60, size=3))]


def _build_model_feed(rng: np.random.Generator, args: tuple) -> list:
    N, T = int(rng.integers(1, 4)), int(rng.integers(1, 8))
    x = rng.integers(1, args[0], size=(N, T)).astype("int32")
    return [np.concatenate([x, np.zeros((N, 3), dtype="int32")], axis=1), x]


def build_stacked(input_dim: int, units: list[int], *, feeds: list) -> dict:
    """LSTM layers (all but the last return sequences) -> Dense(1)."""
    N, T, _ = feeds[0].shape
    dims = [input_dim] + list(units[:-1])
    return {"layers": [{"class": "LSTM", "units": h, "return_sequences": k < len(units) - 1}
                       for k, h in enumerate(units)] + [{"class": "Dense", "units": 1}],
            "layer_shapes": [(N, T, h) for h in units[:-1]] + [(N, units[-1]), (N, 1)],
            "output_shapes": [(N, 1)],
            "params": sum(count_params("lstm", d, h) for d, h in zip(dims, units, strict=True))
            + units[-1] + 1}


def _build_stacked_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(int(rng.integers(1, 6)), [int(n) for n in rng.integers(1, 12, size=k)])
            for k in (1, 3)]


def _sequence_feed(rng: np.random.Generator, args: tuple) -> list:
    """A batch (N, T, input_dim) for a model whose first argument is input_dim."""
    N, T = (int(n) for n in rng.integers(1, 6, size=2))
    return [rng.standard_normal((N, T, args[0])).astype("float32")]


def build_forecaster(seq_length: int, units: int, *, feeds: list) -> dict:
    """LSTM(units) over windows (N, seq_length, 1) -> Dense(1) with no activation."""
    return {"layers": [{"class": "LSTM", "units": units, "return_sequences": False},
                       {"class": "Dense", "units": 1, "activation": "linear"}],
            "output_shapes": [(f.shape[0], 1) for f in feeds],
            "params": count_params("lstm", 1, units) + units + 1}


def _build_forecaster_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(1, 1), tuple(int(n) for n in rng.integers(2, 20, size=2))]


def _build_forecaster_feed(rng: np.random.Generator, args: tuple) -> list:
    return [rng.standard_normal((int(rng.integers(1, 4)), args[0], 1)).astype("float32")]


_PUNCTUATION = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _tokens(text: str) -> list[str]:
    """Keras' default standardisation: lower case, punctuation stripped, split on spaces."""
    return text.lower().translate(_PUNCTUATION).split()


def make_vectorizer(texts: list[str], max_tokens: int, seq_len: int, *,
                    feeds: list) -> dict:
    """TextVectorization(max_tokens, output_sequence_length=seq_len) adapted to texts:
    padding "", "[UNK]", then the words by falling frequency (the inputs have no ties)."""
    counts: dict[str, int] = {}
    for text in texts:
        for tok in _tokens(text):
            counts[tok] = counts.get(tok, 0) + 1
    vocab = ["", "[UNK]"] + sorted(counts, key=lambda w: -counts[w])[:max_tokens - 2]
    index = {w: i for i, w in enumerate(vocab)}
    outputs = []
    for batch in feeds:
        rows = [[index.get(t, 1) for t in _tokens(text)][:seq_len] for text in batch]
        outputs.append(np.array([r + [0] * (seq_len - len(r)) for r in rows], dtype=np.int64))
    return {"vocabulary": vocab, "outputs": outputs}


def compare_vectorizer(got: Any, want: dict) -> str | None:
    if not isinstance(got, dict) or not got.get("is_vectorizer"):
        kind = got.get("type") if isinstance(got, dict) else type(got).__name__
        return f"returned a {kind}, expected a TextVectorization layer"
    vocab = got.get("vocabulary", [])
    if len(vocab) != len(want["vocabulary"]):
        return f"the vocabulary has {len(vocab)} entries, expected {len(want['vocabulary'])}"
    for k, (g, w) in enumerate(zip(vocab, want["vocabulary"], strict=True)):
        if g != w:
            return f"the vocabulary is wrong from entry {k} on (is it ordered by frequency?)"
    for g, w in zip(got.get("outputs", []), want["outputs"], strict=True):
        if not isinstance(g, np.ndarray) or g.shape != w.shape:
            return f"the output has shape {getattr(g, 'shape', None)}, expected {w.shape}"
        bad = [i for i in range(len(w)) if not np.array_equal(g[i], w[i])]
        if bad:
            return f"the integer sequence of probe text {bad[0]} is wrong"
    return None


def _vectorizer_inputs(rng: np.random.Generator) -> list[tuple]:
    """Random texts whose words all have different counts (so the order is defined)."""
    pool = [f"w{k}" for k in range(40)]
    words = list(rng.choice(pool, size=int(rng.integers(3, 15)), replace=False))
    tokens = [w for n, w in zip(rng.permutation(len(words)) + 1, words, strict=True)
              for _ in range(int(n))]
    tokens = [str(t) for t in rng.permutation(tokens)]
    texts, k = [], 0
    while k < len(tokens):
        n = int(rng.integers(1, 12))
        texts.append(" ".join(tokens[k:k + n]))
        k += n
    texts[0] = texts[0].upper() + "!"           # capitals and punctuation are standardised
    texts[-1] = texts[-1].replace(" ", ", ", 1) + "."
    return [(texts, int(rng.integers(4, len(words) + 4)), int(rng.integers(1, 15)))]


def _vectorizer_feed(rng: np.random.Generator, args: tuple) -> list:
    texts = args[0]
    return [list(texts[:3]) + ["unseen words only", " ".join(f"w{k}" for k in range(40)), ""]]


# ---------------------------------------------------------------- ch07_sequence_outputs
def lm_pairs(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Slices X[s] = ids[s:s+L] and their targets one step later, Y[s] = ids[s+1:s+L+1]."""
    S = len(ids) - seq_len
    return (np.stack([ids[s:s + seq_len] for s in range(S)]),
            np.stack([ids[s + 1:s + 1 + seq_len] for s in range(S)]))


def teacher_forcing_inputs(last_value: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """y_0, then the true y_1 .. y_{K-1}: the targets shifted right by one step."""
    return np.concatenate([last_value[:, None], targets[:, :-1]], axis=1)


def sample_from_probs(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each row, the smallest k with cumsum(probs)[k] > u (at most V - 1)."""
    k = (np.cumsum(probs, axis=1) <= u[:, None]).sum(axis=1)
    return np.minimum(k, probs.shape[1] - 1)


def _softmax_inputs(rng: np.random.Generator) -> list[tuple]:
    out = [(_normal(rng, 1), 1.0)]
    for scale, temperature in ((3.0, 0.3), (1.0, 2.5), (300.0, 0.05)):
        out.append((_normal(rng, *_sizes(rng, 2, 1, 8), scale=scale), temperature))
    out.append((_normal(rng, int(rng.integers(2, 9)), scale=5.0), float(rng.uniform(0.2, 4))))
    return out


def _lm_pair_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for n, L in ((2, 1), (int(rng.integers(5, 40)), 1)):
        out.append((rng.integers(0, 50, size=n), L))
    n = int(rng.integers(5, 40))
    out.append((rng.integers(0, 50, size=n), int(rng.integers(2, n))))
    return out


def _teacher_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(_normal(rng, N), _normal(rng, N, K))
            for N, K in ((1, 1), _sizes(rng, 2, 1, 7), _sizes(rng, 2, 2, 7))]


def _sample_inputs(rng: np.random.Generator) -> list[tuple]:
    out = []
    for N, V in ((1, 1), _sizes(rng, 2, 2, 9), _sizes(rng, 2, 2, 9)):
        p = rng.dirichlet(np.ones(V) * 0.7, size=N)
        out.append((p, rng.uniform(size=N) * 0.999999))
    p = np.tile([0.25, 0.25, 0.5], (3, 1))   # u exactly on a cumulative sum
    out.append((p, np.array([0.0, 0.25, 0.5])))
    return out


def build_many_to_many(input_dim: int, units: int, output_dim: int, *, feeds: list) -> dict:
    """LSTM(units, return_sequences=True) -> Dense(output_dim), linear: (N, T, D) -> (N, T, O)."""
    N, T, _ = feeds[0].shape
    return {"layers": [{"class": "LSTM", "units": units, "return_sequences": True},
                       {"class": "Dense", "units": output_dim, "activation": "linear"}],
            "layer_shapes": [(N, T, units), (N, T, output_dim)],
            "output_shapes": [(N, T, output_dim)],
            "params": count_params("lstm", input_dim, units) + units * output_dim + output_dim}


def _many_to_many_inputs(rng: np.random.Generator) -> list[tuple]:
    return [(1, 1, 1), tuple(int(n) for n in rng.integers(2, 9, size=3))]


# ---------------------------------------------------------------- the usual mistakes
# Each is the function a common slip amounts to; a wrong answer equal to one of them is
# named in the reason. Short and plain on purpose: they read like the mistake itself.
def _cell_variant(x, h, c, w, *, x_first=False, out_tanh=True, use_i=True, swap_fi=False):
    hx = np.concatenate([x, h] if x_first else [h, x])
    f_key, i_key = ("i", "f") if swap_fi else ("f", "i")
    f = sigmoid(w[f"W{f_key}"] @ hx + w[f"b{f_key}"])
    i = sigmoid(w[f"W{i_key}"] @ hx + w[f"b{i_key}"])
    g = np.tanh(w["Wc"] @ hx + w["bc"])
    o = sigmoid(w["Wo"] @ hx + w["bo"])
    c_new = f * c + (i * g if use_i else g)
    return (o * np.tanh(c_new) if out_tanh else o * c_new), c_new


def _gates_variant(x, h, W, U, b, *, perm=(0, 1, 2, 3), cand=np.tanh, use_x=True,
                   use_h=True, use_b=True):
    H = U.shape[0]
    a = (x @ W if use_x else 0.0) + (h @ U if use_h else 0.0) + (b if use_b else 0.0)
    blk = [a[:, p * H:(p + 1) * H] for p in perm]
    return {"i": sigmoid(blk[0]), "f": sigmoid(blk[1]), "g": cand(blk[2]), "o": sigmoid(blk[3])}


def _step_variant(x, h, c, W, U, b, *, out_tanh=True, use_i=True, swap=False, **gates):
    g = _gates_variant(x, h, W, U, b, **gates)
    c_new = g["f"] * c + (g["i"] * g["g"] if use_i else g["g"])
    h_new = g["o"] * np.tanh(c_new) if out_tanh else g["o"] * c_new
    return (c_new, h_new) if swap else (h_new, c_new)


_KERAS_LSTM = ("i", "f", "c", "o")
_PERMS = [p for p in __import__("itertools").permutations(range(4)) if p != (0, 1, 2, 3)]
_BLOCK_ORDERS = tuple(
    (f"the gate blocks read in the order ({', '.join(_KERAS_LSTM[k] for k in p)}); Keras' "
     "order is (i, f, c, o)", p) for p in _PERMS)
_GATE_SLIPS = (
    ("a candidate g computed with sigmoid; g uses tanh", {"cand": sigmoid}),
    ("a = x @ kernel + bias: the recurrent term h_prev @ recurrent_kernel is missing",
     {"use_h": False}),
    ("a = h_prev @ recurrent_kernel + bias: the input term x @ kernel is missing",
     {"use_x": False}),
    ("gates without the bias", {"use_b": False}),
)


def _gate_mistakes(variant) -> tuple:
    out = [(text, lambda *a, p=p: variant(*a, perm=p)) for text, p in _BLOCK_ORDERS]
    return tuple(out + [(text, lambda *a, kw=kw: variant(*a, **kw)) for text, kw in _GATE_SLIPS])


def _gru_variant(x, h, W, U, b, *, swap_z=False, order=(0, 1, 2), bias_rows=(0, 1)):
    H = U.shape[0]
    ax, ah = x @ W + b[bias_rows[0]], h @ U + b[bias_rows[1]]
    blk = lambda a, k: a[:, order[k] * H:(order[k] + 1) * H]  # noqa: E731
    z, r = sigmoid(blk(ax, 0) + blk(ah, 0)), sigmoid(blk(ax, 1) + blk(ah, 1))
    cand = np.tanh(blk(ax, 2) + r * blk(ah, 2))
    return (1 - z) * h + z * cand if swap_z else z * h + (1 - z) * cand


MISTAKES: dict[str, tuple] = {
    "rnn_step": (
        ("h_prev @ recurrent_kernel.T",
         lambda x, h, W, U, b: lstm_ref.rnn_step(x, h, W, U.T, b)),
        ("a step without the bias",
         lambda x, h, W, U, b: lstm_ref.rnn_step(x, h, W, U, np.zeros_like(b))),
        ("a step without the recurrent term h_prev @ recurrent_kernel",
         lambda x, h, W, U, b: lstm_ref.rnn_step(x, h, W, np.zeros_like(U), b)),
        ("sigmoid instead of tanh",
         lambda x, h, W, U, b: sigmoid(x @ W + h @ U + b))),
    "bptt_hidden_grads": (
        ("U instead of U.T", lambda hs, U, dh: bptt_hidden_grads(hs, U.T, dh)),
        ("the factor 1 - h**2 taken from hs[:, t-1] instead of hs[:, t]",
         lambda hs, U, dh: bptt_hidden_grads(np.roll(hs, 1, axis=1), U, dh))),
    "lstm_cell": (
        ("hx = [x, h_prev]; the weights act on [h_prev, x] (hidden state first)",
         lambda *a: _cell_variant(*a, x_first=True)),
        ("h = o * c; the new hidden state is o * tanh(c)",
         lambda *a: _cell_variant(*a, out_tanh=False)),
        ("c = f * c_prev + g; the candidate g is scaled by the input gate i",
         lambda *a: _cell_variant(*a, use_i=False)),
        ("the weights of f and i swapped", lambda *a: _cell_variant(*a, swap_fi=True))),
    "lstm_gates": _gate_mistakes(_gates_variant),
    "lstm_step": (
        ("h = o * c; the new hidden state is o * tanh(c)",
         lambda *a: _step_variant(*a, out_tanh=False)),
        ("c = f * c_prev + g; the candidate g is scaled by the input gate i",
         lambda *a: _step_variant(*a, use_i=False)),
        ("(c, h) returned; the order is (h, c)", lambda *a: _step_variant(*a, swap=True)),
        *_gate_mistakes(_step_variant)),
    "count_params": (
        ("a count without the biases",
         lambda kind, d, h: GATE_BLOCKS[kind] * h * (d + h)),
        ("a GRU with one bias vector; Keras' GRU (reset_after=True) has two",
         lambda kind, d, h: GATE_BLOCKS[kind] * h * (d + h + 1))),
    "gru_step": (
        ("h = (1 - z) * h_prev + z * candidate; Keras keeps h_prev where z is 1",
         lambda *a: _gru_variant(*a, swap_z=True)),
        ("the blocks read in the order r, z, h; Keras' order is z, r, h",
         lambda *a: _gru_variant(*a, order=(1, 0, 2))),
        ("the two bias rows swapped: bias[0] is the input's, bias[1] the recurrent one's",
         lambda *a: _gru_variant(*a, bias_rows=(1, 0)))),
    "create_sequences": (
        ("targets that are each window's last value; the target is the value after it",
         lambda d, L: (lstm_ref.create_sequences(d, L)[0], d[L - 1:len(d) - 1])),),
    "scale_train_test": (
        ("statistics of train and test together: the test part must not leak into them",
         lambda tr, te: scale_train_test(tr, te, stats_from=np.concatenate([tr, te]))),
        ("the sample standard deviation (ddof=1); use the population one (ddof=0)",
         lambda tr, te: scale_train_test(tr, te, ddof=1))),
    "persistence_forecast": (
        ("the first value of each window; persistence repeats the last one",
         lambda X: X[:, 0, 0]),),
    "binary_accuracy": (
        ("y_prob >= threshold; a probability equal to the threshold predicts 0",
         lambda y, p, t=0.5: float(np.mean((p.reshape(len(y)) >= t) == (y == 1)))),),
    "count_stack_params": (
        ("every layer reading input_dim features; layer k reads the previous layer's units",
         lambda d, units: int(sum(4 * h * (d + h + 1) for h in units))),),
    "stacked_output_shapes": (
        ("the last layer returning sequences too; it returns its last state only",
         lambda n, t, d, units: [(n, t, h) for h in units]),),
    "softmax_temperature": (
        ("logits multiplied by the temperature; divide them by it",
         lambda z, t: lstm_ref.softmax_temperature(z * t, 1.0)),),
    "lm_pairs": (
        ("targets equal to the inputs; the target is the slice shifted by one step",
         lambda ids, L: (lm_pairs(ids, L)[0], lm_pairs(ids, L)[0])),),
    "teacher_forcing_inputs": (
        ("the targets themselves: the decoder would read the value it must predict",
         lambda last, y: y),
        ("targets shifted left; the decoder reads the previous value, y_0 first",
         lambda last, y: np.concatenate([y[:, 1:], last[:, None]], axis=1))),
    "sample_from_probs": (
        ("the arg max (greedy decoding), not a draw", lambda p, u: p.argmax(axis=1)),
        ("cumsum >= u; a u equal to a cumulative sum picks the next symbol",
         lambda p, u: np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1),
                                 p.shape[1] - 1))),
}



#: names of the items of the tuples some functions return, for the reasons
OUTPUTS = {"lstm_cell": ("h", "c"), "lstm_step": ("h", "c"), "create_sequences": ("X", "y"),
           "scale_train_test": ("train_scaled", "test_scaled", "mean", "std"),
           "lm_pairs": ("X", "Y"), "clip_by_global_norm": ("clipped", "norm")}


# ---------------------------------------------------------------- the registry
#: assignment name -> its graded parts. ``grade_id`` is the part's test cell. Several
#: parts may share a grade_id (a cell that checks two functions); each must pass for that
#: cell to keep its points.
PARTS: dict[str, list[Part]] = {
    "ch01_vanishing_gradients": [
        Part("sigmoid_tests", "sigmoid", 2, _sigmoid_inputs, lstm_ref.sigmoid),
        Part("rnn_step_tests", "rnn_step", 2, lambda rng: _step_inputs(rng, 1),
             lstm_ref.rnn_step),
        Part("bptt_hidden_grads_tests", "bptt_hidden_grads", 3, _bptt_inputs,
             bptt_hidden_grads),
        Part("grad_norm_ratios_tests", "grad_norm_ratios", 2, _ratio_inputs,
             grad_norm_ratios),
        Part("clip_by_global_norm_tests", "clip_by_global_norm", 3, _clip_inputs,
             clip_by_global_norm, compare_nested),
    ],
    "ch02_lstm_cell": [
        Part("sigmoid_tests", "sigmoid", 2, _sigmoid_inputs, lstm_ref.sigmoid),
        Part("lstm_cell_tests", "lstm_cell", 3, _lstm_cell_inputs, lstm_ref.lstm_cell,
             uses=(("sigmoid", _cell_sigmoid_args),)),
        Part("lstm_gates_tests", "lstm_gates", 3, lambda rng: _step_inputs(rng, 4),
             lstm_gates, compare_mapping, uses=(("sigmoid", _gates_sigmoid_args),)),
        Part("lstm_step_tests", "lstm_step", 3,
             lambda rng: _step_inputs(rng, 4, with_c=True), lstm_ref.lstm_step,
             uses=(("lstm_gates", _step_gates_args),)),
        Part("count_params_tests", "count_params", 2, _count_inputs(("rnn", "lstm")),
             lstm_ref.count_params),
    ],
    "ch03_text_classification": [
        Part("make_vectorizer_tests", "make_vectorizer", 2, _vectorizer_inputs,
             make_vectorizer, compare_vectorizer, describe="vectorizer",
             feed=_vectorizer_feed),
        Part("build_model_tests", "build_model", 3, _build_model_inputs, build_model,
             compare_model, describe="model", feed=_build_model_feed),
        Part("binary_accuracy_tests", "binary_accuracy", 2, _accuracy_inputs,
             binary_accuracy, compare_nested),
        Part("majority_baseline_tests", "majority_baseline", 2, _majority_inputs,
             majority_baseline, compare_nested),
    ],
    "ch04_stacked_lstms": [
        Part("stacked_output_shapes_tests", "stacked_output_shapes", 2, _stack_shape_inputs,
             stacked_output_shapes, compare_exact),
        Part("count_stack_params_tests", "count_stack_params", 2, _stack_count_inputs,
             count_stack_params),
        Part("build_stacked_tests", "build_stacked", 3, _build_stacked_inputs, build_stacked,
             compare_model, describe="model", feed=_sequence_feed),
        Part("stacked_forward_tests", "stacked_forward", 3, _stack_forward_inputs,
             stacked_forward),
    ],
    "ch05_time_series": [
        Part("create_sequences_tests", "create_sequences", 3, _series_inputs,
             create_sequences),
        Part("scale_train_test_tests", "scale_train_test", 3, _split_inputs,
             scale_train_test, compare_nested),
        Part("metrics_tests", "rmse", 2, _metric_inputs, rmse, compare_nested),
        Part("metrics_tests", "mae", 2, _metric_inputs, mae, compare_nested),
        Part("persistence_forecast_tests", "persistence_forecast", 2, _window_inputs,
             persistence_forecast),
        Part("build_forecaster_tests", "build_forecaster", 2, _build_forecaster_inputs,
             build_forecaster, compare_model, describe="model", feed=_build_forecaster_feed),
    ],
    "ch06_gru": [
        Part("gru_step_tests", "gru_step", 4, lambda rng: _step_inputs(rng, 3, bias_rows=2),
             lstm_ref.gru_step),
        Part("gru_step_reset_before_tests", "gru_step_reset_before", 3,
             lambda rng: _step_inputs(rng, 3), gru_step_reset_before),
        Part("gru_sequence_tests", "gru_sequence", 2, _gru_sequence_inputs, gru_sequence,
             uses=(("gru_step", _sequence_step_args),)),
        Part("count_params_tests", "count_params", 2, _count_inputs(("rnn", "lstm", "gru")),
             lstm_ref.count_params),
    ],
    "ch07_sequence_outputs": [
        Part("softmax_temperature_tests", "softmax_temperature", 2, _softmax_inputs,
             lstm_ref.softmax_temperature),
        Part("lm_pairs_tests", "lm_pairs", 2, _lm_pair_inputs, lm_pairs, compare_exact_arrays),
        Part("teacher_forcing_inputs_tests", "teacher_forcing_inputs", 2, _teacher_inputs,
             teacher_forcing_inputs),
        Part("sample_from_probs_tests", "sample_from_probs", 2, _sample_inputs,
             sample_from_probs, compare_exact_arrays),
        Part("build_many_to_many_tests", "build_many_to_many", 3, _many_to_many_inputs,
             build_many_to_many, compare_model, describe="model", feed=_sequence_feed),
    ],
}


def earlier_parts(assignment: str) -> dict[str, list[tuple[str, str]]]:
    """grade_id -> [(function, its grade_id)] of the earlier parts it is meant to call."""
    owner = {p.function: p.grade_id for p in PARTS.get(assignment, [])}
    return {p.grade_id: [(f, owner[f]) for f, _ in p.uses if f in owner]
            for p in PARTS.get(assignment, []) if p.uses}


def reference_of(assignment: str, function: str) -> Callable[..., Any]:
    """The reference of the part of ``assignment`` that asks for ``function``."""
    return next(p.reference for p in PARTS[assignment] if p.function == function)
