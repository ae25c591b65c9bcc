"""The bubblewrap sandbox every piece of student code runs in.

A student's kernel starts through::

    timeout -s KILL <seconds> prlimit --as=... --nproc=... --fsize=... --core=0 \
        bwrap --unshare-all --uid 1000 --gid 1000 --cap-drop ALL \
              --die-with-parent --new-session --clearenv ... -- python ...

Inside: ``/usr``, the Python installation and the virtual environment read-only; a private
``/tmp`` and a private working folder (``/home/student``), both size-limited tmpfs, holding
read-only copies of the submission's regular non-notebook files; no network, no other
process, nothing of the course (``solutions/``, ``gradebook.db``, ``lstm_ref``'s source).
The kernel talks to the grader over Unix sockets (``"transport": "ipc"``) in a per-kernel
folder bound into the sandbox, and is interrupted by message (a signal from outside does
not cross the PID namespace).

Everything fails closed: without a working ``bwrap`` the grader refuses to run anything.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

#: The working folder of the sandboxed process (a tmpfs).
HOME = "/home/student"

INSTALL_HINT = (
    "bubblewrap (bwrap) is required to grade: the grader never runs student code outside "
    "its sandbox. Install it (Debian/Ubuntu: `sudo apt-get install -y bubblewrap`, or "
    "`make sysdeps` as root) and try again."
)

# Environment variables handed into the sandbox when the grader has them. (Not
# MPLBACKEND: kernels keep their inline backend, so plt.show() writes no warning to
# stderr, which nbgrader would count as a failed test cell.)
_PASS_ENV = (
    "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "PYTHONHASHSEED",
    "PYDEVD_DISABLE_FILE_VALIDATION", "JUPYTER_PLATFORM_DIRS", "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "LANG",
)


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or does not work here: grading must not go on."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process.

    Attributes
    ----------
    seconds : int
        Wall-clock limit; ``timeout -s KILL`` ends the whole sandbox after it.
    memory : int
        Address-space limit in bytes (``RLIMIT_AS``; TensorFlow needs a few GB of it).
    nproc : int
        ``RLIMIT_NPROC`` (processes and threads). It binds because, when the grader runs
        as root, the sandbox runs under an unprivileged account of its own
        (:class:`SandboxAccount`).
    processes : int
        More processes than this (a fork bomb) and the whole sandbox is killed at once
        (:class:`SandboxAccount`'s watchdog; only when the grader runs as root).
    file_size : int
        Largest file the process may write, in bytes (``RLIMIT_FSIZE``).
    tmpfs : int
        Size of each of the sandbox's tmpfs folders (``/tmp``, the working folder).
    """

    seconds: int = 300
    memory: int = 6 * 2**30
    nproc: int = 1024
    processes: int = 64
    file_size: int = 128 * 2**20
    tmpfs: int = 256 * 2**20


def bwrap_path() -> str | None:
    """Absolute path of bwrap, or None. ``COURSE_GRADER_BWRAP`` overrides the search."""
    if "COURSE_GRADER_BWRAP" in os.environ:
        cand = os.environ["COURSE_GRADER_BWRAP"]
        return cand if os.path.isfile(cand) and os.access(cand, os.X_OK) else None
    for cand in (shutil.which("bwrap"), "/usr/bin/bwrap"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def _ro_roots() -> list[str]:
    """Folders bound read-only so that this Python (and its venv) runs inside."""
    roots = ["/usr"]
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))):
        p = os.path.realpath(p)
        if p and p != "/" and not any(p == r or p.startswith(r + os.sep) for r in roots):
            roots.append(p)
    # also the unresolved venv prefix (sys.executable is a symlink inside it)
    if sys.prefix not in roots and not sys.prefix.startswith("/usr/"):
        roots.append(sys.prefix)
    return roots


