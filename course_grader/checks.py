"""The grader's checks of the declared parts (:mod:`course_grader.parts`), outside the
sandbox.

For each graded test cell, :class:`course_grader.execute.SandboxedExecute` asks the
student's kernel, right after that cell ran, to call the part's functions on inputs
drawn here at grading time (:func:`plan` and :func:`probe_cell`; the kernel runs
:mod:`course_grader.probe` and returns only data). :func:`judge` then compares those data
with the declared references, in the grader's own process. A part whose check fails
scores 0, whatever the kernel said about itself.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import probe
from .parts import PARTS, Part, reference_of

#: what the kernel runs, sent as source (course_grader is not importable in the sandbox)
PROBE_SOURCE = Path(probe.__file__).read_text(encoding="utf-8")


@dataclass
class Call:
    """One call of a declared function: its arguments, and what to feed what it returns."""

    part: Part
    args: tuple
    feeds: list = field(default_factory=list)
    given: dict = field(default_factory=dict)  # earlier function -> [(args, reference)]


def plan(assignment: str, seed: int) -> dict[str, list[Call]]:
    """grade_id -> the calls that check it, drawn from ``seed`` (every part of the
    assignment, in declaration order)."""
    rng = np.random.default_rng(seed)
    calls: dict[str, list[Call]] = {}
    for part in PARTS.get(assignment, []):
        for args in part.make_inputs(rng):
            feeds = part.feed(rng, tuple(args)) if part.feed else []
            given = {}
            for name, calls_of in part.uses:
                ref = reference_of(assignment, name)
                given[name] = [(a, ref(*a)) for a in calls_of(*args)]
            calls.setdefault(part.grade_id, []).append(
                Call(part, tuple(args), list(feeds), given))
    return calls


def probe_cell(calls: list[Call], call_seconds: int) -> str:
    """The source of the cell that makes the kernel run ``calls`` (see probe.py)."""
    job = {"call_seconds": int(call_seconds), "calls": [
        {"function": c.part.function, "args": probe.encode(c.args),
         "describe": c.part.describe, "feeds": probe.encode(c.feeds),
         "given": {name: probe.encode(table) for name, table in c.given.items()}}
        for c in calls]}
    return (f"exec(compile({PROBE_SOURCE!r}, '<course-grader>', 'exec'), __course_grader := {{}})\n"
            f"__course_grader['main'](globals(), {json.loads(json.dumps(job))!r})\n"
            "del __course_grader\n")


def read_results(outputs: list) -> dict[int, dict]:
    """The probe's messages among a cell's outputs: call index -> message."""
    got: dict[int, dict] = {}
    for out in outputs:
        msg = (out.get("data") or {}).get(probe.MIME) if out.get(
            "output_type") == "display_data" else None
        if isinstance(msg, dict) and isinstance(msg.get("call"), int):
            got.setdefault(msg["call"], dict(msg))
    return got


def _reason(call: Call, msg: dict | None, missing: str) -> str | None:
    part = call.part
    if msg is None:
        return missing or "no result came back"
    if "error" in msg:
        return f"raised {str(msg['error'])[:300]}"
    try:
        got = probe.decode(msg.get("result"))
    except Exception as err:
        return f"returned data the grader cannot read ({type(err).__name__})"
    if isinstance(got, probe.Unsupported):
        return f"returned a {got.type_name}"
    if msg.get("mutated"):
        names = ", ".join(f"argument {int(i) + 1}" for i in msg["mutated"][:6])
        return f"changed its input in place ({names})"
    try:
        want = (part.reference(*copy.deepcopy(call.args), feeds=call.feeds) if part.feed
                else part.reference(*copy.deepcopy(call.args)))
        reason = part.compare(got, want)
    except Exception as err:
        return f"could not be compared ({type(err).__name__}: {str(err)[:200]})"
    if reason is None:
        return None
    for text, mistake in part.mistakes:
        try:
            other = mistake(*copy.deepcopy(call.args))
            if part.compare(got, other) is None and part.compare(other, want) is not None:
                return f"it matches {text}"
        except Exception:  # a mistake that does not apply to these inputs
            continue
    match = re.match(r"item (\d+): ", reason)
    if match and int(match.group(1)) < len(part.outputs):
        reason = f"{part.outputs[int(match.group(1))]}: {reason[match.end():]}"
    return reason


def describe_args(part: Part, args: tuple) -> str:
    """'x (3, 2), h_prev (3, 4), kind='lstm'': what the inputs were, never their values
    beyond small scalars (the names are the reference's parameters)."""
    try:
        names = [n for n in inspect.signature(part.reference).parameters if n != "feeds"]
    except (TypeError, ValueError):
        names = []
    out = []
    for k, arg in enumerate(args):
        name = names[k] if k < len(names) else f"argument {k + 1}"
        if isinstance(arg, np.ndarray):
            out.append(f"{name} {arg.shape}" + (" float32" if arg.dtype == np.float32 else ""))
        elif isinstance(arg, (list, tuple)):
            out.append(f"{name} (a list of {len(arg)})")
        elif isinstance(arg, dict):
            out.append(f"{name} (a dict of {len(arg)})")
        elif isinstance(arg, (int, float, str)) or arg is None:
            out.append(f"{name}={arg!r}")
    return ", ".join(out)


def judge(calls: dict[str, list[Call]], results: dict[str, dict[int, dict]],
          missing: dict[str, str], seed: int, student: str = "") -> dict[str, str]:
    """grade_id -> reason, for every checked test cell whose part failed.

    ``results[grade_id]`` holds the probe's messages of that cell (absent when the
    kernel never got there; ``missing[grade_id]`` says why).
    ``COURSE_GRADER_INJECT_FAULT=<student>`` makes the comparison raise for that student
    (the tests' grader fault, to show that grading fails closed).
    """
    if student and os.environ.get("COURSE_GRADER_INJECT_FAULT") == student:
        raise RuntimeError("injected grader fault (COURSE_GRADER_INJECT_FAULT)")
    failed: dict[str, str] = {}
    for gid, cell_calls in calls.items():
        got = results.get(gid)
        for k, call in enumerate(cell_calls):
            reason = _reason(call, None if got is None else got.get(k),
                             missing.get(gid, "") if got is None else "")
            if reason:
                failed[gid] = (f"{call.part.function}() on inputs drawn at grading time "
                               f"({describe_args(call.part, call.args)}; seed {seed}): "
                               f"{reason}")
                break
    return failed
