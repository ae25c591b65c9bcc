"""Build throw-away courses and submissions (for the grading tests and the benchmark).

Never touches the real ``submitted/`` or ``gradebook.db``: everything goes under a
folder the caller gives (a temporary one).
"""

from __future__ import annotations

import copy
import os
import shutil

import nbformat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_course(dest: str, assignments: list[str], repo: str = REPO) -> str:
    """A minimal course at ``dest``: nbgrader_config.py, solutions/ and exercises/."""
    os.makedirs(dest, exist_ok=True)
    shutil.copy(os.path.join(repo, "nbgrader_config.py"), dest)
    for a in assignments:
        for step in ("solutions", "exercises"):
            src = os.path.join(repo, step, a)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(dest, step, a), dirs_exist_ok=True)
    return dest


def read(course: str, step: str, assignment: str):
    """The notebook of ``assignment`` in ``solutions`` or ``exercises``."""
    return nbformat.read(os.path.join(course, step, assignment, f"{assignment}.ipynb"),
                         as_version=4)


def solution_cells(nb) -> dict[str, str]:
    """grade_id -> source of the solution cells of a notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def test_cells(nb) -> dict[str, float]:
    """grade_id -> points of the graded test cells."""
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def strip_solution_markers(src: str) -> str:
    """A solution cell as a learner would write it (no BEGIN/END SOLUTION lines)."""
    return "\n".join(ln for ln in src.split("\n")
                     if "BEGIN SOLUTION" not in ln and "END SOLUTION" not in ln)


def partial(course: str, assignment: str, solved: list[str]):
    """The released exercise with the solution cells ``solved`` (grade_ids) filled in."""
    nb = copy.deepcopy(read(course, "exercises", assignment))
    sols = solution_cells(read(course, "solutions", assignment))
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if c.metadata.get("nbgrader", {}).get("solution") and gid in solved:
            c.source = strip_solution_markers(sols[gid])
    return nb


def submit(course: str, student: str, assignment: str, nb=None, *, name: str | None = None,
           files: dict[str, str | bytes] | None = None) -> str:
    """Write ``submitted/<student>/<assignment>/<name or assignment>.ipynb`` (+ files)."""
    folder = os.path.join(course, "submitted", student, assignment)
    os.makedirs(folder, exist_ok=True)
    if nb is not None:
        path = os.path.join(folder, f"{name or assignment}.ipynb")
        if isinstance(nb, (str, bytes)):
            with open(path, "wb") as f:
                f.write(nb.encode() if isinstance(nb, str) else nb)
        else:
            nbformat.write(nb, path)
    for rel, content in (files or {}).items():
        p = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
    return folder
