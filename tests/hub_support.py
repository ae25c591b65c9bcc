"""Shared machinery of the JupyterHub test and benchmark (``tests/test_hub.py``,
``benchmarks/bench_hub.py``): Unix accounts, a copy of the course every account can
reach, ``make hub`` on a free port, commands run as a given account. Needs root.

Why a copy of the course: the instructor's account must own the course folder, and the
learners must reach its ``.venv`` but not its ``solutions/``. The copy lives in a
world-searchable folder under /tmp, owned by the instructor; its ``.venv`` is a
hard-linked copy of the environment running the caller (seconds; a plain copy across file
systems), never modified. A real account cannot use an environment or an interpreter under
/root (root's home is 0700; pyenv lives there on CI machines): the folders on the way get
a search-only ACL entry for this run's accounts (``Klass.grant_search``), removed with
them.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ch02_lstm_cell"
COURSE_ID = "lstm-course"
COPY = ["Makefile", "nbgrader_config.py", "requirements.txt", "requirements-uv.txt",
        "pyproject.toml", "README.md", "course_grader", "lab", "lstm_ref", "hub",
        f"solutions/{ASSIGNMENT}", f"exercises/{ASSIGNMENT}"]
ACL_XATTR = "system.posix_acl_access"
# `make -o` these: the copied environment is used as it is, never rebuilt
MAKE_OLD = ["-o", ".venv/.installed", "-o", ".venv/.editable"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process running as ``uid`` (only accounts this test created)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            m = re.search(r"^Uid:\s+(\d+)", status.read_text(), re.M)
        except OSError:
            continue
        if m and int(m.group(1)) == uid:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(status.parent.name), signal.SIGKILL)


class Klass:
    """The accounts, the course copy, the exchange and the hub of one test run."""

    def __init__(self, learners=("alice", "bob", "mallory"), extra_config: str | None = None):
        tag = secrets.token_hex(2)
        self.extra_config = extra_config
        self.tag = tag
        self.base = Path(tempfile.mkdtemp(prefix=f"lstm-hub-{tag}-", dir="/tmp"))
        self.base.chmod(0o755)
        self.course = self.base / "course"
        self.exchange = self.base / "exchange"
        self.homes = self.base / "home"
        self.state = self.base / "hub-state"
        self.instructors = f"lt{tag}-instructors"
        self.learners = f"lt{tag}-learners"
        self.teacher = f"lt{tag}-teacher"
        self.learner_names = [f"lt{tag}-{n}" for n in learners]
        if len(self.learner_names) >= 3:
            self.alice, self.bob, self.mallory = self.learner_names[:3]
        self.users = [self.teacher, *self.learner_names]
        self.passwords = {u: secrets.token_urlsafe(12) for u in self.users}
        self.made_users: list[str] = []
        self.made_groups: list[str] = []
        self.granted: list[tuple[Path, int]] = []
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "hub.log"

    # ------------------------------------------------------------ set-up
    def create(self):
        self.homes.mkdir(mode=0o755)
        for g in (self.instructors, self.learners):
            _run(["groupadd", g])
            self.made_groups.append(g)
        for u in self.users:
            group = self.instructors if u == self.teacher else self.learners
            _run(["useradd", "-m", "-d", str(self.homes / u), "-s", "/bin/bash",
                  "-K", "HOME_MODE=0700", "-G", group, u])  # fmt: skip
            self.made_users.append(u)
        _run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in self.passwords.items()))
        self.grant_search()
        for u in self.users:
            self.lab_settings(u)
        self.copy_course()

    def grant_search(self):
        """Let the test's accounts reach the Python running the test, and nothing more.

        A virtual environment or an interpreter under /root (pyenv; a checkout in root's
        home) is out of reach of other accounts. Each folder on the way that others cannot
        search gets an ACL entry ``u:<account>:--x`` for each account of this test (search,
        not list), removed with the accounts. A system Python of the same minor version is
        not a substitute: the locked packages may need a newer patch release (soupsieve
        4.1 fails on Debian's 3.11.2)."""
        targets = {os.path.realpath(sys.executable), sys.prefix, sys.base_prefix,
                   os.path.realpath(sys.prefix)}
        uids = [pwd.getpwnam(u).pw_uid for u in self.made_users]
        seen = set()
        for target in sorted(targets):
            for q in [*reversed(Path(target).parents), Path(target)]:
                if q in seen or not q.is_dir() or q.stat().st_mode & 0o001:
                    continue
                seen.add(q)
                mode = q.stat().st_mode & 0o7777
                try:
                    os.getxattr(q, ACL_XATTR)
                    pytest.fail(f"{q} already has an ACL; the test will not change it: make "
                                f"it searchable (chmod o+x {q}) or use another environment",
                                pytrace=False)
                except OSError:
                    pass
                self.granted.append((q, mode))
                owner, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
                entries = [(0x01, owner, 0xFFFFFFFF), *((0x02, 1, uid) for uid in uids),
                           (0x04, group, 0xFFFFFFFF), (0x10, group | 1, 0xFFFFFFFF),
                           (0x20, other, 0xFFFFFFFF)]
                os.setxattr(q, ACL_XATTR, struct.pack("<I", 2) + b"".join(
                    struct.pack("<HHI", *e) for e in entries))

    def revoke_search(self):
        for q, mode in reversed(self.granted):
            with contextlib.suppress(OSError):
                os.removexattr(q, ACL_XATTR)
            with contextlib.suppress(OSError):
                os.chmod(q, mode)
        self.granted.clear()

    def lab_settings(self, user: str):
        """No news pop-up, every cell rendered (no virtual scrolling)."""
        pw = pwd.getpwnam(user)
        home = Path(pw.pw_dir)
        settings = {
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"fetchNews": "false", "checkForUpdates": False},
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
                {"windowingMode": "none"},
        }  # fmt: skip
        for root in (home / ".jupyter" / "lab" / "user-settings",
                     home / ".config" / "jupyter" / "lab" / "user-settings"):
            for rel, value in settings.items():
                p = root / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(json.dumps(value))
        _run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(home)])

    def copy_course(self):
        self.course.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
        for rel in COPY:
            src, dst = ROOT / rel, self.course / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=ignore)
            else:
                shutil.copy2(src, dst)
        pw = pwd.getpwnam(self.teacher)
        _run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(self.course)])
        # the environment under test, hard-linked (root-owned: nobody may change it)
        env = Path(sys.prefix)
        venv = self.course / ".venv"
        if _run(["cp", "-al", str(env), str(venv)], check=False).returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            _run(["cp", "-a", str(env), str(venv)])
        venv.chmod(0o755)

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
        env.update(
            PATH=f"{self.course / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        env.pop("VIRTUAL_ENV", None)
        return env

    def start_hub(self):
        cmd = ["make", "--no-print-directory", *MAKE_OLD, "hub",
               f"EXCHANGE={self.exchange}", f"HUB_PORT={self.port}", f"HUB_STATE={self.state}",
               f"INSTRUCTORS_GROUP={self.instructors}",
               f"LEARNERS_GROUP={self.learners}"]  # fmt: skip
        self.log = self.log_path.open("wb")
        env = self.env()
        if self.extra_config:
            env["LSTM_HUB_EXTRA_CONFIG"] = self.extra_config
        self.proc = subprocess.Popen(cmd, cwd=self.course, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"make hub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        pytest.fail(f"the hub did not answer within 90 s:\n{self.log_tail()}")

    def log_tail(self, n: int = 6000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ as someone
    def as_user(self, user: str, cmd: list[str], cwd: Path | None = None, env_extra=None,
                check=True, timeout=600) -> subprocess.CompletedProcess:
        """Run ``cmd`` as ``user`` with the environment their JupyterLab terminal has."""
        pw = pwd.getpwnam(user)
        hub = self.course / "hub"
        role = "instructors" if user == self.teacher else "learners"
        env = self.env()
        env.update(
            HOME=pw.pw_dir, USER=user, LOGNAME=user,
            JUPYTER_CONFIG_PATH=f"{hub / role}:{hub}",
            LSTM_COURSE_EXCHANGE=str(self.exchange), LSTM_COURSE_DIR=str(self.course),
            JUPYTER_PLATFORM_DIRS="1",
        )  # fmt: skip
        env.update(env_extra or {})
        done = _run(["runuser", "-u", user, "--", *cmd], cwd=cwd or pw.pw_dir, env=env,
                    check=False, timeout=timeout)  # fmt: skip
        if check and done.returncode:
            pytest.fail(f"{' '.join(cmd[:4])} as {user} exited with {done.returncode}:\n"
                        f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}", pytrace=False)
        return done

    # ------------------------------------------------------------ tear-down
    def destroy(self):
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc is not None:
            self.log.close()
        for u in self.made_users:
            with contextlib.suppress(KeyError):
                _kill_uid(pwd.getpwnam(u).pw_uid)
        time.sleep(0.2)
        self.revoke_search()
        for u in self.made_users:
            _run(["userdel", "-f", u], check=False)
        for g in self.made_groups:
            _run(["groupdel", g], check=False)
        if os.environ.get("LSTM_HUB_TEST_KEEP"):
            print(f"kept {self.base}")
        else:
            shutil.rmtree(self.base, ignore_errors=True)


