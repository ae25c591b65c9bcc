"""Grading of ONE student, in a process of its own (started by :mod:`course_grader.batch`).

Steps: copy the submission into a private staging folder (regular files only, nothing
that shadows a module, size limits); nbgrader ``autograde`` of that copy (kernel in the
sandbox); the declared parts' checks; nbgrader ``generate_feedback`` (sanitised); the
result as JSON in the state folder. Every outcome, including "no notebook", ends in the
same JSON, so the batch always has a row for the student.
"""

from __future__ import annotations

import ast
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import stat
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .checks import judge
from .config import Settings, grading_config, venv_bin_first
from .execute import RISKY_FILES as _RISKY
from .execute import shadows_module
from .parts import earlier_parts
from .sandbox import die_with_parent

MAX_NOTEBOOK_BYTES = 30 * 2**20
MAX_FILE_BYTES = 50 * 2**20
MAX_FILES = 200
# rebinding these modules' attributes in a learner's cell counts as tampering
_MODULES = {"np", "numpy", "builtins", "__builtins__", "math"}
_SUSPECT_CALLS = {"os.kill", "os.killpg", "os._exit", "signal.signal", "os.system",
                  "ctypes.CDLL", "subprocess.run", "subprocess.Popen", "os.fork",
                  "sys.settrace", "sys.setprofile"}


@dataclass
class StudentResult:
    """What one student's grading produced (also the JSON state file)."""

    student_id: str
    status: str = "failed"        # graded | missing | misnamed | failed | timeout
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    parts: dict = field(default_factory=dict)      # grade_id -> score
    part_reasons: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)   # phase -> seconds


# ---------------------------------------------------------------------------- staging
def quick_status(src: str, notebook: str) -> tuple[str, str] | None:
    """``(status, reason)`` when a submission folder cannot be graded at all, else None.

    Cheap (no copying): lets the batch write "missing"/"misnamed" rows itself.
    """
    student = os.path.basename(os.path.dirname(src.rstrip("/")))
    if not os.path.isdir(src) or os.path.islink(src):
        return "missing", f"no folder submitted/{student}/{notebook}/"
    if os.path.lexists(os.path.join(src, f"{notebook}.ipynb")):
        return None
    others = sorted(n for n in os.listdir(src) if n.endswith(".ipynb")
                    and not n.startswith("."))
    if others:
        return "misnamed", f"expected {notebook}.ipynb, found " + ", ".join(others[:5])
    return "missing", f"no {notebook}.ipynb in submitted/{student}/{notebook}/"


def stage_submission(src: str, dest: str, notebook: str) -> dict:
    """Copy a submission folder into ``dest`` keeping only what is safe to grade.

    Returns ``{"notebook": bool, "other_notebooks": [...], "dropped": [...], "problem": str}``.
    """
    info = {"notebook": False, "other_notebooks": [], "dropped": [], "problem": ""}
    os.makedirs(dest, exist_ok=True)
    if not os.path.isdir(src) or os.path.islink(src):
        info["problem"] = "no folder"
        return info
    count = 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel_dir = os.path.relpath(dirpath, src)
        keep = []
        for d in sorted(dirnames):
            p = os.path.join(dirpath, d)
            if d.startswith(".") or os.path.islink(p):
                info["dropped"].append(os.path.normpath(os.path.join(rel_dir, d)) + "/")
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(path)
            if rel == f"{notebook}.ipynb":
                if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                    info["problem"] = f"{notebook}.ipynb is not a regular file (a link?)"
                elif st.st_size > MAX_NOTEBOOK_BYTES:
                    info["problem"] = (f"{notebook}.ipynb is too large "
                                       f"({st.st_size / 2**20:.0f} MB)")
                else:
                    shutil.copyfile(path, os.path.join(dest, rel))
                    info["notebook"] = True
                continue
            if name.endswith(".ipynb"):
                if "/" not in rel and not name.startswith("."):
                    info["other_notebooks"].append(rel)
                continue
            if rel == "timestamp.txt" and stat.S_ISREG(st.st_mode) and st.st_size < 1000:
                shutil.copyfile(path, os.path.join(dest, rel))
                continue
            why = None
            if not stat.S_ISREG(st.st_mode):
                why = "not a regular file"
            elif name.startswith("."):
                why = "hidden"
            elif st.st_size > MAX_FILE_BYTES or count >= MAX_FILES:
                why = "too large / too many"
            elif shadows_module(rel) or _RISKY.search(rel):
                why = "would shadow a module"
            if why:
                info["dropped"].append(f"{rel} ({why})")
                continue
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return info


