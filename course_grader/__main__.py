"""Command line: ``python -m course_grader grade <assignment> [options]``."""

from __future__ import annotations

import argparse
import os
import sys

try:  # the course's virtual environment, not the system Python
    import nbgrader  # noqa: F401
    import traitlets  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised by a subprocess test
    _venv = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         ".venv", "bin", "python")
    sys.exit(f"ERROR: {_err.name} is not installed in {sys.executable}: run the grader with "
             f"the course's environment, {os.path.relpath(_venv)} -m course_grader ... "
             "(`make` builds .venv), or use `make grade ASSIGNMENT=<name>`.")

from .config import Settings, venv_bin_first

venv_bin_first()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_grader",
        description="Sandboxed autograding of the course's nbgrader assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submitted/<student>/<assignment>/")
    g.add_argument("assignment", nargs="+", help="assignment name(s)")
    g.add_argument("--root", default=".", help="course folder (default: current folder)")
    g.add_argument("--workers", type=int, default=None,
                   help="students graded at a time (default: min(2, CPUs))")
    g.add_argument("--only", default=None,
                   help="comma-separated student ids to (re)grade; the others keep "
                        "their last results")
    g.add_argument("--dask", default=os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
                   metavar="ADDRESS",
                   help="grade on the workers of this Dask scheduler (tcp://HOST:8786; "
                        "default: $DASK_SCHEDULER_ADDRESS, else local worker processes)")
    g.add_argument("--seed", type=int, default=None,
                   help="seed of the inputs the graded functions are called with "
                        "(default: a new one per student); the same seed gives the same "
                        "reasons on every run")
    d = Settings()
    g.add_argument("--cell-timeout", type=int, default=d.cell_timeout,
                   help=f"seconds per cell before it is interrupted (default {d.cell_timeout})")
    g.add_argument("--kernel-timeout", type=int, default=d.kernel_seconds,
                   help=f"seconds per notebook before its kernel is killed "
                        f"(default {d.kernel_seconds})")
    g.add_argument("--student-timeout", type=int, default=None,
                   help="seconds for everything of one student (default: kernel + 180)")
    sub.add_parser("check-sandbox", help="check that the grading sandbox works here")
    args = parser.parse_args(argv)

    from .sandbox import SandboxUnavailable, check_sandbox

    if args.command == "check-sandbox":
        try:
            check_sandbox()
        except SandboxUnavailable as err:
            print(f"ERROR: {err}", file=sys.stderr)
            return 2
        print("the grading sandbox works")
        return 0

    try:  # before the heavy imports, so that a machine without bwrap hears it at once
        check_sandbox()
    except SandboxUnavailable as err:
        print(f"ERROR: refusing to grade: {err}", file=sys.stderr)
        return 2

    from .batch import GradingError, grade_assignments

    student_seconds = args.student_timeout or (args.kernel_timeout + 180)
    settings = Settings(cell_timeout=args.cell_timeout, kernel_seconds=args.kernel_timeout,
                        student_seconds=student_seconds,
                        seed=args.seed)
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        grade_assignments(args.root, args.assignment, settings=settings,
                          workers=args.workers, only=only, dask=args.dask)
    except SandboxUnavailable as err:
        print(f"ERROR: refusing to grade: {err}", file=sys.stderr)
        return 2
    except GradingError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
