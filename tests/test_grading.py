"""The instructor's autograder, through the real grading path (``python -m course_grader``).

Two throw-away courses are graded at the same time (never the real submitted/ or
gradebook.db):

- a ch02_lstm_cell class of honest and hostile submissions (tests/hostile/cases.py),
  graded with short time limits; every case must score exactly what its honest work
  earns, without lowering or losing anyone else's result;
- every other assignment, with its solution and its untouched exercise as submissions.

The learner's Validate runs in tests/test_assignments.py only (once per solution and
per release in the whole test run): it passes every solution and fails every part of
every release; here the grade gives the same notebooks full marks and 0, so the two
agree. Runs in about 4 minutes on 2 cores.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from course_grader import classroom
from course_grader.worker import StudentResult

sys.path.insert(0, os.path.dirname(__file__))
from hostile import cases as hc

pytestmark = [pytest.mark.grading,
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

REPO = classroom.REPO
ASSIGNMENTS = ["ch01_vanishing_gradients", "ch02_lstm_cell", "ch03_text_classification",
               "ch04_stacked_lstms", "ch05_time_series", "ch06_gru", "ch07_sequence_outputs"]
PRESENT = [a for a in ASSIGNMENTS
           if all(os.path.exists(os.path.join(REPO, step, a, f"{a}.ipynb"))
                  for step in ("solutions", "exercises"))]
OTHERS = [a for a in PRESENT if a != hc.A]
# short limits for the hostile class: an endless loop costs ~CELL + 10 s, not minutes
CELL, KERNEL = 10, 60


def _env(fault: str = "") -> dict:
    env = dict(os.environ)
    env.pop("COURSE_GRADER_INJECT_FAULT", None)
    if fault:
        env["COURSE_GRADER_INJECT_FAULT"] = fault
    env["PATH"] = os.path.join(REPO, ".venv", "bin") + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    env.pop("COURSE_GRADER_BWRAP", None)
    env.pop("COURSE_GRADER_SANDBOX_OK", None)
    return env


def _grade(root, assignments, *extra, fault: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course_grader", "grade", *assignments, "--root", str(root),
         *extra], cwd=REPO, env=_env(fault), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Grade both courses concurrently; return what each run produced."""
    hostile = tmp_path_factory.mktemp("hostile_class")
    classroom.make_course(str(hostile), [hc.A])
    for case in hc.CASES:
        case.build(str(hostile))
    others = tmp_path_factory.mktemp("assignments")
    classroom.make_course(str(others), OTHERS)
    for a in OTHERS:
        classroom.submit(str(others), "solution", a, classroom.read(str(others), "solutions", a))
        classroom.submit(str(others), "untouched", a, classroom.read(str(others), "exercises", a))

    p_h = _grade(hostile, [hc.A], "--cell-timeout", str(CELL), "--kernel-timeout", str(KERNEL),
                 fault=hc.FAULT)
    p_o = _grade(others, OTHERS) if OTHERS else None
    out_h, _ = p_h.communicate(timeout=900)
    out_o = p_o.communicate(timeout=900)[0] if p_o else ""
    assert p_h.returncode == 0, out_h[-3000:]
    assert p_o is None or p_o.returncode == 0, out_o[-3000:]
    return {"hostile": hostile, "others": others, "out_h": out_h, "out_o": out_o}


