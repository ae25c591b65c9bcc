"""Out-of-kernel re-check of the parts listed in :mod:`course_grader.parts`.

The kernel's verdicts can be forged from inside the kernel, so for every part that asks
for a function ``lstm_ref`` also has, the grader:

1. draws fresh inputs in its own process (``Part.make_inputs``);
2. runs the submission's setup cell and solution cells (as restored by nbgrader) in a
   fresh Python in the same sandbox as the kernel, calls the learner's function on those
   inputs there, and gets back only data (arrays, numbers; never pickles);
3. compares the data with ``Part.reference`` in its own process (``Part.compare``).

A part whose re-check fails scores 0, whatever the kernel said. The sandboxed run also
reports which names of NumPy, of the builtins or of the setup cell the learner's cells
rebound (tampering), which the grader uses for the parts no re-check covers.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import _recheck_runner as runner
from .parts import PARTS, Part
from .sandbox import Limits, SandboxAccount, copy_files, die_with_parent, sandbox_argv

#: Largest stdout accepted from the sandboxed run.
MAX_OUTPUT = 64 * 2**20


@dataclass
class RecheckResult:
    """What the re-check found for one submission."""

    failed: dict[str, str] = field(default_factory=dict)   # grade_id -> reason
    passed: list[str] = field(default_factory=list)       # grade_ids
    tampered: list[str] = field(default_factory=list)      # names rebound by the cells
    cell_errors: list[str] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


def code_cells_for_recheck(nb) -> tuple[list[str], int]:
    """Sources of the setup cell(s) and solution cells of a (restored) notebook.

    Returns the sources and how many of them are setup (read-only, ungraded) cells.
    """
    setup, solutions = [], []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            solutions.append(cell.source)
        elif meta.get("grade_id") == "setup" and not meta.get("grade"):
            setup.append(cell.source)
    return setup + solutions, len(setup)


def _run_sandboxed(job: dict, limits: Limits, files: dict[str, str]) -> tuple[list[dict], str]:
    """Run the runner on ``job``; return its event lines and a note (why it stopped)."""
    tmp = tempfile.mkdtemp(prefix="lstm-grader-r")
    account = SandboxAccount(limits).__enter__()
    try:
        job_path = os.path.join(tmp, "job.json")
        with open(job_path, "w", encoding="utf-8") as f:
            json.dump(job, f)
        runner_path = shutil.copy(os.path.abspath(runner.__file__), tmp)
        files = copy_files(files, os.path.join(tmp, "files"))
        account.own(tmp)
        argv = sandbox_argv(
            [sys.executable, "-I", "/grader/runner.py", "/grader/job.json"],
            limits=limits, files=files, uid=account.uid,
            ro_files={"/grader/runner.py": runner_path, "/grader/job.json": job_path})
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        account.watch()
        chunks, size, over = [], 0, False

        def pump():
            nonlocal size, over
            while True:
                chunk = proc.stdout.read(1 << 16)
                if not chunk:
                    return
                size += len(chunk)
                if size > MAX_OUTPUT:
                    over = True
                    proc.kill()
                    return
                chunks.append(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        reader.join(limits.seconds + 15)
        if reader.is_alive():
            proc.kill()
            reader.join(5)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
        events = []
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict):
                events.append(ev)
        done = any(ev.get("done") for ev in events)
        note = ""
        if account.stopped:
            note = f"the re-check was {account.stopped}"
        elif over:
            note = "the re-check printed too much and was stopped"
        elif not done:
            note = (f"the re-check did not finish (exit {rc}; limit {limits.seconds} s): "
                    "the code ran too long, exited or crashed")
        return events, note
    finally:
        account.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)


def _run_with_retries(cells, n_setup, calls, limits, files, cell_seconds, result):
    """Run the job; when a cell or a call never returns, run again without it.

    So a learner's code that hangs (ignoring the time limit) or ends the process costs
    only the parts that depend on it, not the honest work before it.
    Returns ``{call index: event}`` and a note on what went wrong (empty if nothing).
    """
    got: dict[int, dict] = {}
    skipped: dict[int, str] = {}
    notes: list[str] = []
    cells_now = list(cells)
    for _attempt in range(4):
        pending = [k for k in range(len(calls)) if k not in got and k not in skipped]
        job = {"cells": cells_now, "setup_cells": n_setup,
               "calls": [calls[k] for k in pending], "call_seconds": 20,
               "cell_seconds": cell_seconds}
        events, note = _run_sandboxed(job, limits, files)
        done_cells = {ev["cell"] for ev in events if isinstance(ev.get("cell"), int)}
        started = [ev["start"] for ev in events if isinstance(ev.get("start"), int)]
        called = [ev["call_start"] for ev in events if isinstance(ev.get("call_start"), int)]
        for ev in events:
            k = ev.get("call")
            if isinstance(k, int) and 0 <= k < len(pending) and pending[k] not in got:
                got[pending[k]] = ev
            elif "tamper" in ev and isinstance(ev["tamper"], list) and not result.tampered:
                result.tampered = [str(t)[:80] for t in ev["tamper"]][:50]
            elif "cell" in ev and not ev.get("ok") and ev.get("error"):
                result.cell_errors.append(str(ev["error"])[:300])
        if not note:
            break
        if started and started[-1] not in done_cells and started[-1] >= n_setup:
            hung = started[-1]
            notes.append(f"solution cell {hung - n_setup + 1} did not finish ({note}), so "
                         "it and the later ones were left out")
            cells_now = cells_now[:hung]
            continue
        if called and 0 <= called[-1] < len(pending) and pending[called[-1]] not in got:
            skipped[pending[called[-1]]] = f"the call did not return ({note})"
            continue
        notes.append(note)
        break
    for k, why in skipped.items():
        got[k] = {"call": k, "error": why}
    result.cell_errors.extend(notes)
    return got, "; ".join(notes)


def recheck(assignment: str, nb, *, files: dict[str, str] | None = None,
            limits: Limits | None = None, parts: list[Part] | None = None,
            seed: int | None = None, cell_seconds: int = 30,
            student: str = "") -> RecheckResult:
    """Re-check ``nb`` (an autograded notebook) against ``PARTS[assignment]``.

    ``COURSE_GRADER_INJECT_FAULT=<student>`` makes the comparison raise for that student
    (the tests' grader fault, to show that grading fails closed).
    """
    t0 = time.monotonic()
    parts = PARTS.get(assignment, []) if parts is None else parts
    limits = limits or Limits(seconds=120)
    result = RecheckResult()
    cells, n_setup = code_cells_for_recheck(nb)
    seed = secrets.randbits(32) if seed is None else seed
    rng = np.random.default_rng(seed)
    calls, owners = [], []
    for part in parts:
        for args in part.make_inputs(rng):
            calls.append({"function": part.function,
                          "args": runner.encode(tuple(args))["__tuple__"]})
            owners.append((part, tuple(args)))
    got, note = _run_with_retries(cells, n_setup, calls, limits, files or {}, cell_seconds,
                                  result)
    result.note = note
    for part in parts:
        reason = None
        for k, (p, args) in enumerate(owners):
            if p is not part:
                continue
            ev = got.get(k)
            if ev is None:
                reason = note or "no result came back"
            elif "error" in ev:
                reason = f"raised {str(ev['error'])[:300]}"
            else:
                try:
                    value = runner.decode(ev.get("result"))
                except Exception as err:
                    reason = f"returned data the grader cannot read ({type(err).__name__})"
                else:
                    if isinstance(value, runner.Unsupported):
                        reason = f"returned a {value.type_name}"
                    else:
                        if student and os.environ.get("COURSE_GRADER_INJECT_FAULT") == student:
                            raise RuntimeError("injected grader fault (COURSE_GRADER_INJECT_FAULT)")
                        try:
                            want = part.reference(*args)
                            reason = part.compare(value, want)
                        except Exception as err:
                            reason = f"could not be compared ({type(err).__name__}: {err})"
            if reason:
                break
        if reason and part.grade_id not in result.failed:
            result.failed[part.grade_id] = (
                f"re-check of {part.function}() on inputs drawn at grading time "
                f"(seed {seed}): {reason}")
    # a test cell re-checked through several functions passes only if all of them do
    result.passed = [g for g in dict.fromkeys(p.grade_id for p in parts)
                     if g not in result.failed]
    result.seconds = time.monotonic() - t0
    return result
