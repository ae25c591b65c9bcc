"""The seven nbgrader assignments: metadata, released exercises, test helpers, checks.

Most tests read the notebooks as JSON and run no kernel. The tests of the declared
parts (course_grader/parts.py) execute the setup and solution cells in this process.
The validator tests at the end start one Jupyter kernel per notebook, as the Validate
button does (``nbgrader validate`` always exits 0, so its API is used); the Keras
notebooks among them carry the ``keras`` marker.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_grader import checks, notebook_checks
from course_grader.notebook_checks import checks_block
from course_grader.parts import PARTS

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("ch01_vanishing_gradients", "ch02_lstm_cell", "ch03_text_classification",
               "ch04_stacked_lstms", "ch05_time_series", "ch06_gru", "ch07_sequence_outputs")
KERAS_ASSIGNMENTS = {"ch03_text_classification", "ch04_stacked_lstms", "ch05_time_series",
                     "ch07_sequence_outputs"}

SOLUTION = re.compile(r"^ *### BEGIN SOLUTION\n(.*?)^ *### END SOLUTION\n?", re.S | re.M)
POINTS_HEADING = re.compile(r"^## Part \d+: .*\((\d+) points?\)\s*$", re.M)


def solution_path(name: str) -> Path:
    return ROOT / "solutions" / name / f"{name}.ipynb"


def exercise_path(name: str) -> Path:
    return ROOT / "exercises" / name / f"{name}.ipynb"


def read(path: Path):
    return nbformat.read(str(path), as_version=4)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def graded(nb) -> list:
    return [c for c in nb.cells if meta(c).get("grade")]


def solution_cells(nb) -> list:
    return [c for c in nb.cells if meta(c).get("solution")]


@contextmanager
def lstm_ref_restored():
    """The setup cells block ``lstm_ref`` through sys.modules: undo that afterwards."""
    saved = sys.modules.get("lstm_ref")
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop("lstm_ref", None)
        else:
            sys.modules["lstm_ref"] = saved


def namespace_of(nb) -> dict:
    """Run the setup cell and every solution cell of ``nb`` here and return their
    namespace (the functions the grader calls in the student's kernel)."""
    ns: dict = {"__name__": "__assignment__"}
    with lstm_ref_restored():
        for cell in code_cells(nb):
            if meta(cell).get("grade_id") == "setup" or meta(cell).get("solution"):
                exec(compile(cell.source, meta(cell)["grade_id"], "exec"), ns)
    return ns


# ---------------------------------------------------------------- layout and metadata
def test_assignment_folders_hold_one_notebook_each() -> None:
    for top in ("solutions", "exercises"):
        names = sorted(p.name for p in (ROOT / top).iterdir() if not p.name.startswith("."))
        assert names == sorted(ASSIGNMENTS), f"{top}/ holds {names}"
        for name in ASSIGNMENTS:
            files = [p.name for p in (ROOT / top / name).iterdir()
                     if p.name != ".ipynb_checkpoints"]
            assert files == [f"{name}.ipynb"], f"{top}/{name} holds {files}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_metadata(name: str) -> None:
    nb = read(solution_path(name))
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown", "the notebook starts with a Markdown title"
    assert nb.cells[0].source.startswith("# Assignment"), "the title is '# Assignment ...'"
    cells = [c for c in nb.cells if meta(c)]
    ids = [meta(c).get("grade_id") for c in cells]
    assert all(ids), f"grade_ids missing: {ids}"
    assert len(set(ids)) == len(ids), f"grade_ids repeated: {ids}"
    for c in cells:
        m = meta(c)
        assert c.cell_type == "code", f"{m['grade_id']}: nbgrader cells are code cells here"
        assert m.get("schema_version") == 3, f"{m['grade_id']}: schema_version"
        if m.get("solution"):
            assert (m["grade"], m["locked"]) == (False, False), m
            assert SOLUTION.search(c.source), f"{m['grade_id']}: no solution region"
        elif m.get("grade"):
            assert (m["solution"], m["locked"]) == (False, True), m
            assert isinstance(m.get("points"), int), m
            assert m["points"] > 0, m
        else:
            assert (m["locked"], m["grade"]) == (True, False), m
    first_code = code_cells(nb)[0]
    assert meta(first_code).get("grade_id") == "setup", "the first code cell is the setup"

    tests = graded(nb)
    assert 3 <= len(tests) <= 6, f"{len(tests)} graded parts"
    order = [meta(c)["grade_id"] for c in cells]
    for sol in solution_cells(nb):
        gid = meta(sol)["grade_id"]
        assert f"{gid}_tests" in order, f"solution cell {gid} has no test cell {gid}_tests"
        assert order.index(f"{gid}_tests") > order.index(gid), f"{gid}_tests comes first"
    assert len(solution_cells(nb)) == len(tests), "one solution cell and one test cell a part"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_checker_helpers_are_out_of_the_way(name: str) -> None:
    """The setup cell (imports and ~90 lines of checkers) is collapsed in the release, and
    the notebook's first cell says what it holds and how to open it."""
    nb = read(exercise_path(name))
    setup = [c for c in nb.cells if meta(c).get("grade_id") == "setup"]
    assert len(setup) == 1, "one setup cell"
    assert setup[0].metadata.get("jupyter", {}).get("source_hidden") is True, (
        "the setup cell is not collapsed (metadata jupyter.source_hidden)")
    assert "**setup**, is collapsed" in nb.cells[0].source, "the first cell does not say so"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hints_are_opened_on_purpose(name: str) -> None:
    """The task, the shapes and an example stay in each function's docstring; the
    step-by-step approach and the hints sit in a collapsed <details> block just before it,
    so a learner who wants to try first does not read the recipe by accident."""
    nb = read(exercise_path(name))
    for k, cell in enumerate(nb.cells):
        if not (cell.cell_type == "code" and meta(cell).get("solution")):
            continue
        gid = meta(cell)["grade_id"]
        assert "TODO" in cell.source, f"{gid}: the docstring states no task"
        assert "Example" in cell.source, f"{gid}: the docstring gives no example"
        for section in ("Approach:", "Hint:"):
            assert section not in cell.source, f"{gid}: the docstring still has {section!r}"
        before = nb.cells[k - 1]
        assert before.cell_type == "markdown", f"{gid}: no hints cell before the function"
        text = before.source.strip()
        assert text.startswith("<details>"), f"{gid}: the hints are not collapsed (<details>)"
        assert text.endswith("</details>"), f"{gid}: the <details> block is not closed"
        assert "<summary>" in text, f"{gid}: the hints have no title"
        assert "**Approach**" in text, f"{gid}: the hints have no approach"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_test_cells_hold_visible_checks_only_and_each_has_one_declaration(name: str) -> None:
    """Hidden tests and their reference code left the notebooks: each test cell is a
    docstring and the learner's visible checks, and each is declared in PARTS (its function,
    its points) exactly once, so the grader checks every part outside the kernel."""
    declared: dict[str, set] = {}
    for part in PARTS[name]:
        declared.setdefault(part.grade_id, set()).add(part.points)
    cells = graded(read(solution_path(name)))
    assert sorted(declared) == sorted(meta(c)["grade_id"] for c in cells)
    for cell in cells:
        gid = meta(cell)["grade_id"]
        first = cell.source.splitlines()[0]
        assert re.fullmatch(r'""".+"""', first), f"{gid}: first line is not a one-line docstring"
        assert any(line.strip() for line in cell.source.splitlines()[1:]), (
            f"{gid}: no visible check")
        for marker in ("HIDDEN TESTS", "def _hidden", "new_seed", "lstm_ref"):
            assert marker not in cell.source, f"{gid}: test cell holds {marker!r}"
        assert declared[gid] == {meta(cell)["points"]}, (
            f"{gid}: PARTS declares {declared[gid]} points, the notebook {meta(cell)['points']}")
    names = [(p.grade_id, p.function) for p in PARTS[name]]
    assert len(set(names)) == len(names), f"{name}: a part is declared twice"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_cell_imports_lstm_ref(name: str) -> None:
    for cell in code_cells(read(solution_path(name))):
        assert not re.search(r"^\s*(import|from)\s+lstm_ref", cell.source, re.M), cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_setup_cell_carries_the_checks_and_blocks_lstm_ref(name: str) -> None:
    setup = code_cells(read(solution_path(name)))[0].source
    assert checks_block() in setup, "the setup cell's helpers differ from notebook_checks.py"
    assert 'sys.modules["lstm_ref"] = None' in setup
    assert "keras" not in setup, "Keras belongs in a later read-only cell (unit tests skip it)"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_notebooks_have_no_outputs(name: str) -> None:
    for cell in code_cells(read(solution_path(name))):
        assert not cell.outputs
        assert cell.execution_count is None


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_headings_announce_the_points_of_the_test_cells(name: str) -> None:
    nb = read(solution_path(name))
    announced = [int(p) for c in nb.cells if c.cell_type == "markdown"
                 for p in POINTS_HEADING.findall(c.source)]
    assert announced == [meta(c)["points"] for c in graded(nb)]


# ---------------------------------------------------------------- released exercises
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_released_exercise_says_how_to_hand_it_in(name: str) -> None:
    """The first cell tells the learner how to submit, on the hub and without one, under the
    file name the grader looks for."""
    first = read(exercise_path(name)).cells[0]
    assert first.cell_type == "markdown", f"{name}: the first cell is not the introduction"
    text = first.source
    assert "**Handing it in.**" in text, f"{name}: the introduction says nothing about handing in"
    for needed in ("Assignment List", "**Submit**", f"`{name}.ipynb`", "make lab"):
        assert needed in text, f"{name}: the hand-in note lacks {needed!r}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_released_exercise_hides_solutions_and_hidden_tests(name: str) -> None:
    source, released = read(solution_path(name)), read(exercise_path(name))
    text = exercise_path(name).read_text()
    for marker in ("HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"):
        assert marker not in text, f"the released exercise contains {marker}"
    by_id = {meta(c)["grade_id"]: c for c in released.cells if meta(c)}
    assert list(by_id) == [meta(c)["grade_id"] for c in source.cells if meta(c)]
    for cell in solution_cells(source):
        stub = by_id[meta(cell)["grade_id"]].source
        assert "raise NotImplementedError()" in stub
        stub = re.sub(r'""".*?"""', "", stub, flags=re.S)  # docstrings may show the approach
        for body in SOLUTION.findall(cell.source):
            for line in body.splitlines():
                if len(line.strip()) > 12:
                    assert line.strip() not in stub, f"solution code released: {line.strip()}"
    for cell in graded(source):
        assert by_id[meta(cell)["grade_id"]].source.strip() == cell.source.strip()


# ---------------------------------------------------------------- the test helpers
def test_checks_reject_lists_broadcasting_nan_and_wrong_dtype() -> None:
    c = notebook_checks
    want = np.array([[0.25, -1.5, 3.0]])
    c.check_close("h", want.copy(), want)
    for got, fragment in (([[0.25, -1.5, 3.0]], "is a list"),
                          (want[0], "shape (3,) but expected (1, 3)"),
                          (np.broadcast_to(want, (2, 3)).copy(), "shape (2, 3)"),
                          (np.array([[0.25, np.nan, 3.0]]), "NaN"),
                          (np.array([[1, 2, 3]]), "dtype int64"),
                          (want + 0.1, "max abs error 1.0e-01")):
        with pytest.raises(AssertionError, match=re.escape(fragment)):
            c.check_close("h", got, want, "for x (1, 2)")
    with pytest.raises(AssertionError, match="expected float32"):
        c.check_close("h", want, want, dtype=np.float32)
    with pytest.raises(AssertionError, match="is a bool"):
        c.check_int("n", True, 1)
    with pytest.raises(AssertionError, match="expected a tuple"):
        c.check_tuple("f", [1, 2], 2)
    with pytest.raises(AssertionError, match="raised nothing"):
        c.check_raises("f()", lambda: None)
    with pytest.raises(AssertionError, match="raised KeyError, expected ValueError"):
        c.check_raises("f()", lambda: {}["k"])
    assert c.shapes(x=np.zeros((3, 2)), h=np.zeros(4)) == "x (3, 2), h (4,)"


def test_check_messages_never_show_the_expected_values() -> None:
    c = notebook_checks
    want = np.array([0.123456789, 98.7654321])
    for call in (lambda: c.check_close("y", np.array([0.5, 1.5]), want, "on input z"),
                 lambda: c.check_number("s", 0.5, 0.123456789),
                 lambda: c.check_int("n", 3, 98765)):
        with pytest.raises(AssertionError) as info:
            call()
        message = str(info.value)
        for secret in ("0.12", "98.7", "98765", "1.23e-01", "9.88e+01"):
            assert secret not in message, f"{message!r} reveals {secret}"


# ---------------------------------------------------------------- the declared parts
def test_every_part_points_at_a_graded_cell_and_a_defined_function() -> None:
    assert set(PARTS) <= set(ASSIGNMENTS)
    for name, parts in PARTS.items():
        nb = read(solution_path(name))
        tests = {meta(c)["grade_id"] for c in graded(nb)}
        defined = "\n".join(c.source for c in solution_cells(nb))
        for part in parts:
            assert part.grade_id in tests, f"{name}: {part.grade_id} is not a graded cell"
            assert re.search(rf"^def {part.function}\(", defined, re.M), (
                f"{name}: no solution cell defines {part.function}")


def perturbed(value):
    """A slightly wrong copy of a reference result, of the same structure."""
    if isinstance(value, np.ndarray):
        return value + 1e-2 if value.size else value
    if isinstance(value, (tuple, list)):
        out = [perturbed(v) for v in value]
        return type(value)(out)
    if isinstance(value, dict):
        return {k: perturbed(v) for k, v in value.items()}
    if value is None:
        return 1
    if isinstance(value, (int, np.integer)):
        return value + 1
    return float(value) + 1e-2


def _result(ns: dict, part, args: tuple, feeds: list):
    """What the probe sends back for one call, computed here (describe parts need Keras)."""
    from course_grader import probe

    got = ns[part.function](*copy.deepcopy(args))
    if part.describe:
        got = probe.DESCRIBE[part.describe](got, feeds)
    return probe.decode(json.loads(json.dumps(probe.encode(got))))


def _want(part, args: tuple, feeds: list):
    return (part.reference(*copy.deepcopy(args), feeds=feeds) if part.feed
            else part.reference(*copy.deepcopy(args)))


@pytest.mark.parametrize("name", sorted(PARTS))
def test_solutions_pass_the_checks_and_wrong_answers_fail(name: str) -> None:
    """Every declared part: the solution's answer, sent through the probe's codec, passes
    its comparator on three seeds' inputs, and a slightly wrong answer does not."""
    ns = namespace_of(read(solution_path(name)))
    if any(p.describe for p in PARTS[name]):
        import keras

        ns["keras"] = keras
    for seed in (20240607, 1, 2):
        for gid, calls in checks.plan(name, seed).items():
            for call in calls:
                part = call.part
                got, want = _result(ns, part, call.args, call.feeds), _want(
                    part, call.args, call.feeds)
                assert part.compare(got, want) is None, (gid, part.compare(got, want))
                if not part.describe:
                    assert part.compare(perturbed(want), want), f"{part.function}: perturbed"


def test_model_checks_name_the_mistake() -> None:
    """The Keras parts' comparator catches the usual mistakes and says which."""
    import keras

    from course_grader import parts, probe

    feeds = [np.array([[3, 1, 0, 0]], dtype="int32"), np.array([[3, 1]], dtype="int32")]
    want = parts.build_model(5, 2, 3, feeds=feeds)

    def model(*layers):
        m = keras.Sequential(list(layers))
        m.build((None, None))
        return probe.describe_model(m, feeds)

    good = model(keras.layers.Embedding(5, 2, mask_zero=True), keras.layers.LSTM(3),
                 keras.layers.Dense(1, activation="sigmoid"))
    assert parts.compare_model(good, want) is None
    no_mask = model(keras.layers.Embedding(5, 2), keras.layers.LSTM(3),
                    keras.layers.Dense(1, activation="sigmoid"))
    assert "mask_zero" in parts.compare_model(no_mask, want)
    linear = model(keras.layers.Embedding(5, 2, mask_zero=True), keras.layers.LSTM(3),
                   keras.layers.Dense(1))
    assert "activation" in parts.compare_model(linear, want)
    gru = model(keras.layers.Embedding(5, 2, mask_zero=True), keras.layers.GRU(3),
                keras.layers.Dense(1, activation="sigmoid"))
    assert "the layers are" in parts.compare_model(gru, want)
    assert "expected a Keras model" in parts.compare_model({"type": "list"}, want)


@pytest.mark.parametrize("seed", range(6))
def test_vectorizer_reference_is_keras_text_vectorization(seed: int) -> None:
    """make_vectorizer's plain-Python reference agrees with Keras on the graded inputs."""
    import keras

    from course_grader import parts, probe

    rng = np.random.default_rng(seed)
    (texts, max_tokens, seq_len), = parts._vectorizer_inputs(rng)
    feeds = parts._vectorizer_feed(rng, (texts,))
    layer = keras.layers.TextVectorization(max_tokens=max_tokens,
                                           output_sequence_length=seq_len)
    layer.adapt(texts)
    got = probe.describe_vectorizer(layer, feeds)
    want = parts.make_vectorizer(texts, max_tokens, seq_len, feeds=feeds)
    assert parts.compare_vectorizer(got, want) is None
    wrong = keras.layers.TextVectorization(max_tokens=max_tokens + 1,
                                           output_sequence_length=seq_len + 1)
    wrong.adapt(texts)
    assert parts.compare_vectorizer(probe.describe_vectorizer(wrong, feeds), want)


@pytest.mark.parametrize("name", sorted(PARTS))
def test_released_stubs_fail_every_check(name: str) -> None:
    ns = namespace_of(read(exercise_path(name)))
    rng = np.random.default_rng(7)
    for part in PARTS[name]:
        with pytest.raises(NotImplementedError):
            ns[part.function](*part.make_inputs(rng)[0])


def test_bptt_reference_agrees_with_lstm_ref_state_gradient_norms() -> None:
    import lstm_ref
    from course_grader import parts

    rng = np.random.default_rng(3)
    N, T, D, H = 4, 12, 2, 5
    x = rng.standard_normal((N, T, D))
    W, U, b = lstm_ref.init_weights("rnn", D, H, rng=rng)
    U = 1.5 * U
    hs, _ = lstm_ref.rnn_forward(x, W, U, b)
    v = np.random.default_rng(11).standard_normal(H)
    dh_last = np.tile(v / np.linalg.norm(v), (N, 1))
    ratios = parts.grad_norm_ratios(parts.bptt_hidden_grads(hs, U, dh_last))
    want = lstm_ref.state_gradient_norms("rnn", x, W, U, b, rng=11)["h"]
    np.testing.assert_allclose(ratios, want, rtol=1e-9)


@pytest.mark.keras
def test_keras_agrees_with_the_references_that_lstm_ref_lacks(keras) -> None:
    from course_grader import parts

    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 2)).astype("float32")
    gru = keras.layers.GRU(4, reset_after=False, return_sequences=True)
    gru.build((None, 6, 2))
    W, U, b = gru.get_weights()
    gru.set_weights([W, U, rng.standard_normal(b.shape).astype("float32")])
    W, U, b = (w.astype(np.float64) for w in gru.get_weights())
    h, hs = np.zeros((3, 4)), []
    for t in range(6):
        h = parts.gru_step_reset_before(x[:, t].astype(np.float64), h, W, U, b)
        hs.append(h)
    np.testing.assert_allclose(np.stack(hs, axis=1), np.asarray(gru(x)), atol=1e-5)

    stack = keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.LSTM(3)])
    weights = [tuple(w.astype(np.float64) for w in layer.get_weights())
               for layer in stack.layers]
    np.testing.assert_allclose(parts.stacked_forward(x.astype(np.float64), weights),
                               np.asarray(stack(x)), atol=1e-5)