def _rows(root, assignment) -> dict[str, dict]:
    with open(os.path.join(root, "grades", f"{assignment}.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    by_id = {r["student_id"]: r for r in rows}
    assert len(by_id) == len(rows), "duplicate rows"
    return by_id


def _points(assignment) -> dict[str, float]:
    return classroom.test_cells(classroom.read(REPO, "solutions", assignment))


def _state(root, assignment, student) -> StudentResult:
    path = os.path.join(root, "grades", ".state", assignment, f"{student}.json")
    with open(path) as f:
        return StudentResult(**json.load(f))


# ---------------------------------------------------------------- the hostile class
def test_every_folder_has_exactly_one_row(runs):
    folders = set(os.listdir(os.path.join(runs["hostile"], "submitted")))
    assert set(_rows(runs["hostile"], hc.A)) == folders == {c.student for c in hc.CASES}
    for a in OTHERS:
        assert set(_rows(runs["others"], a)) == {"solution", "untouched"}


@pytest.mark.parametrize("case", hc.CASES, ids=lambda c: c.student)
def test_case_scores_what_its_honest_work_earns(runs, case):
    points = _points(hc.A)
    row = _rows(runs["hostile"], hc.A)[case.student]
    want = {g: (points[g] if g in case.earns else 0.0) for g in points}
    got = {g: float(row[g]) for g in points}
    assert (row["status"], got) == (case.status, want), row["reason"]
    assert float(row["score"]) == sum(want.values())
    assert float(row["max_score"]) == sum(points.values())
    if float(row["score"]) < float(row["max_score"]):
        assert row["reason"]
        assert row["reason"] != "all tests passed"


def test_progress_lines(runs):
    lines = re.findall(r"^\[(\d+)/(\d+)\] (\S+): ([\d.]+)/([\d.]+) \(([\d.]+) s\)",
                       runs["out_h"], re.M)
    graded = {c.student for c in hc.CASES if c.student != "edge_no_folder"
              and c.student != "edge_empty" and c.student != "edge_misnamed"}
    assert {ln[2] for ln in lines} == graded
    assert sorted(int(ln[0]) for ln in lines) == list(range(1, len(graded) + 1))


def test_gradebook_agrees_with_the_csv(runs):
    from nbgrader.api import Gradebook, MissingEntry

    rows = _rows(runs["hostile"], hc.A)
    with Gradebook(f"sqlite:///{runs['hostile']}/gradebook.db") as gb:
        for student, row in rows.items():
            if row["status"] in ("graded", "failed") and student != "edge_corrupt":
                sub = gb.find_submission(hc.A, student)
                assert float(sub.score) == float(row["score"]), student
                for nb in sub.notebooks:
                    for g in nb.grades:
                        assert float(g.score) == float(row[g.name]), (student, g.name)
                        if student == hc.FAULT:  # the grader failed: a human decides
                            assert g.needs_manual_grade, g.name
            else:
                with pytest.raises(MissingEntry):
                    gb.find_submission(hc.A, student)


def test_nbgrader_export_reads_the_same_gradebook(runs):
    """Plain `nbgrader export` writes into grades/ (git-ignored), not the repository root."""
    root = runs["hostile"]
    out = subprocess.run(["nbgrader", "export"], cwd=root, env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not os.path.exists(root / "grades.csv")
    with open(root / "grades" / "nbgrader_export.csv", newline="") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                    if r["assignment"] == hc.A}
    mine = {s: float(r["score"]) for s, r in _rows(root, hc.A).items()}
    assert exported == mine


#: the cases plain nbgrader can take (it has no row for a missing or unreadable notebook)
PLAIN = [c for c in hc.CASES if c.status == "graded" or c.student == hc.FAULT]


def test_plain_nbgrader_autograde_is_sandboxed_checked_and_fails_closed(tmp_path):
    """`nbgrader autograde` (and so the formgrader) grades the hostile class as `make grade`
    does: the sandbox, the checks, the configured limits (shortened here, as for the
    class above); a grader fault in the middle of one student's grading gives that student
    0 and a reason, and every other student what their honest work earns."""
    course = classroom.make_course(str(tmp_path), [hc.A])
    for case in PLAIN:
        case.build(course)
    env = _env(fault=hc.FAULT)
    env["PYTHONPATH"] = REPO  # nbgrader_config.py finds course_grader beside itself
    logs = ""
    limits = [f"--Execute.timeout={CELL}", f"--SandboxedExecute.timeout={CELL}",
              f"--SandboxedExecute.kernel_seconds={KERNEL}"]
    for cmd in (["generate_assignment", hc.A, "--force"], ["autograde", hc.A, *limits]):
        out = subprocess.run(["nbgrader", *cmd], cwd=course, env=env, capture_output=True,
                             text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-3000:]
        logs += out.stdout + out.stderr
    # notebooks made from the release raise no false alarm: nbgrader warns that a test
    # cell changed for the one student who really edited test cells
    names = "|".join(re.escape(c.student) for c in PLAIN)
    warned, student = set(), None
    for line in logs.splitlines():
        found = re.findall(rf"\b({names})\b", line)
        student = found[-1] if found else student
        if "has changed!" in line:
            warned.add(student)
    assert warned == {"hostile_edited_metadata"}, warned
    from nbgrader.api import Gradebook

    points = _points(hc.A)
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        score = {c.student: gb.find_submission(hc.A, c.student).score for c in PLAIN}
        fault = gb.find_submission(hc.A, hc.FAULT)
        assert all(g.needs_manual_grade for nb in fault.notebooks for g in nb.grades)
    assert score == {c.student: sum(points[g] for g in c.earns) for c in PLAIN}
    nb = nbformat.read(os.path.join(course, "autograded", hc.FAULT, hc.A, f"{hc.A}.ipynb"),
                       as_version=4)
    verdict = nb.metadata["course_grader"]
    assert verdict["status"] == "failed"
    assert "injected grader fault" in verdict["reason"]


def _secret_lines(assignment) -> list[str]:
    """Lines of the solutions that the released exercise does not show, and of the
    grader's declarations (references, comparators), which no notebook holds."""
    sol = classroom.read(REPO, "solutions", assignment)
    released = nbformat.writes(classroom.read(REPO, "exercises", assignment))
    found, inside = set(), False
    for cell in sol.cells:
        for line in cell.source.split("\n"):
            if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) >= 25 and not line.strip().startswith("#"):
                if json.dumps(line.strip())[1:-1] not in released:
                    found.add(line.strip())
    with open(os.path.join(REPO, "course_grader", "parts.py"), encoding="utf-8") as f:
        found.update(line.strip() for line in f if len(line.strip()) >= 40
                     and line.strip().startswith(("return ", "want", "for ", "vocab"))
                     and json.dumps(line.strip())[1:-1] not in released)
    return sorted(found)


def _feedback_text(path: str) -> str:
    import html

    with open(path, encoding="utf-8") as f:
        return html.unescape(re.sub(r"<[^>]+>", "", f.read()))


@pytest.mark.parametrize("which", ["hostile", "others"])
def test_feedback_shows_no_solutions_or_checks(runs, which):
    root = runs[which]
    checked = 0
    for a in ([hc.A] if which == "hostile" else OTHERS):
        secret = _secret_lines(a)
        assert len(secret) > 20
        for student in os.listdir(os.path.join(root, "feedback")):
            path = os.path.join(root, "feedback", student, a, f"{a}.html")
            if not os.path.exists(path):
                continue
            text = _feedback_text(path)
            # what the learner wrote may show (their own cells), nothing else
            mine = nbformat.read(os.path.join(root, "submitted", student, a, f"{a}.ipynb"),
                                 as_version=4)
            own = "\n".join(c.source for c in mine.cells if c.cell_type == "code" and not
                            c.metadata.get("nbgrader", {}).get("locked"))
            leaked = [s for s in secret if s in text and s not in own]
            assert not leaked, (student, leaked[:3])
            assert "__course_grader" not in text
            assert "probe+json" not in text
            assert "SQLite format" not in text
            assert "Traceback (most recent call" not in text
            checked += 1
    assert checked >= (12 if which == "hostile" else 2 * len(OTHERS))


def test_huge_outputs_are_truncated(runs):
    root = runs["hostile"]
    ag = os.path.join(root, "autograded", "hostile_huge_output", hc.A, f"{hc.A}.ipynb")
    fb = os.path.join(root, "feedback", "hostile_huge_output", hc.A, f"{hc.A}.html")
    honest = os.path.join(root, "feedback", "honest_solution", hc.A, f"{hc.A}.html")
    assert os.path.getsize(ag) < 2_000_000
    assert os.path.getsize(fb) < os.path.getsize(honest) + 1_000_000  # (MathJax: 2 MB)


def test_kernel_saw_no_course_files(runs):
    root = runs["hostile"]
    nb = nbformat.read(os.path.join(root, "autograded", "hostile_snoop", hc.A, f"{hc.A}.ipynb"),
                       as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "FOUND 0 []" in text
    flags = _rows(root, hc.A)["hostile_snoop"]["flags"]
    assert "linked.db" in flags
    assert "linked_dir" in flags


def test_flags_name_what_was_ignored(runs):
    rows = _rows(runs["hostile"], hc.A)
    assert "tampering" in rows["hostile_monkeypatch"]["flags"]
    assert "np.allclose" in rows["hostile_monkeypatch"]["flags"]
    assert "lstm_ref.py" in rows["hostile_shadow_files"]["flags"]
    assert "numpy.py" in rows["hostile_shadow_files"]["flags"]
    assert "on inputs drawn at grading time" in rows["hostile_monkeypatch"]["reason"]


def test_summary_and_histogram_written(runs):
    g = os.path.join(runs["hostile"], "grades")
    for name in (f"{hc.A}_parts.csv", f"{hc.A}_summary.md"):
        assert os.path.getsize(os.path.join(g, name)) > 100
    with open(os.path.join(g, f"{hc.A}_hist.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "| sigmoid_tests | 2 |" in runs["out_h"]


# ---------------------------------------------------------------- every assignment
@pytest.mark.parametrize("assignment", PRESENT)
def test_solution_gets_full_marks_and_release_zero(runs, assignment):
    """What Validate says of the same notebooks (tests/test_assignments.py): the solution
    passes, every part of the release fails."""
    root, sol, ex = (runs["hostile"], "honest_solution", "honest_untouched") \
        if assignment == hc.A else (runs["others"], "solution", "untouched")
    rows = _rows(root, assignment)
    assert float(rows[sol]["score"]) == float(rows[sol]["max_score"]) > 0, rows[sol]["reason"]
    assert float(rows[ex]["score"]) == 0.0


def test_one_bug_costs_one_part(runs):
    """lstm_gates with two blocks swapped: lstm_step, which calls it, fails its visible test
    but passes the grader's check with a correct lstm_gates in its place, so it keeps its
    points; the feedback says why, and only lstm_gates has a reason."""
    state = _state(runs["hostile"], hc.A, "honest_swapped_gates")
    assert set(state.part_reasons) == {"lstm_gates_tests"}, state.part_reasons
    assert "gate i" in state.part_reasons["lstm_gates_tests"]
    assert state.parts["lstm_step_tests"] == _points(hc.A)["lstm_step_tests"]
    fb = os.path.join(runs["hostile"], "feedback", "honest_swapped_gates", hc.A, f"{hc.A}.html")
    assert "checked with a correct one in its place" in _feedback_text(fb)


def test_a_grader_fault_fails_closed(runs):
    row = _rows(runs["hostile"], hc.A)[hc.FAULT]
    assert row["status"] == "failed"
    assert "grader error" in row["reason"]
    assert "injected grader fault" in row["reason"]
    fb = os.path.join(runs["hostile"], "feedback", hc.FAULT, hc.A, f"{hc.A}.html")
    assert "GraderError" in _feedback_text(fb)


def test_a_fork_bomb_is_stopped_by_the_process_limit(runs):
    """As root the sandbox runs under an unprivileged user id, so RLIMIT_NPROC binds and
    the watchdog ends the bomb; the bomb's honest parts keep their points (see the case),
    the other students are graded as if it were not there (their cases)."""
    ag = os.path.join(runs["hostile"], "autograded", "hostile_fork_bomb", hc.A, f"{hc.A}.ipynb")
    text = json.dumps(nbformat.read(ag, as_version=4).cells[-1].outputs)
    if os.geteuid() == 0:
        assert "fork bomb" in text, text[-2000:]
        assert re.search(r"stopped: it started more than \d+ processes \(at least \d+, "
                         r"[\d.]+ s after it had 8", text)


def test_feedback_pages_work_offline(runs):
    """MathJax comes inside the page (no CDN), long lines wrap, no remote script."""
    root = runs["hostile"]
    path = os.path.join(root, "feedback", "honest_partial", hc.A, f"{hc.A}.html")
    with open(path, encoding="utf-8") as f:
        page = f.read()
    assert 'id="course-mathjax"' in page
    assert "MathJax" in page
    assert "tex" in page
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page)
    assert "cdnjs" not in page
    assert "white-space: pre-wrap" in page


def test_nothing_to_grade_exits_nonzero_and_keeps_earlier_results(tmp_path):
    course = classroom.make_course(str(tmp_path), [hc.A])
    os.makedirs(os.path.join(course, "grades"))
    earlier = "student_id,score\nalice,13\n"
    csv_path = os.path.join(course, "grades", f"{hc.A}.csv")
    with open(csv_path, "w") as f:
        f.write(earlier)
    for make in (lambda: None, lambda: os.makedirs(os.path.join(course, "submitted", "bob"))):
        make()  # no submitted/ at all; then a student folder without this assignment
        out = subprocess.run([sys.executable, "-m", "course_grader", "grade", hc.A, "--root",
                              course], cwd=REPO, env=_env(), capture_output=True, text=True,
                             timeout=300)
        assert out.returncode != 0
        assert "nothing to grade" in out.stderr
        with open(csv_path) as f:
            assert f.read() == earlier


@pytest.mark.parametrize("name", ["ch2_lstm_cell", "ch02_lstm_cell.ipynb"])
def test_a_wrong_assignment_name_lists_the_valid_ones(tmp_path, name):
    course = classroom.make_course(str(tmp_path), PRESENT)
    out = subprocess.run([sys.executable, "-m", "course_grader", "grade", name, "--root",
                          course], cwd=REPO, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2
    assert "Did you mean ch02_lstm_cell?" in out.stderr
    assert all(a in out.stderr for a in PRESENT)
    assert not os.path.exists(os.path.join(course, "gradebook.db"))


def test_the_system_python_is_pointed_at_the_course_environment():
    system = "/usr/bin/python3"
    probe = subprocess.run([system, "-c", "import nbgrader"], capture_output=True)
    if not os.path.exists(system) or probe.returncode == 0:
        pytest.skip("no system Python without nbgrader here")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    out = subprocess.run([system, "-m", "course_grader", "grade", hc.A], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert ".venv/bin/python -m course_grader" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_the_readme_names_where_the_logs_are(runs):
    with open(os.path.join(REPO, "course_grader", "README.md"), encoding="utf-8") as f:
        readme = f.read()
    found = re.findall(r"`(grades/[^`]*<student>\.log)`", readme)
    assert found
    for pattern in found:
        path = pattern.replace("<assignment>", hc.A).replace("<student>", "honest_solution")
        assert os.path.isfile(os.path.join(runs["hostile"], path)), path


def test_make_grade_asks_only_for_bubblewrap():
    out = subprocess.run(["make", "-n", "grade", "ASSIGNMENT=ch02_lstm_cell"], cwd=REPO,
                         env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "bubblewrap" in out.stdout
    assert "chromium" not in out.stdout.lower()


# ---------------------------------------------------------------- re-grading, fail closed
def test_regrading_overwrites_and_loses_nothing(runs):
    root = runs["hostile"]
    before = _rows(root, hc.A)
    p = _grade(root, [hc.A], "--only", "honest_partial,edge_misnamed",
               "--cell-timeout", str(CELL))
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-2000:]
    after = _rows(root, hc.A)
    assert set(after) == set(before)
    for student, row in before.items():
        keep = ("score", "max_score", "status", *_points(hc.A))
        assert {k: after[student][k] for k in keep} == {k: row[k] for k in keep}, student
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        subs = gb.assignment_submissions(hc.A)
        names = [s.student.id for s in subs]
        assert len(names) == len(set(names))
        assert set(names) == {s for s, r in after.items()
                              if r["status"] == "graded" or s == hc.FAULT}


def test_refuses_to_grade_without_bubblewrap(tmp_path):
    course = classroom.make_course(str(tmp_path), [hc.A])
    classroom.submit(course, "a", hc.A, classroom.read(course, "exercises", hc.A))
    env = _env()
    env["COURSE_GRADER_BWRAP"] = str(tmp_path / "no-bwrap-here")
    out = subprocess.run([sys.executable, "-m", "course_grader", "grade", hc.A, "--root",
                          course], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "apt-get install" in out.stderr
    assert "bubblewrap" in out.stderr
    assert not os.path.exists(os.path.join(course, "gradebook.db"))
    assert not os.path.exists(os.path.join(course, "grades"))


# ---------------------------------------------------------------- small pieces
def test_nbgrader_stops_when_it_cannot_load_the_grading_configuration(tmp_path):
    """traitlets logs an exception in a config file and goes on with nbgrader's defaults
    (unsandboxed Execute): nbgrader_config.py must stop nbgrader instead."""
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), tmp_path)
    code = ("import sys; sys.modules['course_grader'] = None\n"
            "from nbgrader.apps.nbgraderapp import main\n"
            "sys.argv = ['nbgrader', 'autograde', 'ch02_lstm_cell']; main()")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0, out.stdout[-2000:]
    assert "cannot import course_grader" in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "gradebook.db").exists()


def test_nbgrader_config_grades_only_in_the_sandbox_and_fails_closed():
    """What plain `nbgrader autograde` and the formgrader load from nbgrader_config.py: the
    properties the grade relies on, read from the effective configuration, each resolved to
    the class nbgrader will instantiate."""
    import importlib

    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=REPO).load_config()

    def classes(paths):
        out = []
        for path in paths:
            module, name = path.rsplit(".", 1)
            out.append(getattr(importlib.import_module(module), name))
        return out

    from nbgrader.preprocessors import (
        ClearOutput,
        Execute,
        LimitOutput,
        OverwriteCells,
        SaveAutoGrades,
    )

    auto = classes(cfg.Autograde.autograde_preprocessors)
    names = [c.__name__ for c in auto]
    # the student's code runs only in the sandbox: no plain nbgrader Execute anywhere
    assert Execute not in auto
    assert names[0] == "SandboxedExecute", names
    # the outside checks decide before nbgrader saves the scores, and outputs are limited
    assert names.index("VerifyGrades") < auto.index(SaveAutoGrades), names
    assert LimitOutput in auto
    assert names.index("LimitOutputBytes") < names.index("VerifyGrades"), names
    assert "post_convert_hook" not in cfg.Autograde  # nbgrader only logs its exceptions
    # the released cells and metadata are restored before grading
    sanitize = classes(cfg.Autograde.sanitize_preprocessors)
    assert OverwriteCells in sanitize
    assert ClearOutput in sanitize or any(c.__name__ == "ClearOutputPreprocessor"
                                          for c in sanitize)
    assert cfg.OverwriteCells.add_missing_cells is True
    # feedback never shows tracebacks or printed output
    feedback = classes(cfg.GenerateFeedback.preprocessors)
    exporter = classes([cfg.GenerateFeedback.exporter_class])[0]
    assert any(c.__name__ == "SanitizeFeedback" for c in feedback), feedback
    assert exporter.__name__ == "FeedbackExporter"


def test_output_limits_keep_errors():
    from course_grader.outputs import limit_cell_outputs

    outs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 10_000_000),
            nbformat.v4.new_output("execute_result", data={"text/plain": "y" * 10_000_000}),
            *[nbformat.v4.new_output("stream", name="stdout", text="z") for _ in range(500)],
            nbformat.v4.new_output("stream", name="stderr", text="w" * 10_000_000),
            nbformat.v4.new_output("error", ename="AssertionError", evalue="e" * 10_000_000,
                                   traceback=["t" * 10_000] * 1000)]
    kept = limit_cell_outputs(outs)
    assert len(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(outputs=kept)]))) < 400_000
    kinds = [(o.output_type, o.get("name")) for o in kept]
    assert ("error", None) in kinds
    assert ("stream", "stderr") in kinds