def sandbox_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed process (nothing else leaks in)."""
    env = {
        "PATH": f"{os.path.join(sys.prefix, 'bin')}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp/matplotlib", "KERAS_HOME": "/tmp/keras",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
    }
    for k in _PASS_ENV:
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra or {})
    return env


def sandbox_argv(cmd: list[str], *, limits: Limits, files: dict[str, str] | None = None,
                 rw_dir: str | None = None, ro_files: dict[str, str] | None = None,
                 env: dict[str, str] | None = None, uid: int | None = None) -> list[str]:
    """Wrap ``cmd`` so that it runs in the sandbox.

    Parameters
    ----------
    cmd : list of str
        The command to run inside (absolute paths, or names on the sandbox's PATH).
    limits : Limits
        Time, memory, process and size limits.
    files : dict, optional
        ``relative path in the working folder -> source path``: read-only copies of the
        submission's files.
    rw_dir : str, optional
        A host folder bound read-write at the same path (the kernel's sockets).
    ro_files : dict, optional
        ``absolute path inside -> source path``: more read-only files (grader scripts).
    env : dict, optional
        Extra environment variables.
    uid : int, optional
        Run bwrap as this unprivileged user and group (``setpriv``), so that the process
        limit binds (the kernel does not apply ``RLIMIT_NPROC`` to root).
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(INSTALL_HINT)
    argv = [
        shutil.which("timeout") or "timeout", "-s", "KILL", str(int(limits.seconds)),
        shutil.which("prlimit") or "prlimit", f"--as={limits.memory}",
        f"--nproc={limits.nproc}", f"--fsize={limits.file_size}", "--core=0", "--",
        bwrap, "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv",
    ]
    if uid is None:  # bwrap as an ordinary user: a user namespace of its own
        argv += ["--unshare-all", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL"]
    else:  # bwrap as root mounts; its command drops to ``uid`` with no capability left
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try", "--cap-drop", "ALL",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        cmd = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}",
               f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--no-new-privs",
               "--", *cmd]
    for k, v in sandbox_env(env).items():
        argv += ["--setenv", k, v]
    # The private tmpfs folders first, the read-only roots after: a course checked out
    # under /tmp (a CI runner, a fresh clone) keeps its virtual environment visible.
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmpfs), "--tmpfs", "/tmp",
             "--perms", "0777", "--size", str(limits.tmpfs), "--tmpfs", HOME]
    binds = [("--ro-bind", r, r) for r in _ro_roots()]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            argv += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            binds.append(("--ro-bind", f"/{link}", f"/{link}"))
    for etc in ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types"):
        binds.append(("--ro-bind-try", etc, etc))
    for rel, src in sorted((files or {}).items()):
        binds.append(("--ro-bind", src, os.path.join(HOME, rel)))
    for dest, src in sorted((ro_files or {}).items()):
        binds.append(("--ro-bind", src, dest))
    if rw_dir:
        binds.append(("--bind", rw_dir, rw_dir))
    made = {"/", "/tmp", HOME}
    for kind, src, dest in binds:
        # folders leading to a mount point: searchable by the sandbox's user (bwrap
        # would copy a private /root's mode)
        parents = []
        for d in _parents(dest):
            if d in made or any(d.startswith(b[2] + os.sep) for b in binds if b[2] != dest):
                break
            parents.append(d)
        for d in reversed(parents):
            argv += ["--perms", "0755", "--dir", d]
            made.add(d)
        argv += [kind, src, dest]
    argv += ["--chdir", HOME, "--", *cmd]
    return argv


def _parents(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a/b", "/a"]``."""
    out = []
    while (path := os.path.dirname(path)) not in ("/", ""):
        out.append(path)
    return out


def copy_files(files: dict[str, str], dest: str) -> dict[str, str]:
    """Copy ``relative path -> source`` into ``dest``; return ``relative path -> copy``.

    The sandbox binds the copies: its unprivileged user may not reach the originals.
    """
    out = {}
    for rel, src in sorted(files.items()):
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)
        out[rel] = target
    return out


_libc = None


def kill_group(proc) -> None:
    """SIGKILL a child started in its own process group, with everything in that group.

    ``proc`` is a ``subprocess.Popen`` or ``multiprocessing.Process``; whatever is already
    gone is ignored.
    """
    for fn in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            fn()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def die_with_parent() -> None:
    """``preexec_fn``: SIGKILL this child when the process (thread) that forked it dies.

    So a grading worker killed for running too long takes its kernel along (the kernel's
    ``timeout`` and ``bwrap --die-with-parent`` do the rest).
    """
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@functools.lru_cache(maxsize=1)
def check_sandbox() -> None:
    """Start a trivial sandboxed Python once; raise SandboxUnavailable if that fails."""
    if bwrap_path() is None:
        raise SandboxUnavailable(INSTALL_HINT)
    if os.environ.get("COURSE_GRADER_SANDBOX_OK") == bwrap_path():
        return  # the batch that started this process has just checked it
    for tool in ("timeout", "prlimit"):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"`{tool}` (coreutils/util-linux) is missing.")
    secret = os.path.abspath("gradebook.db")
    probe = (f"import os; assert not os.path.exists({secret!r}); "
             "print('sandbox-ok', os.getcwd())")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        raise SandboxUnavailable("`setpriv` (util-linux) is missing: as root the grader runs "
                                 "the sandbox under an unprivileged account through it.")
    with SandboxAccount() as account:
        argv = sandbox_argv([sys.executable, "-c", probe], limits=Limits(seconds=60),
                            uid=account.uid)
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SandboxUnavailable(
                f"the sandbox does not start: {err}. {INSTALL_HINT}") from err
    if res.returncode != 0 or "sandbox-ok" not in res.stdout:
        raise SandboxUnavailable(
            "bwrap is installed but a sandboxed Python did not run "
            f"(exit {res.returncode}): {res.stderr.strip()[-400:]}\n"
            "User namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1) "
            "or the container may forbid them. As root, the sandbox runs under an "
            f"unprivileged account: {sys.prefix} and its parent folders must be readable "
            "by every user (chmod o+rx).")
    os.environ["COURSE_GRADER_SANDBOX_OK"] = bwrap_path()