# ---------------------------------------------------------------- kernels: the Validate button
def _validate(path: Path) -> dict:
    from nbgrader.validator import Validator

    return Validator().validate(str(path))


def _kernel_params():
    return [pytest.param(n, marks=pytest.mark.keras) if n in KERAS_ASSIGNMENTS else n
            for n in ASSIGNMENTS]


@pytest.mark.parametrize("name", _kernel_params())
def test_solution_passes_validation(name: str) -> None:
    result = _validate(solution_path(name))
    assert result == {}, {k: [c.get("error", "")[:500] for c in v] for k, v in result.items()}


@pytest.mark.parametrize("name", _kernel_params())
def test_released_exercise_fails_validation_in_every_part(name: str) -> None:
    """Every part fails, and the Validate dialog shows each failure as one line (no
    traceback: the setup cell turns them off while nbgrader validates)."""
    result = _validate(exercise_path(name))
    assert set(result) == {"failed"}, sorted(result)
    assert len(result["failed"]) == len(graded(read(exercise_path(name))))
    for failure in result["failed"]:
        error = re.sub(r"\x1b\[[0-9;]*m", "", failure["raw_error"]).strip()
        assert error.startswith("NotImplementedError"), error[:300]
        assert "Traceback" not in error, error[:300]
        assert len(error.splitlines()) <= 2, error[:300]


