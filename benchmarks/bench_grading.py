"""How long grading takes: a generated class, every student isolated (figures, no asserts).

Builds a throw-away course (never the real submitted/ or gradebook.db) with a mix of
solutions, partial work and untouched exercises, grades it through the real path
(``python -m course_grader grade``) and prints seconds per submission, how one student's
time splits (staging, the sandboxed notebook run, the out-of-kernel checks, feedback) and
the projected time for a class of 100. Goal: 100 submissions of ch03_text_classification
(the slowest assignment) in at most 8 minutes on 2 cores.

    python benchmarks/bench_grading.py [--assignment ch03_text_classification] [--students 100]

On a shared machine the wall-clock numbers include other processes' load; when the
cgroup v1 ``cpuacct`` controller is writable (root in a container), the CPU time the run
really used is measured too, and the projection for 2 idle cores is made from it.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from course_grader import classroom  # noqa: E402

CPUACCT = "/sys/fs/cgroup/cpuacct"


def build_class(root: str, assignment: str, n: int, seed: int = 0) -> dict[str, int]:
    """Write ``n`` submissions: ~1/3 solutions, ~1/3 partial, ~1/3 untouched."""
    classroom.make_course(root, [assignment])
    parts = list(classroom.solution_cells(classroom.read(root, "solutions", assignment)))
    rng = random.Random(seed)
    kinds = {"solution": 0, "partial": 0, "untouched": 0}
    for i in range(n):
        kind = ("solution", "partial", "untouched")[i % 3]
        if kind == "solution":
            nb = classroom.read(root, "solutions", assignment)
        elif kind == "partial":
            solved = rng.sample(parts, rng.randint(1, len(parts) - 1))
            nb = classroom.partial(root, assignment, solved)
        else:
            nb = classroom.read(root, "exercises", assignment)
        classroom.submit(root, f"student{i:03d}", assignment, nb)
        kinds[kind] += 1
    return kinds


def _cgroup() -> str | None:
    path = os.path.join(CPUACCT, f"bench_grading_{os.getpid()}")
    try:
        os.makedirs(path)
        return path
    except OSError:
        return None


def _split(state_dir: str) -> dict[str, float]:
    """Mean seconds per phase over the students' records (grades/.state/<a>/*.json)."""
    import json

    rows = []
    for name in os.listdir(state_dir) if os.path.isdir(state_dir) else []:
        if name.endswith(".json"):
            with open(os.path.join(state_dir, name)) as f:
                rows.append(json.load(f))
    if not rows:
        return {}
    phases = {"staging": lambda r: r["timings"].get("stage", 0.0),
              "notebook in the sandbox + checks": lambda r: r["timings"].get("autograde", 0.0),
              "of which calling the graded functions and judging them":
                  lambda r: r["timings"].get("checks", 0.0),
              "feedback": lambda r: r["timings"].get("feedback", 0.0),
              "all": lambda r: r.get("seconds", 0.0)}
    return {k: sum(f(r) for r in rows) / len(rows) for k, f in phases.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assignment", default="ch03_text_classification")
    ap.add_argument("--students", type=int, default=100)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    n = args.students

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as root:
        kinds = build_class(root, args.assignment, n)
        env = dict(os.environ)
        env["PATH"] = os.path.join(REPO, ".venv", "bin") + os.pathsep + env.get("PATH", "")
        cmd = [sys.executable, "-m", "course_grader", "grade", args.assignment, "--root", root]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        cg = _cgroup()
        if cg:
            cmd = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *cmd]
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        t_start = None
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Grading ") and t_start is None:
                t_start = time.monotonic() - t0
            if line.startswith("["):
                print("   ", line.rstrip(), flush=True)
        proc.wait()
        wall = time.monotonic() - t0
        cpu = None
        if cg:
            with open(os.path.join(cg, "cpuacct.usage")) as f:
                cpu = int(f.read()) / 1e9
            for _ in range(50):
                try:
                    os.rmdir(cg)
                    break
                except OSError:
                    time.sleep(0.2)
        if proc.returncode != 0:
            print("".join(lines[-30:]))
            return proc.returncode
        split = _split(os.path.join(root, "grades", ".state", args.assignment))

    t_start = t_start or 0.0
    per = (wall - t_start) / n
    print()
    print(f"assignment {args.assignment}: {n} submissions "
          + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    print(f"wall clock: {wall:.1f} s in all, {t_start:.1f} s of it start-up "
          f"(gradebook, imports), {per:.2f} s per submission "
          f"(load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"projected for 100 submissions: {(t_start + 100 * per) / 60:.1f} min "
          "(at this machine's current load)")
    if split:
        print("one student, mean seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in split.items()))
    if cpu is not None:
        cores = min(2, os.cpu_count() or 1)
        idle = t_start + 100 * (cpu / n) / cores
        print(f"CPU time used: {cpu:.1f} s, {cpu / n:.2f} CPU-s per submission; projected "
              f"for 100 on {cores} idle cores: {idle / 60:.1f} min "
              f"(goal: 8 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
