"""The nbgrader configuration the grader runs with.

It starts from the course's ``nbgrader_config.py`` (so ``nbgrader autograde``, the
formgrader and ``make grade`` share directories and the gradebook) and then forces the
settings grading relies on, so that a config file edited by hand cannot turn the sandbox
or the feedback sanitiser off.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

SANITIZE = [
    "nbconvert.preprocessors.ClearOutputPreprocessor",
    "course_grader.preprocessors.RestoreCellMetadata",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
AUTOGRADE = [
    "course_grader.execute.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course_grader.outputs.LimitOutputBytes",
    "course_grader.worker.VerifyGrades",
    "nbgrader.preprocessors.SaveAutoGrades",
    "course_grader.worker.FlagManualGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
FEEDBACK = [
    "nbgrader.preprocessors.GetGrades",
    "course_grader.preprocessors.SanitizeFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

FEEDBACK_EXPORTER = "course_grader.preprocessors.FeedbackExporter"


@dataclass(frozen=True)
class Settings:
    """Time limits of one grading run (seconds)."""

    cell_timeout: int = 120       # one cell (then it is interrupted)
    kernel_seconds: int = 300     # one notebook's kernel (then it is killed)
    student_seconds: int = 480    # everything for one student (then the worker is killed)
    seed: int | None = None       # the checks' inputs (None: drawn anew for each student)


def venv_bin_first() -> None:
    """Put this Python's ``bin/`` first on PATH (nbgrader runs ``alembic`` from PATH for a
    new gradebook, and Jupyter finds kernels through it), also when the grader is started
    as ``.venv/bin/python -m course_grader`` without an activated environment."""
    here = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != here:
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def _class(path: str):
    import importlib

    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def load_course_config(root: str) -> Config:
    """``root/nbgrader_config.py`` as a traitlets Config (empty if there is none)."""
    path = os.path.join(root, "nbgrader_config.py")
    if not os.path.exists(path):
        return Config()
    return PyFileConfigLoader("nbgrader_config.py", path=root).load_config()


def db_path(root: str, cfg: Config) -> str:
    """Absolute path of the course's SQLite gradebook."""
    url = cfg.CourseDirectory.get("db_url", "sqlite:///gradebook.db")
    if not url.startswith("sqlite:///"):
        raise ValueError(f"the grader needs an SQLite gradebook, got {url!r}")
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return path if os.path.isabs(path) else os.path.join(root, path)


def grading_config(root: str, settings: Settings, *, submitted: str | None = None,
                   release: str | None = None) -> Config:
    """The Config of a grading run at course ``root``.

    Parameters
    ----------
    root : str
        The course folder (holds nbgrader_config.py, solutions/, submitted/, ...).
    settings : Settings
        Time limits.
    submitted : str, optional
        Read submissions from this folder instead (the grader's sanitised copies).
    release : str, optional
        Write generate_assignment's student version here (never into exercises/).
    """
    root = os.path.abspath(root)
    cfg = load_course_config(root)
    cfg.CourseDirectory.root = root
    cfg.CourseDirectory.db_url = f"sqlite:///{db_path(root, cfg)}?timeout=120"
    if submitted:
        cfg.CourseDirectory.submitted_directory = submitted
    if release:
        cfg.CourseDirectory.release_directory = release
    cfg.Autograde.sanitize_preprocessors = [_class(p) for p in SANITIZE]
    cfg.Autograde.autograde_preprocessors = [_class(p) for p in AUTOGRADE]
    cfg.GenerateFeedback.preprocessors = [_class(p) for p in FEEDBACK]
    cfg.OverwriteCells.add_missing_cells = True
    cfg.Autograde.post_convert_hook = None
    cfg.GenerateFeedback.exporter_class = _class(FEEDBACK_EXPORTER)
    if settings.seed is not None:
        cfg.SandboxedExecute.seed = settings.seed
    cfg.Execute.timeout = settings.cell_timeout
    cfg.Execute.interrupt_on_timeout = True
    cfg.SandboxedExecute.timeout = settings.cell_timeout
    cfg.SandboxedExecute.kernel_seconds = settings.kernel_seconds
    cfg.SandboxedExecute.iopub_timeout = 10
    cfg.SandboxedExecute.shutdown_kernel = "immediate"  # a disposable kernel: no 1 s wait
    cfg.SandboxedExecute.startup_timeout = 120
    cfg.HTMLExporter.sanitize_html = True
    return cfg