# ---------------------------------------------------------------- visible tests catch mistakes
_GATES = "a = x @ kernel + h_prev @ recurrent_kernel + bias"
LSTM_GATES_MISTAKES = {
    "recurrent term left out": (_GATES, "a = x @ kernel + bias", "leaves out h_prev @ recurrent"),
    "input term left out": (_GATES, "a = h_prev @ recurrent_kernel + bias",
                            "leaves out x @ kernel"),
    "bias left out": (_GATES, "a = x @ kernel + h_prev @ recurrent_kernel", "gate i"),
    "blocks i and f swapped": ('"i": sigmoid(a[:, :H]), "f": sigmoid(a[:, H:2 * H])',
                               '"f": sigmoid(a[:, :H]), "i": sigmoid(a[:, H:2 * H])', "gate i"),
    "sigmoid for tanh": ('"g": np.tanh(a[:, 2 * H:3 * H])', '"g": sigmoid(a[:, 2 * H:3 * H])',
                         "gate g"),
}


def _run_visible_until(name: str, part: str, edit: tuple[str, str] | None) -> str:
    """Run the setup, solution and visible test cells of ``name`` in this process, up to and
    including ``part``'s test cell, with ``edit`` applied to that part's solution; return
    'pass' or the AssertionError message of ``part``'s visible test."""
    scope: dict = {}
    for cell in code_cells(read(solution_path(name))):
        source = cell.source
        if edit and meta(cell).get("grade_id") == part:
            assert edit[0] in source, f"the mistake {edit[0]!r} no longer applies to {part}"
            source = source.replace(*edit)
        try:
            exec(compile(source, meta(cell).get("grade_id", "cell"), "exec"), scope)
        except AssertionError as err:
            if meta(cell).get("grade_id") == f"{part}_tests":
                return str(err)
            raise
        if meta(cell).get("grade_id") == f"{part}_tests":
            return "pass"
    raise AssertionError(f"no test cell {part}_tests in {name}")


