"""Grading on a Dask cluster (``--dask``): the same results as the local worker processes.

A scheduler and two workers are started as separate processes on 127.0.0.1 (what an
instructor would run on other machines: ``dask scheduler`` and ``dask worker``). The same
class of ch02_lstm_cell submissions, copied into two throw-away courses, is graded once by
the local worker processes and once through the cluster, with the same seed for the checks; one
worker is killed with SIGKILL in the middle of the cluster's run. About 80 s on 2 cores.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from course_grader import classroom

sys.path.insert(0, os.path.dirname(__file__))
from test_grading import REPO, _env, _grade, _rows

pytestmark = [pytest.mark.grading]

A = "ch02_lstm_cell"
SEED = "11"
BIN = os.path.join(REPO, ".venv", "bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path: str, text: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with open(path, errors="replace") as f:
            if text in f.read():
                return
        assert proc.poll() is None, f"{path}: the process ended:\n{open(path).read()[-2000:]}"
        time.sleep(0.3)
    raise AssertionError(f"{path}: no {text!r} after {seconds} s:\n{open(path).read()[-2000:]}")


def _start(procs: dict, logs, name: str, *args: str, ready: str) -> None:
    """Start ``dask <args>`` as ``procs[name]``, logging to ``logs/<name>.log``; wait for
    ``ready`` in its log."""
    log = os.path.join(logs, f"{name}.log")
    with open(log, "w") as f:
        procs[name] = subprocess.Popen([os.path.join(BIN, "dask"), *args], stdout=f,
                                       stderr=subprocess.STDOUT, env=_env(), cwd=logs)
    _wait_for(log, ready, procs[name])


def _start_scheduler(procs: dict, logs) -> str:
    address = f"tcp://127.0.0.1:{_free_port()}"
    _start(procs, logs, "scheduler", "scheduler", "--host", "127.0.0.1", "--port",
           address.rsplit(":", 1)[1], "--no-dashboard", ready="Scheduler at")
    return address


def _stop(procs: dict) -> None:
    for p in procs.values():
        p.kill()
        p.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask scheduler and two single-threaded workers, each its own process."""
    logs = tmp_path_factory.mktemp("dask")
    procs = {}
    try:
        address = _start_scheduler(procs, logs)
        for w in ("w1", "w2"):
            _start(procs, logs, w, "worker", address, "--nthreads", "1", "--no-nanny",
                   "--no-dashboard", "--name", w, ready="Registered to")
        yield address, procs
    finally:
        _stop(procs)


def _make_class(dest: str) -> None:
    """12 submissions (solution, untouched, ten partial ones) and one misnamed notebook."""
    classroom.make_course(dest, [A])
    sols = list(classroom.solution_cells(classroom.read(dest, "solutions", A)))
    classroom.submit(dest, "s00_solution", A, classroom.read(dest, "solutions", A))
    classroom.submit(dest, "s01_untouched", A, classroom.read(dest, "exercises", A),
                     files={".secret": "dropped", "notes.txt": "kept"})
    for k in range(2, 12):
        solved = [g for j, g in enumerate(sols) if (k >> (j % 4)) & 1 or j == k % len(sols)]
        classroom.submit(dest, f"s{k:02d}_partial", A, classroom.partial(dest, A, solved))
    classroom.submit(dest, "s12_misnamed", A, classroom.read(dest, "exercises", A),
                     name="Untitled")


def _gradebook(root) -> list[tuple]:
    """Every grade of the gradebook: (student, part, auto score, needs manual grading)."""
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        return sorted((sub.student_id, g.name, g.auto_score, g.needs_manual_grade)
                      for sub in gb.assignment_submissions(A)
                      for n in sub.notebooks for g in n.grades)


def _without_seconds(rows: dict) -> dict:
    return {s: {k: v for k, v in r.items() if k != "seconds"} for s, r in rows.items()}


def test_dask_grades_like_the_local_workers_and_survives_a_killed_worker(cluster, tmp_path):
    address, procs = cluster
    local, remote = tmp_path / "local", tmp_path / "dask"
    _make_class(str(local))
    _make_class(str(remote))

    p = _grade(local, [A], "--seed", SEED)
    out_local = p.communicate(timeout=600)[0]
    assert p.returncode == 0, out_local[-3000:]

    p = _grade(remote, [A], "--seed", SEED, "--dask", address)
    lines, killed_after = [], None
    for line in p.stdout:
        lines.append(line)
        if line.startswith("[8/") and killed_after is None:
            procs["w1"].send_signal(signal.SIGKILL)  # mid-run: w1 is grading someone
            killed_after = line
    p.wait(600)
    p.stdout.close()
    out = "".join(lines)
    assert p.returncode == 0, out[-3000:]
    assert killed_after, out[-3000:]
    assert procs["w1"].wait(10) == -signal.SIGKILL

    got, want = _rows(remote, A), _rows(local, A)
    assert len(got) == 13, sorted(got)
    assert _without_seconds(got) == _without_seconds(want)
    assert [s for s, r in got.items() if r["status"] != "graded"] == ["s12_misnamed"]
    assert got["s00_solution"]["score"] == got["s00_solution"]["max_score"]
    assert "dropped files: .secret" in got["s01_untouched"]["flags"]
    progress = [ln for ln in lines if ln.startswith("[") and "/12]" in ln]
    assert len(progress) == 12, out  # one line per student: none lost, none twice

    # the instructor's gradebook, feedback pages and autograded notebooks, as locally
    assert _gradebook(remote) == _gradebook(local)
    for s, r in got.items():
        if r["status"] == "graded":
            for step, ext in (("feedback", "html"), ("autograded", "ipynb")):
                assert (remote / step / s / A / f"{A}.{ext}").is_file(), (step, s)
            log = remote / "grades" / ".state" / A / "logs" / f"{s}.log"
            assert log.stat().st_size > 0, s


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    classroom.make_course(str(tmp_path), [A])
    classroom.submit(str(tmp_path), "alice", A, classroom.read(str(tmp_path), "exercises", A))
    address = f"tcp://127.0.0.1:{_free_port()}"
    p = _grade(tmp_path, [A], "--dask", address)
    out = p.communicate(timeout=120)[0]
    p.stdout.close()
    assert p.returncode == 2, out[-2000:]
    assert f"no Dask scheduler answers at {address}" in out
    assert "dask worker" in out


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path):
    """Nothing is graded (and nothing earlier overwritten) when no worker could grade."""
    classroom.make_course(str(tmp_path), [A])
    classroom.submit(str(tmp_path), "alice", A, classroom.read(str(tmp_path), "exercises", A))
    procs = {}
    try:
        address = _start_scheduler(procs, tmp_path)
        p = _grade(tmp_path, [A], "--dask", address)
        out = p.communicate(timeout=120)[0]
        p.stdout.close()
    finally:
        _stop(procs)
    assert p.returncode == 2, out[-2000:]
    assert f"the Dask scheduler at {address} has no workers" in out
    assert not (tmp_path / "grades" / f"{A}.csv").exists()


def test_returned_files_cannot_leave_their_folder(tmp_path):
    from course_grader.remote import read_tree, write_tree

    write_tree(str(tmp_path / "ok"), {"a/b.txt": b"x"})
    assert read_tree(str(tmp_path / "ok")) == {"a/b.txt": b"x"}
    for bad in ("../escape.txt", "/etc/escape", "a/../../escape"):
        with pytest.raises(ValueError, match="outside"):
            write_tree(str(tmp_path / "ok"), {bad: b"x"})
    assert not (tmp_path / "escape.txt").exists()
