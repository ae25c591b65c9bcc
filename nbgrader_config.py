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