@pytest.mark.parametrize("mistake", sorted(LSTM_GATES_MISTAKES))
def test_visible_lstm_gates_test_catches_the_usual_mistakes(mistake: str) -> None:
    """Each usual mistake in ch02's lstm_gates fails already in Validate (its visible test),
    with a message that names the gate or the term left out."""
    assert _run_visible_until("ch02_lstm_cell", "lstm_gates", None) == "pass"
    old, new, says = LSTM_GATES_MISTAKES[mistake]
    message = _run_visible_until("ch02_lstm_cell", "lstm_gates", (old, new))
    assert message != "pass", f"the visible test of lstm_gates passes with the {mistake}"
    assert says in message, f"{mistake}: the message {message!r} does not say {says!r}"


# The usual mistakes in the other step functions: each must already fail Validate (the
# visible test), at the function's output, saying on which example.
STEP_MISTAKES = {
    ("ch01_vanishing_gradients", "rnn_step"): {
        "recurrent term left out": ("x @ kernel + h_prev @ recurrent_kernel + bias",
                                    "x @ kernel + bias"),
        "bias left out": ("x @ kernel + h_prev @ recurrent_kernel + bias",
                          "x @ kernel + h_prev @ recurrent_kernel"),
        "recurrent kernel transposed": ("h_prev @ recurrent_kernel + bias",
                                        "h_prev @ recurrent_kernel.T + bias"),
        "sigmoid for tanh": ("np.tanh(x @ kernel", "sigmoid(x @ kernel"),
    },
    ("ch02_lstm_cell", "lstm_cell"): {
        "x first in the concatenation": ("np.concatenate([h_prev, x])",
                                         "np.concatenate([x, h_prev])"),
        "h = o * c": ("h = o * np.tanh(c)", "h = o * c"),
        "input gate left out": ("c = f * c_prev + i * g", "c = f * c_prev + g"),
        "f and i weights swapped": ('f = sigmoid(weights["Wf"] @ hx + weights["bf"])',
                                    'f = sigmoid(weights["Wi"] @ hx + weights["bi"])'),
    },
    ("ch02_lstm_cell", "lstm_step"): {
        "h = o * c": ('h = gates["o"] * np.tanh(c)', 'h = gates["o"] * c'),
        "input gate left out": ('c = gates["f"] * c_prev + gates["i"] * gates["g"]',
                                'c = gates["f"] * c_prev + gates["g"]'),
        "(c, h) returned for (h, c)": ("return h, c", "return c, h"),
    },
    ("ch06_gru", "gru_step"): {
        "z and 1 - z swapped": ("return z * h_prev + (1.0 - z) * cand",
                                "return (1.0 - z) * h_prev + z * cand"),
        "reset gate outside the product's bias": ("r * ah[:, 2 * H:]",
                                                  "r * (ah[:, 2 * H:] - bias[1][2 * H:]) "
                                                  "+ bias[1][2 * H:]"),
        "blocks z and r swapped": ("z = sigmoid(ax[:, :H] + ah[:, :H])",
                                   "z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])"),
        "bias rows swapped": ("ax = x @ kernel + bias[0]", "ax = x @ kernel + bias[1]"),
    },
}