# ---------------------------------------------------------------------------- scans
def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def helper_names(setup_source: str) -> set[str]:
    """Names the setup cell defines at top level (the test helpers and imports)."""
    names = set()
    try:
        tree = ast.parse(_python_source(setup_source))
    except SyntaxError:
        return names
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _python_source(src: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(src)
    except Exception:
        return src


def scan_cells(sources: list[str], helpers: set[str]) -> tuple[list[str], list[str]]:
    """Static look at the learner's cells: (tampering found, other suspicious uses)."""
    tamper, suspect = set(), set()
    for src in sources:
        try:
            tree = ast.parse(_python_source(src))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.Delete)):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name in helpers:
                    tamper.add(f"redefines {node.name}")
            elif isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in ("setattr", "delattr") and node.args:
                    base = _dotted(node.args[0]).split(".")[0]
                    if base in _MODULES:
                        tamper.add(f"{name}({_dotted(node.args[0])}, ...)")
                if name in _SUSPECT_CALLS or name.endswith("set_custom_exc"):
                    suspect.add(name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(m.split(".")[0] == "lstm_ref" for m in mods):
                    suspect.add("imports lstm_ref")
            elif isinstance(node, ast.Attribute) and _dotted(node) == "sys.modules":
                suspect.add("sys.modules")
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute):
                        base = _dotted(sub).split(".")[0]
                        if base in _MODULES:
                            tamper.add(f"rebinds {_dotted(sub)}")
                    elif isinstance(sub, ast.Name) and sub.id in helpers and sub.id not in (
                            "np", "numpy", "math", "sys"):
                        tamper.add(f"rebinds {sub.id}")
    return sorted(tamper), sorted(suspect)


# ---------------------------------------------------------------------------- helpers
def _last_error(log: str) -> str:
    lines = [ln.strip() for ln in (log or "").splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error" in ln or "ERROR" in ln or "rror:" in ln:
            if "Please see" in ln or "There was an error processing assignment" in ln:
                continue
            return ln[-300:]
    return lines[-1][-300:] if lines else ""


def _set_readonly(path: str, readonly: bool) -> None:
    try:
        os.chmod(path, 0o444 if readonly else 0o644)
    except OSError:
        pass


def remove_results(root_cfg, assignment: str, student: str, gradebook: bool = True) -> None:
    """Forget a student's earlier results for ``assignment`` (DB, autograded, feedback).

    With ``gradebook=False`` only the two folders go (the gradebook keeps its entries).
    """
    cd = CourseDirectory(config=root_cfg)
    if gradebook:
        with Gradebook(cd.db_url, cd.course_id) as gb:
            gb.update_or_create_student(student)
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
    for step in (cd.autograded_directory, cd.feedback_directory):
        path = cd.format_path(step, student, assignment)
        if os.path.isdir(path):
            for dirpath, _dirs, files in os.walk(path):
                os.chmod(dirpath, 0o755)
                for f in files:
                    _set_readonly(os.path.join(dirpath, f), False)
            shutil.rmtree(path, ignore_errors=True)


def part_messages(nb) -> dict[str, str]:
    """grade_id -> a one-line reason, for every test cell that failed in the kernel."""
    msgs = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or not utils.is_grade(cell):
            continue
        gid = cell.metadata.nbgrader.get("grade_id")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "wrote to stderr: " + str(out.get("text", ""))
            else:
                continue
            text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
            text = " ".join(text.split())[:300]
            msgs[gid] = text
            break
    return msgs


# ---------------------------------------------------------------------------- main
def grade_student(root: str, assignment: str, student: str, staging: str,
                  state_dir: str, settings: Settings) -> StudentResult:
    """Grade one student; always returns (and writes) a StudentResult."""
    t0 = time.monotonic()
    res = StudentResult(student_id=student)
    try:
        _grade(root, assignment, student, staging, settings, res)
    except Exception as err:
        res.status = "failed"
        res.reason = f"grader error: {type(err).__name__}: {str(err)[:300]}"
        res.flags.append("grader-error")
        traceback.print_exc()
    res.seconds = round(time.monotonic() - t0, 2)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    res.timings["cpu"] = round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 2)
    write_result(state_dir, res)
    return res


