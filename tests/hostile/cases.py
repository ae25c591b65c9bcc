"""Hostile (and honest) submissions of ch02_lstm_cell for the grading tests.

Each case builds one student's folder in a temporary course and says what that student
must score: exactly what its honest work earns. Points of ch02_lstm_cell's test cells:
sigmoid_tests 2, lstm_cell_tests 3, lstm_gates_tests 3, lstm_step_tests 3,
count_params_tests 2 (13 in all).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

import nbformat

from course_grader import classroom

A = "ch02_lstm_cell"
#: The student whose grading meets an injected grader fault (COURSE_GRADER_INJECT_FAULT).
FAULT = "fault_injected"
REPO = classroom.REPO


@dataclass
class Case:
    student: str
    build: object                     # (course) -> None
    earns: list[str]                  # grade_ids whose points the honest work earns
    status: str = "graded"
    about: str = ""
    extra: dict = field(default_factory=dict)


def _code(src: str):
    return nbformat.v4.new_code_cell(src)


def _set_solution(nb, gid: str, src: str) -> None:
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == gid:
            c.source = src
            return
    raise KeyError(gid)


def _insert_after(nb, gid: str, cell) -> None:
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == gid:
            nb.cells.insert(i + 1, cell)
            return
    raise KeyError(gid)


def _full(course):
    return copy.deepcopy(classroom.partial(
        course, A, ["sigmoid", "lstm_cell", "lstm_gates", "lstm_step", "count_params"]))


# ------------------------------------------------------------------ honest work
def solution(course):
    classroom.submit(course, "honest_solution", A, classroom.read(course, "solutions", A))


def untouched(course):
    classroom.submit(course, "honest_untouched", A, classroom.read(course, "exercises", A))


def partial_work(course):
    classroom.submit(course, "honest_partial", A, classroom.partial(course, A,
                                                                    ["sigmoid", "lstm_cell"]))


# ------------------------------------------------------------------ hostile
def monkeypatch(course):
    """Honest sigmoid; every other part neuters numpy, the test helpers and lstm_ref."""
    nb = classroom.partial(course, A, ["sigmoid"])
    _set_solution(nb, "lstm_cell", (
        "import sys, types\nimport numpy as np\n"
        "np.allclose = lambda *a, **k: True\nnp.max = lambda *a, **k: 0.0\n"
        "np.isfinite = lambda *a, **k: np.array(True)\n"
        "for _n in ('check_close', 'check_array', 'check_int', 'check_tuple', "
        "'check_number', 'check_raises', 'shapes'):\n"
        "    globals()[_n] = lambda *a, **k: None\n"
        "check_close = check_array = check_int = check_tuple = lambda *a, **k: None\n"
        "sys.modules['lstm_ref'] = types.SimpleNamespace(lstm_cell=lambda *a: a[1:3])\n"
        "def lstm_cell(x, h_prev, c_prev, weights):\n    return h_prev, c_prev\n"))
    _set_solution(nb, "lstm_gates", "def lstm_gates(x, h_prev, kernel, recurrent_kernel, "
                  "bias):\n    return {}\n")
    _set_solution(nb, "lstm_step", "def lstm_step(x, h_prev, c_prev, kernel, "
                  "recurrent_kernel, bias):\n    return h_prev, c_prev\n")
    _set_solution(nb, "count_params", "def count_params(kind, input_dim, units):\n"
                  "    return 0\n")
    classroom.submit(course, "hostile_monkeypatch", A, nb)


def calls_reference(course):
    """Every function calls lstm_ref (unblocked by hand, also from the repo's path)."""
    nb = classroom.read(course, "exercises", A)
    unblock = ("import sys, importlib\nsys.modules.pop('lstm_ref', None)\n"
               f"sys.path.insert(0, {REPO!r})\n")
    for gid, sig in (("sigmoid", "x"), ("lstm_cell", "*a"), ("lstm_gates", "*a"),
                     ("lstm_step", "*a"), ("count_params", "*a")):
        _set_solution(nb, gid, unblock + f"def {gid}({sig}):\n"
                      f"    import lstm_ref\n    return lstm_ref.{gid}({sig})\n")
    classroom.submit(course, "hostile_calls_reference", A, nb)


def shadow_files(course):
    """numpy.py and lstm_ref.py beside the notebook; a legit helper module mycode.py."""
    sol = classroom.solution_cells(classroom.read(course, "solutions", A))
    body = "import numpy as np\n\n" + "\n\n".join(
        classroom.strip_solution_markers(sol[g]) for g in
        ("sigmoid", "lstm_cell", "lstm_gates", "lstm_step", "count_params"))
    numpy_shim = (
        "import importlib.util, sys, os\n"
        "sys.path = [p for p in sys.path if p not in ('', '.', os.getcwd())]\n"
        "del sys.modules['numpy']\nimport numpy as _np\n"
        "_np.allclose = lambda *a, **k: True\n_np.max = lambda *a, **k: 0.0\n"
        "sys.modules['numpy'] = _np\n")
    nb = classroom.partial(course, A, ["sigmoid"])
    fetch = ("import sys\nsys.modules.pop('lstm_ref', None)\nsys.path.insert(0, '')\n"
             "from lstm_ref import {f}\n")
    for gid in ("lstm_cell", "lstm_step", "count_params"):
        _set_solution(nb, gid, fetch.format(f=gid))
    _set_solution(nb, "lstm_gates", "from mycode import lstm_gates\n")
    classroom.submit(course, "hostile_shadow_files", A, nb, files={
        "numpy.py": numpy_shim, "lstm_ref.py": body,
        "mycode.py": "import numpy as np\n\n" + classroom.strip_solution_markers(
            sol["lstm_gates"]) + "\n" + classroom.strip_solution_markers(sol["sigmoid"])})


def edited_metadata(course):
    """Honest sigmoid; tests edited, emptied, deleted, re-pointed; setup cell deleted."""
    nb = classroom.partial(course, A, ["sigmoid"])
    cells = []
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid == "setup":
            continue                                   # deleted read-only cell
        if gid == "sigmoid_tests":
            c.source = "pass"                          # edited...
            meta["points"] = 100                       # ...and worth 100 points
        elif gid == "lstm_cell_tests":
            c.source = ""                              # emptied
        elif gid == "lstm_gates_tests":
            continue                                   # deleted
        elif gid == "lstm_step_tests":
            meta.update(grade_id="bogus", grade=False, locked=False)   # re-pointed
            c.source = "pass"
        elif gid == "count_params_tests":
            meta.update(schema_version=99, points=50, grade=False)
            c.source = "print('ok')"
        cells.append(c)
    # a duplicate of a test cell at the very end (nbgrader keeps the last copy of an id)
    dup = nbformat.v4.new_code_cell("pass")
    dup.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                "points": 40, "grade_id": "lstm_cell_tests",
                                "schema_version": 3}
    cells.append(dup)
    nb.cells = cells
    classroom.submit(course, "hostile_edited_metadata", A, nb)