@pytest.mark.parametrize(("name", "part", "mistake"), [
    (name, part, m) for (name, part), ms in STEP_MISTAKES.items() for m in sorted(ms)])
def test_visible_step_tests_catch_the_usual_mistakes(name: str, part: str, mistake: str) -> None:
    """rnn_step, lstm_cell, lstm_step and gru_step: each usual mistake fails Validate, and the
    message names the function's output and the example it failed on."""
    assert _run_visible_until(name, part, None) == "pass"
    message = _run_visible_until(name, part, STEP_MISTAKES[(name, part)][mistake])
    assert message != "pass", f"the visible test of {part} passes with the {mistake}"
    assert message.startswith(f"{part}"), message
    assert any(w in message for w in ("example", "with ", "on ")), message


# Chapter 7's usual mistakes: each fails Validate already, and the message says which.
SEQUENCE_MISTAKES = {
    ("softmax_temperature", "multiplied by the temperature"): (
        ("s = np.asarray(logits) / temperature", "s = np.asarray(logits) * temperature"),
        "must sharpen"),
    ("softmax_temperature", "largest logit not subtracted"): (
        ("e = np.exp(s - s.max(axis=-1, keepdims=True))", "e = np.exp(s)"),
        "subtract the largest logit"),
    ("softmax_temperature", "summed over the whole batch"): (
        ("return e / e.sum(axis=-1, keepdims=True)", "return e / e.sum()"), "row sums"),
    ("lm_pairs", "target not shifted"): (
        ("Y = np.stack([ids[s + 1:s + 1 + seq_len] for s in range(S)])", "Y = X.copy()"),
        "shifted by one step"),
    ("teacher_forcing_inputs", "targets fed as decoder inputs"): (
        ("return np.concatenate([last_value[:, None], targets[:, :-1]], axis=1)",
         "return targets.copy()"), "shift them right"),
    ("teacher_forcing_inputs", "targets shifted left"): (
        ("return np.concatenate([last_value[:, None], targets[:, :-1]], axis=1)",
         "return np.concatenate([targets[:, 1:], last_value[:, None]], axis=1)"),
        "shifted left"),
    ("sample_from_probs", "arg max instead of a draw"): (
        ("k = (cdf <= u[:, None]).sum(axis=1)", "k = probs.argmax(axis=1)"), "arg max"),
    ("sample_from_probs", "u equal to a cumulative sum stays"): (
        ("k = (cdf <= u[:, None]).sum(axis=1)", "k = (cdf < u[:, None]).sum(axis=1)"),
        "picks the next symbol"),
    ("build_many_to_many", "LSTM returns only its last state"): (
        ("keras.layers.LSTM(units, return_sequences=True)", "keras.layers.LSTM(units)"),
        "return_sequences=True"),
}