def write_result(state_dir: str, res: StudentResult) -> None:
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, f"{res.student_id}.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(asdict(res), f, indent=1)
    os.replace(tmp, path)


def _grade(root, assignment, student, staging, settings, res: StudentResult) -> None:
    t0 = time.monotonic()
    cfg = grading_config(root, settings, submitted=staging)
    cd = CourseDirectory(config=cfg)
    real_cfg = grading_config(root, settings)
    real_cd = CourseDirectory(config=real_cfg)
    src = real_cd.format_path(real_cd.submitted_directory, student, assignment)
    dest = cd.format_path(cd.submitted_directory, student, assignment)
    info = stage_submission(src, dest, assignment)
    if info["dropped"]:
        res.flags.append("dropped files: " + ", ".join(info["dropped"][:10]))

    with Gradebook(cd.db_url, cd.course_id) as gb:
        asg = gb.find_assignment(assignment)
        res.max_score = float(asg.max_score)
        grade_ids = [c.name for n in asg.notebooks for c in n.grade_cells]
    res.parts = {g: 0.0 for g in grade_ids}

    if not info["notebook"]:
        if info["problem"] == "no folder":
            res.status, res.reason = "missing", f"no folder submitted/{student}/{assignment}/"
        elif info["problem"]:
            res.status, res.reason = "failed", info["problem"]
        elif info["other_notebooks"]:
            res.status = "misnamed"
            res.reason = (f"expected {assignment}.ipynb, found "
                          + ", ".join(info["other_notebooks"][:5]))
        else:
            res.status = "missing"
            res.reason = f"no {assignment}.ipynb in submitted/{student}/{assignment}/"
        remove_results(real_cfg, assignment, student)
        return

    staged_nb = os.path.join(dest, f"{assignment}.ipynb")
    try:
        nbformat.read(staged_nb, as_version=4)
    except Exception as err:
        res.status = "failed"
        res.reason = f"{assignment}.ipynb is not a readable notebook ({type(err).__name__})"
        remove_results(real_cfg, assignment, student)
        return

    # ----------------------------------------------------------------- autograde
    api = NbGraderAPI(coursedir=cd, config=cfg)
    res.timings["stage"] = round(time.monotonic() - t0, 2)
    out = api.autograde(assignment, student, force=True, create=True)
    autograded = os.path.join(cd.format_path(cd.autograded_directory, student, assignment),
                              f"{assignment}.ipynb")
    if not out.get("success") or not os.path.exists(autograded):
        res.status = "failed"
        res.reason = "nbgrader could not grade the notebook: " + (
            _last_error(out.get("log", "")) or _last_error(out.get("error", "")))
        remove_results(real_cfg, assignment, student)
        return
    nb = nbformat.read(autograded, as_version=4)
    res.timings["autograde"] = round(time.monotonic() - t0 - res.timings["stage"], 2)

    # ----------------------------------------------------------------- verdict
    v = nb.metadata.get("course_grader") or {}
    res.flags.extend(v.get("flags") or [])
    res.timings["checks"] = float(v.get("check_seconds") or 0.0)
    failures, manual = v.get("failures") or {}, v.get("manual") or {}

    # ----------------------------------------------------------------- feedback
    t1 = time.monotonic()
    fb = api.generate_feedback(assignment, student, force=True)
    res.timings["feedback"] = round(time.monotonic() - t1, 2)
    if not fb.get("success"):
        res.flags.append("feedback failed: " + _last_error(fb.get("log", "")))

    # ----------------------------------------------------------------- scores
    part_max = {}
    with Gradebook(cd.db_url, cd.course_id) as gb:
        sub = gb.find_submission(assignment, student)
        res.score = float(sub.score)
        res.max_score = float(sub.max_score)
        for snb in sub.notebooks:
            for g in snb.grades:
                res.parts[g.name] = float(g.score)
                part_max[g.name] = float(g.max_score)
    msgs = part_messages(nb)
    for gid, why in {**manual, **failures}.items():
        # the kernel's own message (an assertion text) says more when it failed too
        msgs[gid] = msgs[gid] if gid in msgs and not msgs[gid].startswith(
            "CheckFailed") else why
    lost = [g for g in grade_ids if res.parts.get(g, 0.0) < part_max.get(g, 0.0)]
    res.part_reasons = {g: msgs.get(g, "no points (no error was recorded)") for g in lost}
    for g, used in earlier_parts(assignment).items():  # one bug, pointed at once
        at_fault = [f for f, owner in used if owner in lost and owner != g]
        if g in res.part_reasons and at_fault:
            res.part_reasons[g] += (f" (it calls {', '.join(at_fault)}, which lost its points "
                                    "too: fix that first)")
    if v.get("status") != "graded":  # a grader error: every part 0, the reason says why
        res.status = "failed"
        res.reason = v.get("reason") or "the grader's checks did not run"
        return
    res.status = "graded"
    groups: dict[str, list[str]] = {}
    for g in lost:  # parts that failed for the same reason share one entry
        groups.setdefault(res.part_reasons[g], []).append(g)
    res.reason = "; ".join(f"{', '.join(gs)}: {msg}" for msg, gs in groups.items())[:2000]


