"""Grade every submission of one assignment: ``python -m course_grader grade <name>``.

One process per student (forked from a server that has nbgrader imported, so a student
costs no interpreter start-up), ``--workers`` of them at a time, each with its own time
limit: a worker that overruns is killed with its kernel and the student gets a row saying
so. Results come back as JSON files; the CSV, the summary and the histogram are then
written from them and from the gradebook, for every folder in ``submitted/``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.connection
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict

from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from . import report
from .config import Settings, grading_config
from .sandbox import check_sandbox
from .worker import StudentResult, remove_results, worker_main, write_result

_BAD_ID = re.compile(r"[\s*?\[\]\\'\"]|^[.-]")


class GradingError(RuntimeError):
    """The run cannot start (no sandbox, no such assignment, ...)."""


def _load(state_dir: str, student: str) -> StudentResult | None:
    path = os.path.join(state_dir, f"{student}.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return StudentResult(**data)
    except (OSError, ValueError, TypeError):
        return None


def prepare_gradebook(root: str, assignment: str, settings: Settings, tmp: str) -> None:
    """Put the assignment's source cells and points into the gradebook.

    Runs nbgrader generate_assignment with its student version written to a scratch
    folder, so exercises/ is never touched.
    """
    cfg = grading_config(root, settings, release=os.path.join(tmp, "release"))
    api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    out = api.generate_assignment(assignment, force=True, create=True)
    if not out.get("success"):
        raise GradingError(f"nbgrader generate_assignment {assignment} failed:\n"
                           + (out.get("log") or out.get("error") or "")[-2000:])


def grade_assignment(root: str, assignment: str, *, settings: Settings | None = None,
                     workers: int | None = None, only: list[str] | None = None,
                     echo=print) -> list[StudentResult]:
    """Grade ``submitted/*/<assignment>/`` under ``root``; write ``grades/``; return rows."""
    t_start = time.monotonic()
    settings = settings or Settings()
    root = os.path.abspath(root)
    check_sandbox()
    cfg = grading_config(root, settings)
    cd = CourseDirectory(config=cfg)
    source = os.path.join(cd.format_path(cd.source_directory, ".", assignment),
                          f"{assignment}.ipynb")
    if not os.path.isfile(source):
        raise GradingError(f"no source notebook {os.path.relpath(source, root)}")
    submitted = cd.format_path(cd.submitted_directory, ".", ".")
    students = sorted(d for d in (os.listdir(submitted) if os.path.isdir(submitted) else [])
                      if os.path.isdir(os.path.join(submitted, d)) and not d.startswith("."))
    grades_dir = os.path.join(root, "grades")
    state_dir = os.path.join(grades_dir, ".state", assignment)
    os.makedirs(state_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lstm-grader-")
    try:
        prepare_gradebook(root, assignment, settings, tmp)
        with Gradebook(cd.db_url, cd.course_id) as gb:
            asg = gb.find_assignment(assignment)
            max_score = float(asg.max_score)
            part_max = {c.name: float(c.max_score) for n in asg.notebooks
                        for c in n.grade_cells}
        todo = [s for s in students if only is None or s in only]
        results: dict[str, StudentResult] = {}
        for s in list(todo):
            if _BAD_ID.search(s) or not s.isprintable():
                res = StudentResult(s, status="failed", max_score=max_score,
                                    parts={g: 0.0 for g in part_max},
                                    reason="folder name is not usable as a student id "
                                    "(no spaces, quotes, * ? [ ] or leading . or -)")
                write_result(state_dir, res)
                results[s] = res
                todo.remove(s)
        echo(f"Grading {assignment}: {len(todo)} submission(s), "
             f"{workers or default_workers()} at a time, sandboxed")
        _run_workers(root, assignment, todo, os.path.join(tmp, "submitted"), state_dir,
                     settings, workers or default_workers(), max_score, part_max, results, echo,
                     cfg)
        rows = []
        for s in students:
            r = results.get(s) or _load(state_dir, s)
            if r is None:
                r = StudentResult(s, status="not graded", max_score=max_score,
                                  parts={g: 0.0 for g in part_max},
                                  reason="not graded yet (run without --only)")
            rows.append(r)
        os.makedirs(grades_dir, exist_ok=True)
        report.write_csv(os.path.join(grades_dir, f"{assignment}.csv"), rows, list(part_max))
        seconds = time.monotonic() - t_start
        text = report.write_summary(grades_dir, assignment, rows, part_max, seconds)
        report.write_histogram(os.path.join(grades_dir, f"{assignment}_hist.png"), assignment,
                               rows)
        echo("")
        echo(text.replace(f"![Histogram of scores]({assignment}_hist.png)", "").rstrip())
        echo("")
        fb = os.path.relpath(cd.format_path(cd.feedback_directory, "*", assignment), root)
        echo(f"Wrote grades/{assignment}.csv, grades/{assignment}_parts.csv, "
             f"grades/{assignment}_summary.md, grades/{assignment}_hist.png; "
             f"feedback in {fb}/")
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _context():
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["course_grader.worker"])
    return ctx


def _kill(proc) -> None:
    for fn in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            fn()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _run_workers(root, assignment, todo, staging, state_dir, settings, n_workers,
                 max_score, part_max, results, echo, cfg) -> None:
    ctx = _context()
    pending = deque(todo)
    running: dict[str, tuple] = {}
    done = 0
    total = len(todo)

    def finish(student: str, proc, started: float, timed_out: bool) -> None:
        nonlocal done
        done += 1
        res = None if timed_out else _load(state_dir, student)
        if res is None:
            why = (f"grading stopped after {settings.student_seconds} s (time limit)"
                   if timed_out else f"the grading process died (exit {proc.exitcode})")
            res = StudentResult(student, status="timeout" if timed_out else "failed",
                                reason=why, max_score=max_score,
                                parts={g: 0.0 for g in part_max},
                                seconds=round(time.monotonic() - started, 2))
            try:
                remove_results(cfg, assignment, student)
            except Exception as err:  # noqa: BLE001
                res.flags.append(f"cleanup failed: {err}")
            write_result(state_dir, res)
        results[student] = res
        line = (f"[{done}/{total}] {student}: {res.score:g}/{res.max_score:g} "
                f"({res.seconds:.1f} s)")
        if res.status != "graded":
            line += f" {res.status.upper()}: {res.reason}"
        echo(line)
        sys.stdout.flush()

    try:
        while pending or running:
            while pending and len(running) < n_workers:
                student = pending.popleft()
                try:
                    os.remove(os.path.join(state_dir, f"{student}.json"))
                except FileNotFoundError:
                    pass
                proc = ctx.Process(target=worker_main, name=f"grade-{student}",
                                   args=(root, assignment, student, staging, state_dir,
                                         settings))
                proc.start()
                running[student] = (proc, time.monotonic())
            multiprocessing.connection.wait([p.sentinel for p, _ in running.values()], timeout=0.5)
            for student, (proc, started) in list(running.items()):
                if not proc.is_alive():
                    proc.join()
                    del running[student]
                    finish(student, proc, started, False)
                elif time.monotonic() - started > settings.student_seconds:
                    _kill(proc)
                    proc.join(10)
                    del running[student]
                    finish(student, proc, started, True)
    finally:
        for proc, _ in running.values():
            _kill(proc)


def results_as_dicts(rows: list[StudentResult]) -> list[dict]:
    """The rows as plain dicts (for JSON)."""
    return [asdict(r) for r in rows]
