"""nbgrader settings of the class on JupyterHub, read by every single-user server.

JupyterHub starts each server with JUPYTER_CONFIG_PATH=<this folder>/<role>:<this folder>
(see jupyterhub_config.py), and nbgrader reads ``nbgrader_config.py`` from every folder of
the Jupyter config path, so learners and the instructor both get these settings; the
instructor's folder (``instructors/``) adds the course's own ``nbgrader_config.py``.

The exchange lives in ONE place, given by one setting: the environment variable
``LSTM_COURSE_EXCHANGE`` (``make hub EXCHANGE=...``), by default nbgrader's own default,
/usr/local/share/nbgrader/exchange. ``make hub`` (hub/prepare.py) creates it with the
owners and modes that course_exchange.py relies on.
"""

import os
import sys

c = get_config()  # noqa: F821  (injected by traitlets)

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)  # so that nbgrader can import course_exchange below

COURSE_ID = "lstm-course"
EXCHANGE = os.environ.get("LSTM_COURSE_EXCHANGE", "/usr/local/share/nbgrader/exchange")

c.CourseDirectory.course_id = COURSE_ID
c.Exchange.root = EXCHANGE
c.Exchange.path_includes_course = False  # a learner fetches into ~/<assignment>/

# The default exchange with the permissions of course_exchange.py (nbgrader #978, #1202,
# #1225): private submissions and feedback, owner-checked collect, a root nobody but
# root may write.
_x = "course_exchange."
c.ExchangeFactory.release_assignment = _x + "ReachableReleaseAssignment"
c.ExchangeFactory.fetch_assignment = _x + "ReachableFetchAssignment"
c.ExchangeFactory.list = _x + "ReachableList"
c.ExchangeFactory.submit = _x + "PrivateSubmit"
c.ExchangeFactory.collect = _x + "CheckedCollect"
c.ExchangeFactory.release_feedback = _x + "PrivateReleaseFeedback"
c.ExchangeFactory.fetch_feedback = _x + "ReachableFetchFeedback"

# The learner's Validate runs the notebook with the grader's per-cell limit, so that
# Validate and `make grade` agree on what is too slow.
c.Execute.timeout = 120