def check_submission(config, nb, resources) -> dict:
    """What nbgrader's autograde cannot see: the declared parts' checks, and tampering.

    Judges the data the kernel returned for each part (``resources["course_grader"]``,
    left there by :class:`~course_grader.execute.SandboxedExecute`) against the declared
    references, and scans the learner's cells of the submitted notebook for tampering
    (a flag for the instructor: scores come from the checks, which it cannot reach).
    Returns ``{"failures": {grade_id: reason}, "flags": [...]}``.
    """
    nbg = resources["nbgrader"]
    student, assignment = nbg["student"], nbg["assignment"]
    cd = CourseDirectory(config=config)
    submitted_dir = cd.format_path(cd.submitted_directory, student, assignment)
    submitted_nb = nbformat.read(os.path.join(submitted_dir, f"{nbg['notebook']}.ipynb"),
                                 as_version=4)
    flags = []
    setup_src = "\n".join(c.source for c in nb.cells if c.get("cell_type") == "code"
                          and c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    learner_cells = [c.source for c in submitted_nb.cells if c.get("cell_type") == "code"
                     and not (c.metadata.get("nbgrader", {}) or {}).get("locked")]
    tamper, suspect = scan_cells(learner_cells, helper_names(setup_src))
    if suspect:
        flags.append("uses: " + ", ".join(suspect))
    if tamper:
        flags.append("tampering: " + ", ".join(tamper[:8]))
    checked = resources.get("course_grader")
    if not checked or "calls" not in checked:
        raise RuntimeError("the sandboxed execution left no checks (is SandboxedExecute "
                           "the autograde's Execute step?)")
    why = checked.get("why") or "its test cell did not run"
    missing = {gid: f"not checked: {why}" for gid in checked["calls"]}
    failures = judge(checked["calls"], checked["results"], missing, checked["seed"], student)
    return {"failures": failures, "flags": flags,
            "check_seconds": round(checked.get("seconds", 0.0), 2)}


def _fail_cells(nb, reasons: dict[str, str], always: bool = False) -> None:
    """Give each test cell in ``reasons`` an error output, so nbgrader scores it 0.

    Only cells the kernel passed get one (their message says why the points went),
    unless ``always``.
    """
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") != "code" or gid not in reasons:
            continue
        if not always and any(o.get("output_type") == "error" for o in cell.outputs):
            continue
        why = reasons[gid]
        ename = "GraderError" if always else "CheckFailed"
        cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=why,
                                                   traceback=[f"{ename}: {why}"]))


def _fails(out) -> bool:
    """An output nbgrader scores 0 for: an error, or anything written to stderr."""
    return out.get("output_type") == "error" or (
        out.get("output_type") == "stream" and out.get("name") == "stderr")


def _kernel_failed(cell) -> bool:
    return any(_fails(o) for o in cell.outputs)


