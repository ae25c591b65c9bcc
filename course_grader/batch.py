"""Grade every submission of one assignment: ``python -m course_grader grade <name>``.

One process per student (forked from a server that has nbgrader imported, so a student
costs no interpreter start-up), ``--workers`` of them at a time, each with its own time
limit: a worker that overruns is killed with its kernel and the student gets a row saying
so. Results come back as JSON files; the CSV, the summary and the histogram are then
written from them and from the gradebook, for every folder in ``submitted/``.
"""

from __future__ import annotations

import difflib
import fcntl
import json
import multiprocessing.connection
import os
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from . import report
from .config import Settings, grading_config
from .sandbox import check_sandbox, kill_group
from .worker import (
    StudentResult,
    quick_status,
    remove_results,
    stage_submission,
    worker_context,
    worker_main,
    write_result,
)

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


@dataclass
class _Plan:
    """One assignment of a run: its students, limits from the gradebook, its results."""

    assignment: str
    students: list
    todo: list
    state_dir: str
    max_score: float = 0.0
    part_max: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)


def grade_assignments(root: str, assignments: list[str], *, settings: Settings | None = None,
                      workers: int | None = None, only: list[str] | None = None,
                      dask: str | None = None, echo=print) -> dict[str, list[StudentResult]]:
    """Grade several assignments in one pool of workers; one report per assignment.

    ``dask``: the address of a Dask scheduler (``tcp://host:8786``) whose workers grade
    instead of local worker processes (:mod:`course_grader.remote`).
    """
    t_start = time.monotonic()
    settings = settings or Settings()
    workers = workers or default_workers()
    root = os.path.abspath(root)
    check_sandbox()
    client = _dask_client(dask) if dask else None  # an unreachable scheduler: say so first
    cfg = grading_config(root, settings)
    cd = CourseDirectory(config=cfg)
    submitted = cd.format_path(cd.submitted_directory, ".", ".")
    students = sorted(d for d in (os.listdir(submitted) if os.path.isdir(submitted) else [])
                      if os.path.isdir(os.path.join(submitted, d)) and not d.startswith("."))
    grades_dir = os.path.join(root, "grades")
    plans = []
    known = known_assignments(cd)
    for a in dict.fromkeys(assignments):
        if a not in known:
            raise GradingError(unknown_assignment(a, known, cd.source_directory))
        plans.append(_Plan(a, students, [s for s in students if only is None or s in only],
                           os.path.join(grades_dir, ".state", a)))
    if only is not None and (unknown := sorted(set(only) - set(students))):
        raise GradingError(f"--only names no folder in {submitted}/: {', '.join(unknown)}")
    for plan in plans:  # nothing to grade: say so and keep every earlier result
        if not any(os.path.lexists(os.path.join(submitted, s, plan.assignment))
                   for s in plan.todo):
            raise GradingError(
                f"nothing to grade: no {os.path.join(submitted, '<student_id>', plan.assignment)}"
                f"/ folder. Put each notebook at submitted/<student_id>/{plan.assignment}/"
                f"{plan.assignment}.ipynb (earlier results in grades/ are left as they were)")
    os.makedirs(grades_dir, exist_ok=True)
    lock = open(os.path.join(grades_dir, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise GradingError("another grading run is in progress in this course") from None
    tmp = tempfile.mkdtemp(prefix="lstm-grader-")
    try:
        jobs = []
        for plan in plans:
            os.makedirs(plan.state_dir, exist_ok=True)
            prepare_gradebook(root, plan.assignment, settings, tmp)
            with Gradebook(cd.db_url, cd.course_id) as gb:
                asg = gb.find_assignment(plan.assignment)
                plan.max_score = float(asg.max_score)
                plan.part_max = {c.name: float(c.max_score) for n in asg.notebooks
                                 for c in n.grade_cells}
            for s in plan.todo:
                if os.path.islink(os.path.join(submitted, s)):
                    res = StudentResult(s, status="failed", max_score=plan.max_score,
                                        parts={g: 0.0 for g in plan.part_max},
                                        reason="the student folder is a symbolic link")
                    remove_results(cfg, plan.assignment, s)
                    write_result(plan.state_dir, res)
                    plan.results[s] = res
                elif _BAD_ID.search(s) or not s.isprintable():
                    res = StudentResult(s, status="failed", max_score=plan.max_score,
                                        parts={g: 0.0 for g in plan.part_max},
                                        reason="folder name is not usable as a student id "
                                        "(no spaces, quotes, * ? [ ] or leading . or -)")
                    write_result(plan.state_dir, res)
                    plan.results[s] = res
                elif (quick := quick_status(
                        cd.format_path(cd.submitted_directory, s, plan.assignment),
                        plan.assignment)) is not None:
                    res = StudentResult(s, status=quick[0], reason=quick[1],
                                        max_score=plan.max_score,
                                        parts={g: 0.0 for g in plan.part_max})
                    remove_results(cfg, plan.assignment, s)
                    write_result(plan.state_dir, res)
                    plan.results[s] = res
                    echo(f"[-] {s}/{plan.assignment}: 0/{plan.max_score:g} "
                         f"{quick[0].upper()}: {quick[1]}")
                else:
                    jobs.append((plan, s))
        names = ", ".join(p.assignment for p in plans)
        if dask:
            echo(f"Grading {names}: {len(jobs)} submission(s) on the Dask cluster at {dask}, "
                 "sandboxed")
            _run_dask(client, root, jobs, os.path.join(tmp, "submitted"), settings, echo, cfg,
                      several=len(plans) > 1)
        else:
            echo(f"Grading {names}: {len(jobs)} submission(s), {workers} at a time, "
                 "sandboxed")
            _run_workers(root, jobs, os.path.join(tmp, "submitted"), settings, workers, echo,
                         cfg, several=len(plans) > 1)
        os.makedirs(grades_dir, exist_ok=True)
        out = {}
        for plan in plans:
            out[plan.assignment] = _write_reports(root, cd, plan, grades_dir,
                                                  time.monotonic() - t_start, echo)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        lock.close()
        if client is not None:
            client.close()


def known_assignments(cd: CourseDirectory) -> list[str]:
    """Names of the assignments: folders of the source directory holding <name>.ipynb."""
    src = cd.format_path(cd.source_directory, ".", ".")
    return sorted(a for a in (os.listdir(src) if os.path.isdir(src) else [])
                  if os.path.isfile(os.path.join(src, a, f"{a}.ipynb")))


def unknown_assignment(name: str, known: list[str], source_dir: str) -> str:
    """The error for an assignment name that is not one: the valid names, a best guess."""
    guess = difflib.get_close_matches(os.path.splitext(os.path.basename(name))[0], known, 1)
    hint = f" Did you mean {guess[0]}?" if guess else ""
    return (f"no assignment {name!r} (no {source_dir}/{name}/{name}.ipynb).{hint} "
            f"The assignments are: {', '.join(known) or '(none)'}")


def _write_reports(root, cd, plan: _Plan, grades_dir: str, seconds: float, echo):
    a = plan.assignment
    rows = []
    for s in plan.students:
        r = plan.results.get(s) or _load(plan.state_dir, s)
        if r is None:
            r = StudentResult(s, status="not graded", max_score=plan.max_score,
                              parts={g: 0.0 for g in plan.part_max},
                              reason="not graded yet (run without --only)")
        rows.append(r)
    report.write_csv(os.path.join(grades_dir, f"{a}.csv"), rows, list(plan.part_max))
    text = report.write_summary(grades_dir, a, rows, plan.part_max, seconds)
    report.write_histogram(os.path.join(grades_dir, f"{a}_hist.png"), a, rows)
    echo("")
    echo(text.replace(f"![Histogram of scores]({a}_hist.png)", "").rstrip())
    echo("")
    fb = os.path.relpath(cd.format_path(cd.feedback_directory, "*", a), root)
    echo(f"Wrote grades/{a}.csv, grades/{a}_parts.csv, grades/{a}_summary.md, "
         f"grades/{a}_hist.png; feedback in {fb}/")
    return rows


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _failed_row(cfg, plan: _Plan, student: str, status: str, why: str,
                seconds: float) -> StudentResult:
    """The row of a student whose grading did not finish: 0, the status and the reason."""
    res = StudentResult(student, status=status, reason=why, max_score=plan.max_score,
                        parts={g: 0.0 for g in plan.part_max}, seconds=round(seconds, 2))
    try:
        remove_results(cfg, plan.assignment, student)
    except Exception as err:
        res.flags.append(f"cleanup failed: {err}")
    write_result(plan.state_dir, res)
    return res


def _progress(plan: _Plan, res: StudentResult, done: int, total: int, several: bool,
              echo) -> None:
    plan.results[res.student_id] = res
    who = f"{res.student_id}/{plan.assignment}" if several else res.student_id
    line = f"[{done}/{total}] {who}: {res.score:g}/{res.max_score:g} ({res.seconds:.1f} s)"
    if res.status != "graded":
        line += f" {res.status.upper()}: {res.reason}"
    echo(line)
    sys.stdout.flush()


def _dask_client(address: str):
    from . import remote

    try:
        client = remote.connect(address)
    except RuntimeError as err:
        raise GradingError(str(err)) from None
    if not client.scheduler_info().get("workers"):
        client.close()
        raise GradingError(f"the Dask scheduler at {address} has no workers: start them with "
                           f"`.venv/bin/dask worker {address} --nthreads 1` on the grading "
                           "machines (earlier results in grades/ are left as they were)")
    return client


def _run_dask(client, root, jobs, staging, settings, echo, cfg, several) -> None:
    """Grade ``jobs`` on a Dask cluster; write each result here as it comes back."""
    from distributed import wait

    from . import remote

    cd = CourseDirectory(config=cfg)
    n = len(client.scheduler_info().get("workers", {}))
    echo(f"  {n} Dask worker(s) connected")
    [course] = client.scatter([remote.course_snapshot(root)], broadcast=True)
    futures = {}
    for plan, student in jobs:
        src = cd.format_path(cd.submitted_directory, student, plan.assignment)
        dest = os.path.join(staging, plan.assignment, student)
        info = stage_submission(src, dest, plan.assignment)
        job = {"assignment": plan.assignment, "student": student,
               "files": remote.read_tree(dest), "settings": asdict(settings)}
        shutil.rmtree(dest, ignore_errors=True)
        try:
            os.remove(os.path.join(plan.state_dir, f"{student}.json"))
        except FileNotFoundError:
            pass
        fut = client.submit(remote.grade_job, job, course, pure=False,
                            key=f"grade-{plan.assignment}-{student}-{os.urandom(4).hex()}")
        futures[fut] = (plan, student, info, time.monotonic())
    # a cluster that stops answering (scheduler gone, no worker left) must not hang the
    # run: when no student comes back for twice a student's time limit (+ 1 min), the
    # remaining ones get a row saying so
    stall = 2 * settings.student_seconds + 60
    pending, done = list(futures), 0
    while pending:
        try:
            with client.as_current():  # distributed.wait finds its client this way
                finished, not_done = wait(pending, timeout=stall,
                                          return_when="FIRST_COMPLETED")
        except TimeoutError:
            for fut in pending:
                plan, student, _info, started = futures.pop(fut)
                done += 1
                fut.cancel()
                res = _failed_row(cfg, plan, student, "failed", f"no Dask worker finished a "
                                  f"student for {stall} s (are the workers alive?)",
                                  time.monotonic() - started)
                _progress(plan, res, done, len(jobs), several, echo)
            break
        for fut in finished:
            done += 1
            _collect_dask(fut, futures.pop(fut), done, len(jobs), cfg, settings, several, echo)
        pending = list(not_done)


def _collect_dask(fut, entry, done, total, cfg, settings, several, echo) -> None:
    """Write one finished (or failed) Dask task's student into the course."""
    from . import remote

    plan, student, info, started = entry
    try:
        out = fut.result()
        why = ""
    except Exception as err:  # e.g. KilledWorker: its workers kept dying
        out, why = None, f"the Dask task failed ({type(err).__name__}: {str(err)[:200]})"
    res = None
    if out and out.get("result"):
        out["assignment"] = plan.assignment
        if info["dropped"]:  # staged here, so the worker saw nothing to drop
            out["result"]["flags"].insert(0, "dropped files: "
                                          + ", ".join(info["dropped"][:10]))
        try:
            res = remote.apply_result(cfg, plan.state_dir, out)
        except Exception as err:
            why = f"writing the results failed ({type(err).__name__}: {err})"
    if res is None:
        timed_out = bool(out and out.get("timed_out"))
        why = why or (f"grading stopped after {settings.student_seconds} s (time limit)"
                      if timed_out else "the grading process on the Dask worker died "
                      f"(exit {out and out.get('exit')})")
        res = _failed_row(cfg, plan, student, "timeout" if timed_out else "failed", why,
                          time.monotonic() - started)
    _progress(plan, res, done, total, several, echo)
    fut.release()


def _run_workers(root, jobs, staging, settings, n_workers, echo, cfg, several) -> None:
    ctx = worker_context()
    pending = deque(jobs)
    running: dict[tuple, tuple] = {}
    done = 0
    total = len(jobs)

    def finish(plan: _Plan, student: str, proc, started: float, timed_out: bool) -> None:
        nonlocal done
        done += 1
        res = None if timed_out else _load(plan.state_dir, student)
        if res is None:
            why = (f"grading stopped after {settings.student_seconds} s (time limit)"
                   if timed_out else f"the grading process died (exit {proc.exitcode})")
            res = _failed_row(cfg, plan, student, "timeout" if timed_out else "failed", why,
                              time.monotonic() - started)
        _progress(plan, res, done, total, several, echo)

    try:
        while pending or running:
            while pending and len(running) < n_workers:
                plan, student = pending.popleft()
                try:
                    os.remove(os.path.join(plan.state_dir, f"{student}.json"))
                except FileNotFoundError:
                    pass
                proc = ctx.Process(target=worker_main, name=f"grade-{student}",
                                   args=(root, plan.assignment, student, staging,
                                         plan.state_dir, settings))
                proc.start()
                running[(plan.assignment, student)] = (plan, proc, time.monotonic())
            multiprocessing.connection.wait([p.sentinel for _, p, _ in running.values()],
                                            timeout=0.5)
            for key, (plan, proc, started) in list(running.items()):
                if not proc.is_alive():
                    proc.join()
                    del running[key]
                    finish(plan, key[1], proc, started, False)
                elif time.monotonic() - started > settings.student_seconds:
                    kill_group(proc)
                    proc.join(10)
                    del running[key]
                    finish(plan, key[1], proc, started, True)
    finally:
        for _plan, proc, _started in running.values():
            kill_group(proc)
