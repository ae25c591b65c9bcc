"""Grading one student as a function of plain data, for a Dask cluster.

``python -m course_grader grade <assignment> --dask tcp://HOST:8786`` (or with
``DASK_SCHEDULER_ADDRESS`` set) sends each student to a worker of a ``dask.distributed``
cluster as :func:`grade_job` ``(job, course) -> dict``:

- in: the assignment, the student id, the submission's files as bytes (already staged by
  the instructor's machine: no link, no hidden or oversized file), the limits and the
  seed, and ``course`` (sent once to every worker): the course's ``nbgrader_config.py``
  and a snapshot of its gradebook holding the assignment's cells and points;
- out: the :class:`~course_grader.worker.StudentResult` as a dict, the autograded
  notebook folder and the feedback folder as bytes, the log, and the student's gradebook
  entries (auto scores, manual-grading flags, late penalty).

A worker builds a private course in a scratch folder from that, grades it with
:func:`course_grader.worker.grade_student` (the same function the local worker processes
run: sandboxed kernel, the parts' checks, nbgrader's feedback), in a child process forked
as locally (:func:`~course_grader.worker.worker_context`) and killed with its kernel at
the student's time limit, and deletes the folder. Workers need
only the course environment and bubblewrap; they never see the real gradebook or the
other students' files. The instructor's machine alone writes the gradebook,
``autograded/``, ``feedback/`` and ``grades/`` (:func:`apply_result`), once per student:
a worker that dies has its students graded again by another one (Dask reschedules them),
and a student whose task fails gets a row that says so.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import tempfile
import warnings
from datetime import datetime

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning

from .config import Settings, db_path, grading_config, load_course_config
from .sandbox import kill_group
from .worker import StudentResult, remove_results, worker_context, worker_main, write_result


# ------------------------------------------------------------------ bytes in, bytes out
def read_tree(path: str) -> dict[str, bytes]:
    """Every regular file under ``path`` as ``{relative path: bytes}`` (links skipped)."""
    out = {}
    if not os.path.isdir(path):
        return out
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, "rb") as f:
                    out[os.path.relpath(full, path)] = f.read()
    return out


def write_tree(path: str, files: dict[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``path``; refuses paths that leave it."""
    base = os.path.realpath(path)
    for rel, data in files.items():
        target = os.path.realpath(os.path.join(base, rel))
        if os.path.isabs(rel) or not target.startswith(base + os.sep):
            raise ValueError(f"refusing to write {rel!r} outside {path}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)


def course_snapshot(root: str) -> dict[str, bytes]:
    """What every worker needs of the course: its nbgrader_config.py and gradebook.

    The gradebook is copied with SQLite's backup API (a consistent copy even while
    another process holds it open).
    """
    cfg = load_course_config(root)
    db = db_path(root, cfg)
    rel = os.path.relpath(db, root)
    if rel.startswith(".."):
        raise ValueError(f"the gradebook {db} is outside the course folder {root}: grading on "
                         "a Dask cluster needs it inside (db_url = 'sqlite:///gradebook.db')")
    out = {}
    conf = os.path.join(root, "nbgrader_config.py")
    if os.path.exists(conf):
        with open(conf, "rb") as f:
            out["nbgrader_config.py"] = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "gradebook.db")
        src = sqlite3.connect(db)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        with open(copy, "rb") as f:
            out[rel] = f.read()
    return out