@pytest.mark.parametrize(("part", "mistake"), sorted(SEQUENCE_MISTAKES))
def test_visible_sequence_tests_catch_the_usual_mistakes(part: str, mistake: str) -> None:
    """ch07_sequence_outputs: the unshifted target, the decoder reading its own answer, the
    temperature that flattens, the greedy draw: each fails Validate and says so."""
    name = "ch07_sequence_outputs"
    if part == "build_many_to_many":
        pytest.importorskip("keras")
    assert _run_visible_until(name, part, None) == "pass"
    edit, fragment = SEQUENCE_MISTAKES[(part, mistake)]
    with np.errstate(over="ignore", invalid="ignore"):  # a notebook only prints these
        message = _run_visible_until(name, part, edit)
    assert message != "pass", f"the visible test of {part} passes with the {mistake}"
    assert fragment in message, message


def test_the_grader_names_each_usual_mistake() -> None:
    """Every mistake declared in parts.MISTAKES is recognised by the grader's check on the
    inputs it draws (for at least one of three seeds) and named in the reason, wherever it
    can differ from the right answer (a GRU's bias count, not in ch02's LSTM-only part)."""
    from course_grader import probe

    recognised = set()
    for name in PARTS:
        named: dict[tuple[str, str], bool] = {}
        for seed in (0, 1, 2):
            for calls in checks.plan(name, seed).values():
                for call in calls:
                    for text, mistake in call.part.mistakes:
                        key = (call.part.function, text)
                        wrong = mistake(*copy.deepcopy(call.args))
                        msg = {"call": 0, "result": probe.encode(wrong), "mutated": []}
                        reason = checks._reason(call, msg, "")
                        if reason is not None:
                            named.setdefault(key, False)
                            assert reason == f"it matches {text}" or not reason.startswith(
                                "it matches"), (key, reason)
                            named[key] |= reason == f"it matches {text}"
        missed = [k for k, ok in named.items() if not ok]
        assert not missed, f"{name}: never recognised: {missed}"
        recognised |= set(named)
    from course_grader.parts import MISTAKES

    declared = {(f, text) for f, ms in MISTAKES.items() for text, _ in ms}
    assert declared == recognised, sorted(declared - recognised)


