"""nbgrader configuration of the course (read by nbgrader commands run at the repo root
and by JupyterLab's nbgrader extension when `make lab` starts the server here)."""

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# ---------------------------------------------------------------- grading (course_grader)
# `make grade` (python -m course_grader grade) forces these settings itself; they are
# here too so that plain `nbgrader autograde` and the formgrader's buttons grade the same
# way: every kernel in the bubblewrap sandbox (they refuse to run without bwrap),
# metadata and deleted cells repaired, outputs limited in bytes, and feedback without
# hidden tests, tracebacks or printed output. See course_grader/README.md.
try:
    from course_grader.config import AUTOGRADE, FEEDBACK, FEEDBACK_EXPORTER, SANITIZE
except ImportError as err:
    # traitlets logs an exception in a config file and goes on with nbgrader's defaults,
    # which would grade unsandboxed: stop instead (SystemExit is not caught).
    raise SystemExit(
        f"nbgrader_config.py: cannot import course_grader ({err}). Grade with the course's "
        "environment: `make grade ASSIGNMENT=...`, or `make venv` and then "
        "`.venv/bin/nbgrader ...`.") from None

c.Autograde.sanitize_preprocessors = list(SANITIZE)
# includes the checks of the declared parts (course_grader/parts.py, judged by
# VerifyGrades outside the sandbox), which fail closed: a grader error scores the
# submission 0 and marks it for manual grading
c.Autograde.autograde_preprocessors = list(AUTOGRADE)
c.GenerateFeedback.preprocessors = list(FEEDBACK)
c.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER  # MathJax inline, long lines wrapped
c.OverwriteCells.add_missing_cells = True  # a deleted test cell is put back and run
c.Execute.timeout = 120                    # seconds per cell (also the learner's Validate)
c.SandboxedExecute.kernel_seconds = 300    # seconds per notebook, then its kernel is killed
c.SandboxedExecute.call_seconds = 20      # seconds per call of a graded function
c.HTMLExporter.sanitize_html = True        # no learner-written script in feedback pages
# `nbgrader export` writes here (grades/ is git-ignored), not at the repository root
c.ExportApp.plugin_class = "course_grader.report.GradesExport"
