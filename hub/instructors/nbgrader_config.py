"""The instructor's server: the course folder's own nbgrader settings, with an absolute root.

JupyterHub starts the instructor's server with LSTM_COURSE_DIR set to the course folder
(the clone holding solutions/ and the gradebook). nbgrader loads this file from the
Jupyter config path whatever the working folder, so the formgrader, the Assignments tab
and commands typed in a JupyterLab terminal all grade the same course the same way as
`make grade` run in that folder.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets)

_course = os.environ.get("LSTM_COURSE_DIR")
if _course and os.path.isfile(os.path.join(_course, "nbgrader_config.py")):
    load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821 (traitlets)
    c.CourseDirectory.root = _course
    # the server's working folder is the instructor's home: no relative database path
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_course, "gradebook.db")