def test_codec_round_trip_never_unpickles():
    import numpy as np

    from course_grader import probe as r

    value = (np.arange(6.0).reshape(2, 3), {"i": np.float32(1.5), 3: [1, None, "s"]},
             float("nan"), 2**70, np.array([1, 2], dtype=np.int16))
    back = r.decode(json.loads(json.dumps(r.encode(value))))
    assert isinstance(back, tuple)
    assert back[0].shape == (2, 3)
    assert back[1]["i"].dtype == np.float32
    assert back[1][3] == [1, None, "s"]
    assert np.isnan(back[2])
    assert back[3] == 2**70
    assert back[4].dtype == np.int16
    assert isinstance(r.decode(r.encode(object())), r.Unsupported)
    assert r.encode(np.array([object()]))["__unsupported__"].startswith("numpy array")


def test_files_that_shadow_modules_are_recognised():
    from course_grader.execute import shadows_module

    for name in ("numpy.py", "lstm_ref.py", "os.py", "keras/__init__.py", "json.so"):
        assert shadows_module(name), name
    for name in ("mycode.py", "data.csv", "helpers/util.py", "notes.txt"):
        assert not shadows_module(name), name


def test_no_private_name_of_the_libraries_is_used():
    """No underscored name of jupyter_client, nbclient, nbconvert, nbgrader or
    multiprocessing is imported, read or overridden by course_grader: a minor release of
    any of them must not be able to break the sandbox silently. ``self._x`` is allowed in
    course_grader's own classes only (those that subclass no library class)."""
    import ast
    import glob

    libs = ("jupyter_client", "nbclient", "nbconvert", "nbgrader", "multiprocessing")
    found = []
    for path in sorted(glob.glob(os.path.join(REPO, "course_grader", "*.py"))):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        name = os.path.basename(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in libs:
                names = node.module.split(".") + [a.name for a in node.names]
                found += [f"{name}:{node.lineno} imports {n}" for n in names
                          if n.startswith("_")]
            elif isinstance(node, ast.Import):
                found += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                          if a.name.split(".")[0] in libs and "._" in a.name]
            elif isinstance(node, ast.ClassDef):
                own = all(isinstance(b, ast.Name) and b.id == "object" for b in node.bases)
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                            sub.name.startswith("_") and not sub.name.startswith("__") \
                            and not own:
                        found.append(f"{name}:{sub.lineno} defines {node.name}.{sub.name}")
                    if isinstance(sub, ast.Attribute) and sub.attr.startswith("_") and \
                            not sub.attr.startswith("__") and not own:
                        found.append(f"{name}:{sub.lineno} uses .{sub.attr} in {node.name}")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and \
                    not node.attr.startswith("__") and node.attr != "_exit" and not (
                        isinstance(node.value, ast.Name) and node.value.id == "self"):
                found.append(f"{name}:{node.lineno} uses .{node.attr}")
    assert not found, "\n".join(found)
