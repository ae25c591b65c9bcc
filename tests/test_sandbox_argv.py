"""The sandbox's mount order: a course checked out under /tmp must stay runnable."""

from __future__ import annotations

import sys

from course_grader.sandbox import Limits, sandbox_argv


def test_private_tmp_is_mounted_before_the_python_environment(monkeypatch) -> None:
    monkeypatch.setattr("course_grader.sandbox.bwrap_path", lambda: "/usr/bin/bwrap")
    argv = sandbox_argv(["python", "-c", "pass"], limits=Limits())
    tmpfs = [k for k in range(len(argv) - 1) if argv[k] == "--tmpfs" and argv[k + 1] == "/tmp"]
    venv = [k for k in range(len(argv) - 2)
            if argv[k] == "--ro-bind" and argv[k + 1] == argv[k + 2] == sys.prefix]
    assert tmpfs, "the sandbox must mount a private /tmp"
    assert venv, "the sandbox must bind the Python environment read-only"
    # bwrap applies mounts in order: a later tmpfs on /tmp would hide a venv under /tmp
    assert tmpfs[0] < venv[0]