# ------------------------------------------------------------------ the worker's side
def grade_job(job: dict, course: dict[str, bytes]) -> dict:
    """Grade one student from plain data; return plain data (see the module docstring).

    Parameters
    ----------
    job : dict
        ``assignment``, ``student``, ``files`` ({relative path: bytes} of the staged
        submission folder) and ``settings`` (the fields of :class:`Settings`).
    course : dict
        :func:`course_snapshot` of the instructor's course.

    Returns
    -------
    dict
        ``result`` (StudentResult fields), ``autograded`` and ``feedback`` ({relative
        path: bytes}), ``log`` (str) and ``gradebook`` (:func:`gradebook_entries`, or
        None when nbgrader recorded no submission).
    """
    a, s = job["assignment"], job["student"]
    settings = Settings(**job["settings"])
    with tempfile.TemporaryDirectory(prefix="lstm-grade-") as root:
        write_tree(root, course)
        cfg = grading_config(root, settings)
        if not db_path(root, cfg).startswith(root + os.sep):
            raise ValueError("the course's gradebook must be inside the course folder")
        cd = CourseDirectory(config=cfg)
        write_tree(cd.format_path(cd.submitted_directory, s, a), job["files"])
        state_dir = os.path.join(root, "grades", ".state", a)
        os.makedirs(state_dir)
        proc = worker_context().Process(
            target=worker_main, name=f"grade-{s}",
            args=(root, a, s, os.path.join(root, ".staging"), state_dir, settings))
        proc.start()
        proc.join(settings.student_seconds)
        timed_out = proc.is_alive()
        kill_group(proc)  # the child's process group: its kernel and the sandbox go with it
        proc.join()
        result = None
        if not timed_out:
            try:
                with open(os.path.join(state_dir, f"{s}.json"), encoding="utf-8") as f:
                    result = json.load(f)
            except (OSError, ValueError):
                result = None
        log = b""
        try:
            with open(os.path.join(state_dir, "logs", f"{s}.log"), "rb") as f:
                log = f.read()[-2_000_000:]
        except OSError:
            pass
        return {
            "result": result,
            "timed_out": timed_out,
            "exit": proc.exitcode,
            "worker": os.uname().nodename,
            "autograded": read_tree(cd.format_path(cd.autograded_directory, s, a)),
            "feedback": read_tree(cd.format_path(cd.feedback_directory, s, a)),
            "log": log.decode("utf-8", "replace"),
            "gradebook": gradebook_entries(cd.db_url, a, s) if result else None,
        }


def gradebook_entries(db_url: str, assignment: str, student: str) -> dict | None:
    """What nbgrader's autograde recorded for one submission, as plain data."""
    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "notebooks": {
                n.name: {
                    "late_submission_penalty": n.late_submission_penalty,
                    "grades": {g.name: {"auto_score": g.auto_score,
                                        "needs_manual_grade": g.needs_manual_grade}
                               for g in n.grades},
                    "comments": {c.name: {"auto_comment": c.auto_comment}
                                 for c in n.comments},
                } for n in sub.notebooks},
        }


# ------------------------------------------------------------------ the instructor's side
def apply_result(root_cfg, state_dir: str, out: dict) -> StudentResult:
    """Write one student's returned grading into the course (gradebook, folders, state);
    return the student's row.

    Autograde's own fields (auto scores, the manual-grading flags, the late penalty, the
    submission time) are written through nbgrader's Gradebook API; manual grades entered
    in the formgrader stay as they are.
    """
    res = StudentResult(**out["result"])
    a = out["assignment"]
    s = res.student_id
    cd = CourseDirectory(config=root_cfg)
    entries = out.get("gradebook")
    remove_results(root_cfg, a, s, gradebook=entries is None)
    if entries is not None:
        with Gradebook(cd.db_url, cd.course_id) as gb, warnings.catch_warnings():
            # nbgrader's own add_submission trips SQLAlchemy's autoflush warning
            warnings.simplefilter("ignore", SAWarning)
            gb.update_or_create_student(s)
            ts = entries["timestamp"]
            gb.update_or_create_submission(
                a, s, timestamp=datetime.fromisoformat(ts) if ts else None)
            for nb_name, n in entries["notebooks"].items():
                snb = gb.find_submission_notebook(nb_name, a, s)
                snb.late_submission_penalty = n["late_submission_penalty"]
                for name, g in n["grades"].items():
                    grade = gb.find_grade(name, nb_name, a, s)
                    grade.auto_score = g["auto_score"]
                    grade.needs_manual_grade = g["needs_manual_grade"]
                for name, c in n["comments"].items():
                    gb.find_comment(name, nb_name, a, s).auto_comment = c["auto_comment"]
            gb.db.commit()
        write_tree(cd.format_path(cd.autograded_directory, s, a), out["autograded"])
        write_tree(cd.format_path(cd.feedback_directory, s, a), out["feedback"])
    os.makedirs(os.path.join(state_dir, "logs"), exist_ok=True)
    with open(os.path.join(state_dir, "logs", f"{s}.log"), "w", encoding="utf-8") as f:
        f.write(out.get("log") or "")
    write_result(state_dir, res)
    return res


def connect(address: str):
    """A ``distributed.Client`` of the scheduler at ``address``, or a clear error."""
    from distributed import Client
    from distributed.comm import get_address_host_port

    try:
        # a port nobody listens on is refused at once; Client would retry for 10 s
        socket.create_connection(get_address_host_port(address), timeout=10).close()
        return Client(address, timeout="10s", set_as_default=False)
    except Exception as err:  # refused, timed out, or something else answers there
        raise RuntimeError(f"no Dask scheduler answers at {address} ({err}); start one "
                           "with `.venv/bin/dask scheduler` and workers with "
                           f"`.venv/bin/dask worker {address} --nthreads 1`") from None