def loop(course):
    """An interruptible endless loop between two honest parts."""
    nb = classroom.partial(course, A, ["sigmoid", "lstm_cell"])
    _insert_after(nb, "sigmoid_tests", _code("while True:\n    pass\n"))
    classroom.submit(course, "hostile_loop", A, nb)


def loop_ignoring_signals(course):
    """Honest sigmoid; lstm_cell's cell loops forever, ignoring SIGINT and SIGALRM."""
    nb = classroom.partial(course, A, ["sigmoid", "lstm_cell"])
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "lstm_cell":
            c.source += ("\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                         "while True:\n    pass\n")
    classroom.submit(course, "hostile_loop_nosignal", A, nb)


def exits(course):
    """Honest sigmoid and lstm_cell, but os._exit between them."""
    nb = classroom.partial(course, A, ["sigmoid", "lstm_cell"])
    _insert_after(nb, "sigmoid_tests", _code("import os\nos._exit(0)\n"))
    classroom.submit(course, "hostile_os_exit", A, nb)


def kills_kernel(course):
    """Honest sigmoid and lstm_cell, but the kernel kills itself between them."""
    nb = classroom.partial(course, A, ["sigmoid", "lstm_cell"])
    _insert_after(nb, "sigmoid_tests", _code(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"))
    classroom.submit(course, "hostile_kill_kernel", A, nb)


def kills_grader(course):
    """A full solution whose last cell kills its parent and every process it can reach."""
    nb = _full(course)
    nb.cells.append(_code(
        "import os, signal\n"
        "for target in (os.getppid(), 1):\n"
        "    try:\n        os.kill(target, signal.SIGKILL)\n    except Exception:\n"
        "        pass\n"
        "for pid in range(2, 4096):\n"
        "    if pid != os.getpid():\n"
        "        try:\n            os.kill(pid, signal.SIGKILL)\n"
        "        except Exception:\n            pass\n"
        "os.killpg(0, signal.SIGKILL)\n"))
    classroom.submit(course, "hostile_kill_grader", A, nb)


def huge_output(course):
    """A full solution that prints a 10 MB line and returns a 10 MB result."""
    nb = _full(course)
    _insert_after(nb, "sigmoid_tests", _code("print('x' * 10_000_000)\n"))
    _insert_after(nb, "count_params_tests", _code("'y' * 10_000_000\n"))
    # and a test cell whose student code prints 10 MB while it is tested
    gates = next(c.source for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "lstm_gates")
    _set_solution(nb, "lstm_gates", gates.replace(
        "def lstm_gates(", "_BIG = ['z' * 10_000_000]\n\n\ndef _lg(", 1)
        + "\n\ndef lstm_gates(*a):\n    print(*_BIG)\n    _BIG.clear()\n"
        "    return _lg(*a)\n")
    classroom.submit(course, "hostile_huge_output", A, nb)


def snoops(course):
    """Untouched exercise + a cell that hunts for the solutions and the gradebook."""
    nb = classroom.read(course, "exercises", A)
    root = os.path.abspath(course)
    nb.cells.insert(2, _code(
        "import glob, os\nfound = []\n"
        f"pats = [{root!r} + '/solutions/**/*.ipynb', {root!r} + '/gradebook.db',\n"
        f"        {REPO!r} + '/solutions/**/*.ipynb', {REPO!r} + '/lstm_ref/*.py',\n"
        "        '../../../solutions/**/*.ipynb', '../../../gradebook.db', '../**/*.ipynb',\n"
        "        '**/*.ipynb', '*.db', 'linked*', '/home/*/**/*.ipynb', '/tmp/**/*.ipynb',\n"
        "        os.path.expanduser('~') + '/**/*.ipynb', '/proc/*/cwd/*.ipynb']\n"
        "for pat in pats:\n"
        "    for f in glob.glob(pat, recursive=True)[:50]:\n"
        "        try:\n"
        "            data = open(f, 'rb').read(4000)\n"
        "            if data:\n                found.append((f, data))\n"
        "        except Exception:\n            pass\n"
        "print('FOUND', len(found), [f for f, _ in found])\n"
        "for f, data in found:\n    print(data.decode('utf-8', 'replace'))\n"))
    folder = classroom.submit(course, "hostile_snoop", A, nb)
    os.symlink(os.path.join(root, "gradebook.db"), os.path.join(folder, "linked.db"))
    os.symlink(os.path.join(root, "solutions", A, f"{A}.ipynb"),
               os.path.join(folder, "linked_solution.txt"))
    os.symlink(os.path.join(root, "solutions"), os.path.join(folder, "linked_dir"))


def wrong_types(course):
    """Answers np.allclose would broadcast or accept: a list, NaNs, (1, H) arrays for
    (N, H), a float for an int. Only lstm_step (self-contained) is right."""
    nb = classroom.read(course, "exercises", A)
    _set_solution(nb, "sigmoid", "def sigmoid(x):\n"
                  "    return (1 / (1 + np.exp(-np.asarray(x, float)))).tolist()\n")
    _set_solution(nb, "lstm_cell", "def lstm_cell(x, h_prev, c_prev, weights):\n"
                  "    return np.full(h_prev.shape, np.nan), np.full(c_prev.shape, np.nan)\n")
    gates = (
        "    H = recurrent_kernel.shape[0]\n"
        "    a = x @ kernel + h_prev @ recurrent_kernel + bias\n"
        "    s = lambda v: np.exp(-np.logaddexp(0.0, -v))\n"
        "    i, f, g, o = s(a[:, :H]), s(a[:, H:2*H]), np.tanh(a[:, 2*H:3*H]), s(a[:, 3*H:])\n")
    _set_solution(nb, "lstm_gates", (
        "def lstm_gates(x, h_prev, kernel, recurrent_kernel, bias):\n" + gates
        + "    return {'i': i[:1], 'f': f[:1], 'g': g[:1], 'o': o[:1]}\n"))
    _set_solution(nb, "lstm_step", (
        "def lstm_step(x, h_prev, c_prev, kernel, recurrent_kernel, bias):\n" + gates
        + "    c = f * c_prev + i * g\n    return o * np.tanh(c), c\n"))
    _set_solution(nb, "count_params", "def count_params(kind, input_dim, units):\n"
                  "    b = {'rnn': 1, 'lstm': 4}[kind]\n"
                  "    return float(b * units * (input_dim + units + 1))\n")
    classroom.submit(course, "hostile_wrong_types", A, nb)


def swapped_gates(course):
    """Every part right but lstm_gates, whose i and f blocks are swapped. lstm_step, which
    calls it, fails its visible test too, but the grader checks it with a correct
    lstm_gates standing in: one bug costs one part."""
    nb = _full(course)
    sol = classroom.solution_cells(classroom.read(course, "solutions", A))["lstm_gates"]
    body = classroom.strip_solution_markers(sol)
    swapped = body.replace('"i": sigmoid(a[:, :H]), "f": sigmoid(a[:, H:2 * H])',
                           '"f": sigmoid(a[:, :H]), "i": sigmoid(a[:, H:2 * H])')
    assert swapped != body
    _set_solution(nb, "lstm_gates", swapped)
    classroom.submit(course, "honest_swapped_gates", A, nb)


def fork_bomb(course):
    """A full solution whose last cell forks without end (every process forks again)."""
    nb = _full(course)
    nb.cells.append(_code(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
        "        pass\n"))
    classroom.submit(course, "hostile_fork_bomb", A, nb)


def grader_fault(course):
    """The instructor's solution, graded while the grader's comparison raises
    (``COURSE_GRADER_INJECT_FAULT`` names this student): 0, failed, a reason."""
    classroom.submit(course, FAULT, A, classroom.read(course, "solutions", A))


# ------------------------------------------------------------------ broken folders
def missing(course):
    os.makedirs(os.path.join(course, "submitted", "edge_no_folder", "other_assignment"))


def empty_folder(course):
    os.makedirs(os.path.join(course, "submitted", "edge_empty", A))


def misnamed(course):
    classroom.submit(course, "edge_misnamed", A, classroom.read(course, "solutions", A),
                     name=f"{A} (1)")


def corrupt(course):
    classroom.submit(course, "edge_corrupt", A, '{"cells": [ this is not json')


ALL = ["sigmoid_tests", "lstm_cell_tests", "lstm_gates_tests", "lstm_step_tests",
       "count_params_tests"]

CASES = [
    Case("honest_solution", solution, ALL, about="the instructor's solution"),
    Case("honest_untouched", untouched, [], about="the released exercise"),
    Case("honest_partial", partial_work, ["sigmoid_tests", "lstm_cell_tests"]),
    Case("hostile_monkeypatch", monkeypatch, ["sigmoid_tests"]),
    Case("hostile_calls_reference", calls_reference, []),
    Case("hostile_shadow_files", shadow_files, ["sigmoid_tests", "lstm_gates_tests"]),
    Case("hostile_edited_metadata", edited_metadata, ["sigmoid_tests"]),
    Case("hostile_loop", loop, ["sigmoid_tests", "lstm_cell_tests"]),
    Case("hostile_loop_nosignal", loop_ignoring_signals, ["sigmoid_tests"]),
    Case("hostile_os_exit", exits, ["sigmoid_tests"]),
    Case("hostile_kill_kernel", kills_kernel, ["sigmoid_tests"]),
    Case("hostile_kill_grader", kills_grader, ALL),
    Case("hostile_huge_output", huge_output, ALL),
    Case("hostile_snoop", snoops, []),
    Case("hostile_wrong_types", wrong_types, ["lstm_step_tests"]),
    Case("honest_swapped_gates", swapped_gates,
         ["sigmoid_tests", "lstm_cell_tests", "lstm_step_tests", "count_params_tests"]),
    Case("hostile_fork_bomb", fork_bomb, ALL),
    Case(FAULT, grader_fault, [], status="failed"),
    Case("edge_no_folder", missing, [], status="missing"),
    Case("edge_empty", empty_folder, [], status="missing"),
    Case("edge_misnamed", misnamed, [], status="misnamed"),
    Case("edge_corrupt", corrupt, [], status="failed"),
]