class SandboxAccount:
    """An unprivileged user id for one sandbox while it runs, and its fork-bomb watchdog.

    As root, ``RLIMIT_NPROC`` does not bind (the kernel exempts root, and the sandbox's
    processes are root's outside their user namespace). So each sandbox runs as a user of
    its own, ``UID_BASE + k`` (no account needs to exist), taken with a lock file so that
    two sandboxes never share one: the limit then counts that sandbox's processes only.
    A thread counts them every 0.2 s and, above ``Limits.processes``, kills them all
    (``kill -KILL -1`` as that user): a fork bomb is over within a second or so, and
    ``stopped`` says what happened. As another user, nothing changes (``uid`` is None)
    and the limit binds anyway.
    """

    UID_BASE, UID_COUNT = 61000, 1000
    LOCKS = "/tmp/course-grader-uids"

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.uid: int | None = None
        self.stopped = ""
        self._lock = None
        self._stop = threading.Event()

    def __enter__(self) -> SandboxAccount:
        if os.geteuid() != 0:
            return self
        os.makedirs(self.LOCKS, mode=0o700, exist_ok=True)
        import fcntl

        for k in range(self.UID_COUNT):
            fd = os.open(os.path.join(self.LOCKS, str(self.UID_BASE + k)),
                         os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid = self.UID_BASE + k
            self.kill_all()  # anything an earlier sandbox of this user left
            if self.count():  # left as zombies nobody reaps: they would count; skip it
                os.close(fd)
                continue
            self._lock = fd
            return self
        self.uid = None
        raise SandboxUnavailable("no free sandbox user id (more than 1000 sandboxes?)")

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.uid is not None:
            self.kill_all()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def own(self, path: str) -> None:
        """Give ``path`` (a folder of the grader's, and all below it) to the sandbox user."""
        if self.uid is None:
            return
        for dirpath, dirs, files in os.walk(path):
            for name in [dirpath] + [os.path.join(dirpath, f) for f in dirs + files]:
                os.lchown(name, self.uid, self.uid)

    def count(self) -> int:
        """Processes running as the sandbox user now."""
        n = 0
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    n += entry.stat().st_uid == self.uid
                except OSError:
                    pass
        return n

    def kill_all(self) -> None:
        """SIGKILL every process of the sandbox user (``kill -1`` as that user)."""
        for _ in range(5):
            if not self.count():
                return
            subprocess.run([shutil.which("setpriv") or "setpriv", f"--reuid={self.uid}",
                            f"--regid={self.uid}", "--clear-groups", "--",
                            sys.executable, "-S", "-c",
                            "import os, signal; os.kill(-1, signal.SIGKILL)"],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)  # SIGKILLed processes take a moment to go

    def watch(self, on_stop=None) -> None:
        """Start the fork-bomb watchdog (a daemon thread) for the sandbox just started."""
        if self.uid is None:
            return
        def run():
            most, many_since = 0, None
            while not self._stop.wait(0.2):
                n = self.count()
                most = max(most, n)
                if n > 8 and many_since is None:
                    many_since = time.monotonic()
                if n > self.limits.processes:
                    self.stopped = (
                        f"stopped: it started more than {self.limits.processes} processes "
                        f"(at least {most}, {time.monotonic() - many_since:.1f} s after it "
                        "had 8; a fork bomb?), so every process of its sandbox was killed")
                    self.kill_all()
                    if on_stop is not None:
                        on_stop()
                    return

        threading.Thread(target=run, daemon=True).start()