def _probe_here(monkeypatch, ns: dict, calls: list) -> dict:
    """Run the probe cell the grader sends, in ``ns`` (this process), and read it back."""
    import IPython.display

    out: list = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kw: out.append(
        {"output_type": "display_data", "data": data}))
    exec(checks.probe_cell(calls, 20), ns)
    return checks.read_results(out)


@pytest.mark.parametrize(("name", "broken", "later"), [
    ("ch02_lstm_cell", "sigmoid", "lstm_cell_tests"),
    ("ch02_lstm_cell", "sigmoid", "lstm_gates_tests"),
    ("ch02_lstm_cell", "lstm_gates", "lstm_step_tests"),
    ("ch06_gru", "gru_step", "gru_sequence_tests"),
])
def test_a_later_part_is_judged_on_its_own_code(monkeypatch, name, broken, later) -> None:
    """With the earlier function broken, the later part (the solution's) still passes the
    grader's check, because the earlier part's reference answers its calls; afterwards the
    learner's own (broken) function is back in place."""
    ns = namespace_of(read(solution_path(name)))
    right = ns[broken]

    def wrong(*args):
        out = right(*args)
        return {k: v * 1.5 for k, v in out.items()} if isinstance(out, dict) else out * 1.5

    ns[broken] = wrong
    calls = checks.plan(name, 11)
    got = _probe_here(monkeypatch, ns, calls[later])
    assert checks.judge({later: calls[later]}, {later: got}, {}, 11) == {}
    assert ns[broken] is wrong
    owner = next(p.grade_id for p in PARTS[name] if p.function == broken)
    got = _probe_here(monkeypatch, ns, calls[owner])
    assert owner in checks.judge({owner: calls[owner]}, {owner: got}, {}, 11)