def restore_judged_parts(nb, assignment: str, failures: dict[str, str]) -> dict[str, str]:
    """Give back the points of test cells that failed in the kernel only because an
    earlier part they call is wrong, when the grader's check (run with that earlier part's
    reference standing in) passed: one bug costs one part. Returns grade_id -> note."""
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if c.get("cell_type") == "code" and utils.is_grade(c)}
    lost = {g for g, c in cells.items() if g in failures or _kernel_failed(c)}
    restored = {}
    for gid, used in earlier_parts(assignment).items():
        cell = cells.get(gid)
        at_fault = [f for f, owner in used if owner in lost and owner != gid]
        if cell is None or gid in failures or not _kernel_failed(cell) or not at_fault:
            continue
        note = (f"This test failed because {', '.join(at_fault)} (an earlier part) is wrong; "
                "checked with a correct one in its place, this part is right, so it keeps "
                "its points.")
        cell.outputs = [o for o in cell.outputs if not _fails(o)]
        cell.outputs.append(nbformat.v4.new_output(
            "display_data", data={"text/plain": note}, metadata={"course_grader": "restored"}))
        restored[gid] = note
    return restored


class VerifyGrades(NbGraderPreprocessor):
    """Autograde step before ``SaveAutoGrades``: the grader's checks decide, fail closed.

    The verdict of :func:`check_submission` turns into error outputs of the test cells it
    fails, so nbgrader's own ``SaveAutoGrades`` scores them 0 (a cell the kernel failed
    scores 0 anyway: the kernel can lose points, never earn them, with one exception: a
    part that failed in the kernel only because an earlier part it calls is wrong, and
    that passes the grader's check with the earlier part's reference standing in, keeps
    its points, :func:`restore_judged_parts`). ANY exception while
    checking gives every test cell an error output (so 0 points, never the kernel's own
    scores) and the notebook the status ``failed`` with the reason; the test cells are then
    marked for manual grading (:class:`FlagManualGrades`). An error inside this step that
    escapes it makes nbgrader fail the notebook, which scores 0 too. The verdict is kept in
    the notebook's metadata (``course_grader``) for ``make grade``'s report.
    """

    def preprocess(self, nb, resources):
        grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if utils.is_grade(c)]
        try:
            verdict = check_submission(self.config, nb, resources)
            verdict.update(status="graded", reason="", manual={})
            verdict["restored"] = restore_judged_parts(
                nb, resources["nbgrader"]["assignment"], verdict["failures"])
            _fail_cells(nb, verdict["failures"])
        except Exception as err:
            why = (f"grader error while checking this submission ({type(err).__name__}: "
                   f"{str(err)[:300]}); needs manual grading")
            self.log.error("%s/%s: %s", resources["nbgrader"].get("student"),
                           resources["nbgrader"].get("assignment"), why)
            verdict = {"status": "failed", "reason": why, "failures": {},
                       "manual": {g: why for g in grade_ids}, "flags": ["grader-error"]}
            _fail_cells(nb, verdict["manual"], always=True)
        nb.metadata["course_grader"] = verdict
        return nb, resources


class FlagManualGrades(NbGraderPreprocessor):
    """Autograde step after ``SaveAutoGrades``: mark the parts a grader error left open."""

    def preprocess(self, nb, resources):
        manual = (nb.metadata.get("course_grader") or {}).get("manual") or {}
        if manual:
            nbg = resources["nbgrader"]
            with Gradebook(nbg["db_url"]) as gb:
                for gid in manual:
                    try:
                        g = gb.find_grade(gid, nbg["notebook"], nbg["assignment"],
                                          nbg["student"])
                    except MissingEntry:
                        continue
                    g.needs_manual_grade = True
                gb.db.commit()
        return nb, resources


def worker_context():
    """Where grading processes come from: a forkserver with this module imported once, so
    a student costs a fork, not an interpreter start and nbgrader's imports (about 3 s of
    CPU). The local batch and each Dask worker start their students from it."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["course_grader.worker"])
    return ctx


def worker_main(root, assignment, student, staging, state_dir, settings) -> None:
    """Entry point of the worker process (own process group; output to a log file)."""
    os.setpgrp()
    die_with_parent()  # the forkserver goes when the batch or Dask worker that owns it does
    venv_bin_first()  # a Dask worker's PATH need not start with the course environment
    # last resort if the batch that started us is gone: SIGALRM's default action ends us
    # (and, through PR_SET_PDEATHSIG, our kernel)
    signal.alarm(int(settings.student_seconds) + 60)
    log_dir = os.path.join(state_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    log = os.open(os.path.join(log_dir, f"{student}.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    grade_student(root, assignment, student, staging, state_dir, settings)
    sys.stdout.flush()
    sys.stderr.flush()
