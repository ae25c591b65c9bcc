"""JupyterHub of the course on one machine (`make hub`; JupyterHub 5.5.x).

Real Unix accounts: PAM log-in, LocalProcessSpawner (each learner's server runs as the
learner), the class given by two Unix groups. Every single-user server runs the course's
own virtual environment (the one `make grade` uses), so Validate and the grade agree.

Settings, all from the environment (``make hub`` passes its variables through):

=============================  =====================================================
LSTM_COURSE_DIR                the course folder (holds solutions/ and the gradebook;
                               default: the folder above hub/); the instructor's
                               server starts there
LSTM_COURSE_PYTHON             Python of the learners' servers (default: the one
                               running the hub, i.e. the course's .venv)
LSTM_COURSE_EXCHANGE           nbgrader's exchange (read by hub/nbgrader_config.py)
LSTM_COURSE_INSTRUCTORS_GROUP  Unix group of the instructors (default lstm-instructors)
LSTM_COURSE_LEARNERS_GROUP     Unix group of the learners (default lstm-learners)
LSTM_HUB_IP, LSTM_HUB_PORT     where the hub listens (default 127.0.0.1:8000)
LSTM_HUB_STATE                 the hub's own files: database, cookie secret, proxy
                               token (default /srv/lstm-course-hub, root only)
LSTM_HUB_EXTRA_CONFIG          a further config file loaded last (site additions,
                               e.g. the benchmark's API service); optional
=============================  =====================================================
"""

import grp
import os
import pwd
import socket
import sys

c = get_config()  # noqa: F821  (injected by traitlets)

HERE = os.path.dirname(os.path.abspath(__file__))
COURSE = os.path.abspath(os.environ.get("LSTM_COURSE_DIR", os.path.dirname(HERE)))
PYTHON = os.environ.get("LSTM_COURSE_PYTHON", sys.executable)
INSTRUCTORS = os.environ.get("LSTM_COURSE_INSTRUCTORS_GROUP", "lstm-instructors")
LEARNERS = os.environ.get("LSTM_COURSE_LEARNERS_GROUP", "lstm-learners")
STATE = os.environ.get("LSTM_HUB_STATE", "/srv/lstm-course-hub")
IP = os.environ.get("LSTM_HUB_IP", "127.0.0.1")
PORT = int(os.environ.get("LSTM_HUB_PORT", "8000"))

os.makedirs(STATE, mode=0o700, exist_ok=True)


def _free_port() -> int:
    """A free port on 127.0.0.1 (the hub's and the proxy's own API: several hubs may share
    a machine, e.g. a test beside a class)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the hub
c.JupyterHub.bind_url = f"http://{IP}:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = _free_port()
c.JupyterHub.db_url = f"sqlite:///{os.path.join(STATE, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server
c.JupyterHub.allow_named_servers = False
# configurable-http-proxy 0.4.0 from PyPI (pure Python), next to this Python
_chp = os.path.join(os.path.dirname(sys.executable), "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [
    _chp if os.path.exists(_chp) else "configurable-http-proxy",
    # nbgrader's handlers block their server while they work (the first formgrader page
    # creates the gradebook; Validate runs the whole notebook): wait for them, not 20 s
    "--proxy-timeout", "300000", "--timeout", "300000",
]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_free_port()}"

# ---------------------------------------------------------------- who may log in
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {INSTRUCTORS, LEARNERS}
c.PAMAuthenticator.admin_groups = set()  # nobody may enter another person's server
c.PAMAuthenticator.open_sessions = False  # containers often lack a PAM session stack

# ---------------------------------------------------------------- the servers
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [PYTHON, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.mem_limit = None

_common_env = {
    "PATH": os.pathsep.join([os.path.dirname(PYTHON), "/usr/local/bin", "/usr/bin", "/bin"]),
    "LSTM_COURSE_EXCHANGE": os.environ.get(
        "LSTM_COURSE_EXCHANGE", "/usr/local/share/nbgrader/exchange"
    ),
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "JUPYTER_PLATFORM_DIRS": "1",
}


def _is_instructor(name: str) -> bool:
    try:
        group = grp.getgrnam(INSTRUCTORS)
        user = pwd.getpwnam(name)
    except KeyError:
        return False
    return name in group.gr_mem or user.pw_gid == group.gr_gid


def pre_spawn_hook(spawner):
    """The instructor's server opens the course folder with the formgrader; a learner's
    opens their home with the Assignments tab and Validate (no formgrader)."""
    name = spawner.user.name
    env = dict(_common_env)
    if _is_instructor(name):
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(HERE, "instructors"), HERE])
        env["LSTM_COURSE_DIR"] = COURSE
        spawner.notebook_dir = COURSE
    else:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(HERE, "learners"), HERE])
        # learners/ is also the config folder, for its custom/custom.css (the Validate
        # dialog shows each failing test's first line and its message); the learner's
        # JupyterLab settings and workspaces stay in their home
        env["JUPYTER_CONFIG_DIR"] = os.path.join(HERE, "learners")
        lab = os.path.join(pwd.getpwnam(name).pw_dir, ".jupyter", "lab")
        env["JUPYTERLAB_SETTINGS_DIR"] = os.path.join(lab, "user-settings")
        env["JUPYTERLAB_WORKSPACES_DIR"] = os.path.join(lab, "workspaces")
        spawner.notebook_dir = "~"
    spawner.environment = env


c.Spawner.pre_spawn_hook = pre_spawn_hook


# ---------------------------------------------------------------- site additions
_extra = os.environ.get("LSTM_HUB_EXTRA_CONFIG")
if _extra:
    load_subconfig(_extra)  # noqa: F821  (injected by traitlets)
