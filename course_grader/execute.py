"""nbgrader's ``Execute`` preprocessor, with the kernel in the sandbox.

Differences from nbgrader 0.9.6's ``Execute``:

- the kernel is started from a kernelspec of the grader's (whatever the notebook
  names) whose argv runs it in the sandbox, with a hard wall-clock limit on the whole
  kernel;
- the kernel sees read-only copies of the submission's regular non-notebook files only
  (no notebook, no symlink, nothing nbgrader copied through a symlink);
- right after each graded test cell has run, the kernel is asked to call that part's
  declared functions on inputs drawn at grading time (:mod:`course_grader.checks`); the
  returned data go into ``resources["course_grader"]`` for :class:`VerifyGrades`, and the
  probe cell itself never enters the notebook. So a student's code runs once per grading;
- when the kernel dies (``os._exit``, killed, out of time) or stops answering (a loop
  that ignores interrupts), the notebook is not abandoned: the cells that ran keep their
  results, and every later code cell gets an error output saying why it did not run, so
  its test cells score 0 and everything before keeps what it earned. (nbgrader would
  fail the whole submission, or worse, leave unrun test cells without output, which
  nbgrader scores as passed.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import checks
from .sandbox import Limits, SandboxAccount, check_sandbox, copy_files, sandbox_argv

#: Name of the kernelspec each sandboxed kernel is started from.
KERNEL_NAME = "course-grader-sandbox"

#: Files beside the notebook that Python or IPython would pick up by themselves.
RISKY_FILES = re.compile(r"(^|/)(sitecustomize|usercustomize)(\.py|/)|\.pth$|_config\.(py|json)$")

#: Most files (and bytes) of a submission copied into the sandbox.
MAX_FILES = 200
MAX_FILE_BYTES = 50 * 2**20


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def shadows_module(rel: str) -> bool:
    """True if a file at ``rel`` (relative to the notebook) would shadow a module."""
    top = rel.split("/", 1)[0]
    if "/" in rel:                       # inside a folder: the folder is a package name
        name = top
    elif top.endswith(".py"):
        name = top[:-3]
    elif top.endswith((".so", ".pyd", ".pyc")):
        name = top.split(".", 1)[0]
    else:
        return False
    if not name.isidentifier():
        return False
    if name in sys.stdlib_module_names or name in ("lstm_ref", "course_grader"):
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True


def submission_files(workdir: str, submitted_dir: str | None = None) -> dict[str, str]:
    """Regular non-notebook files under ``workdir``: ``relative path -> absolute path``.

    Skips notebooks, checkpoints, hidden folders, symlinks and special files, and (when
    ``submitted_dir`` is given) every file whose counterpart in the submission is not a
    regular file reached without symlinks (nbgrader copies through symlinks), and files
    that would shadow a module (``numpy.py``, ``lstm_ref.py``, ...).
    """
    files: dict[str, str] = {}
    total = 0
    if not workdir or not os.path.isdir(workdir):
        return files
    for dirpath, dirnames, filenames in os.walk(workdir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, workdir)
            if name.endswith(".ipynb") or name.startswith("."):
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
                continue
            if shadows_module(rel) or RISKY_FILES.search(rel):
                continue
            if submitted_dir:
                orig = os.path.join(submitted_dir, rel)
                if os.path.lexists(orig):
                    if (os.path.realpath(orig) != os.path.abspath(orig)
                            or not stat.S_ISREG(os.lstat(orig).st_mode)):
                        continue
            total += st.st_size
            if len(files) >= MAX_FILES or total > 4 * MAX_FILE_BYTES:
                return files
            files[rel] = os.path.abspath(path)
    return files


LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")


class SandboxedExecute(Execute):
    """Execute a submission in the bubblewrap sandbox (see the module docstring).

    The kernel is started from a kernelspec of its own (a documented jupyter_client
    extension point) whose argv is ``python .../course_grader/launch.py ... -- timeout ...
    prlimit ... bwrap ... python -m ipykernel_launcher -f {connection_file}``, written for
    this notebook into a folder only the grader reads; whatever kernel the notebook names.
    """

    kernel_seconds = Integer(
        300, help="Wall-clock limit of one notebook's kernel (then it is killed)."
    ).tag(config=True)
    memory_bytes = Integer(6 * 2**30, help="Address-space limit of the kernel.").tag(config=True)
    rundir_bytes = Integer(16 * 2**20, help="Most bytes the kernel may write into its "
                           "socket folder (the one host folder it can write)").tag(config=True)
    seed = Integer(None, allow_none=True, help="Seed of the inputs the graded functions are "
                   "called with (None: a new one per student).").tag(config=True)
    call_seconds = Integer(20, help="Time limit of one call of a graded function.").tag(
        config=True)

    def create_kernel_manager(self):
        self.release_sandbox()
        check_sandbox()
        limits = Limits(seconds=self.kernel_seconds, memory=self.memory_bytes)
        self.account = SandboxAccount(limits).__enter__()
        self.private = tempfile.mkdtemp(prefix="lstm-grader-p")  # 0700: the grader's only
        self.rundir = tempfile.mkdtemp(prefix="lstm-grader-k")   # the kernel's sockets
        files = copy_files(self.files_for_sandbox(), os.path.join(self.rundir, "files"))
        cmd = sandbox_argv([sys.executable, "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"], limits=limits, files=files,
                           rw_dir=self.rundir, uid=self.account.uid)
        spec_dir = os.path.join(self.private, "kernels", KERNEL_NAME)
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as f:
            # launch.py by its path: course_grader is not an installed package (it runs from
            # the course folder), and the kernel starts from another working folder.
            json.dump({"argv": [sys.executable, LAUNCH,
                                str(self.account.uid if self.account.uid is not None else "-"),
                                self.rundir, os.path.join(self.private, "pid"), "--", *cmd],
                       "display_name": "Python 3 (grading sandbox)", "language": "python",
                       "interrupt_mode": "message", "env": {}, "metadata": {}}, f)
        self.km = AsyncKernelManager(
            config=self.config, kernel_name=KERNEL_NAME,
            kernel_spec_manager=KernelSpecManager(
                kernel_dirs=[os.path.join(self.private, "kernels")]),
            transport="ipc", ip=os.path.join(self.rundir, "k"),
            connection_file=os.path.join(self.rundir, "kernel.json"), cache_ports=False)
        self.watching = threading.Event()
        threading.Thread(target=self.watch_rundir, args=(self.watching,), daemon=True).start()
        self.account.watch()  # fork bombs
        return self.km

    def files_for_sandbox(self) -> dict[str, str]:
        resources = self.resources or {}
        workdir = (resources.get("metadata") or {}).get("path") or ""
        nbg = resources.get("nbgrader") or {}
        submitted = None
        if nbg.get("student") and nbg.get("assignment"):
            try:
                cd = CourseDirectory(config=self.config)
                submitted = cd.format_path(cd.submitted_directory, nbg["student"],
                                           nbg["assignment"])
            except Exception:
                submitted = None
        return submission_files(workdir, submitted)

    def kill_sandbox(self) -> None:
        """SIGKILL the whole sandbox of the current kernel."""
        account = getattr(self, "account", None)
        if account is not None and account.uid is not None:
            account.kill_all()
            return
        try:
            with open(os.path.join(self.private, "pid")) as f:
                os.killpg(int(f.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def watch_rundir(self, stop: threading.Event) -> None:
        """Kill the kernel if it fills its socket folder (the one host folder it can write)."""
        rundir = self.rundir
        while not stop.wait(0.5):
            try:
                used = sum(e.stat(follow_symlinks=False).st_size for e in os.scandir(rundir))
            except OSError:
                return
            if used > self.rundir_bytes:
                self.kill_sandbox()
                return

    def release_sandbox(self) -> None:
        """Stop the watchers, end the sandbox's user's processes, remove its folders."""
        if getattr(self, "watching", None) is not None:
            self.watching.set()
        if getattr(self, "account", None) is not None:
            self.account.__exit__(None, None, None)
        for d in (getattr(self, "rundir", None), getattr(self, "private", None)):
            if d:
                shutil.rmtree(d, ignore_errors=True)
        self.watching = self.account = self.rundir = self.private = None

    # ------------------------------------------------------------------ execution
    def preprocess(self, nb, resources=None, km=None):
        self.stopped_why: str | None = None
        self.started_at = time.monotonic()
        assignment = ((resources or {}).get("nbgrader") or {}).get("assignment", "")
        seed = self.seed if self.seed is not None else secrets.randbits(32)
        self.checked = {"seed": seed, "calls": checks.plan(assignment, seed), "results": {}}
        if resources is not None:
            resources["course_grader"] = self.checked
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self.release_sandbox()

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self.stopped_why is None and time.monotonic() - self.started_at > self.kernel_seconds:
            self.stopped_why = (f"the notebook ran out of its time ({self.kernel_seconds} s) "
                                "before this cell")
        if self.stopped_why is not None:
            cell.outputs = [_error("CellNotRun", self.stopped_why)]
            cell.execution_count = None
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell) and gid in self.checked["calls"]:
                self.check_part(gid, index)
            return cell, resources
        except DeadKernelError:
            why = (f"the kernel died in cell {index} (it exited, was killed, or ran out "
                   "of its time or memory)")
            if self.account is not None and self.account.stopped:
                why = f"the kernel was {self.account.stopped} (cell {index})"
        except CellTimeoutError:
            why = (f"cell {index} ran longer than {self.timeout} s and ignored the "
                   "interrupt, so its kernel was stopped")
        self.stopped_why = f"not run: {why}"
        self.checked["why"] = why
        cell.outputs = list(cell.get("outputs", [])) + [_error("KernelStopped", why)]
        self.kill_sandbox()
        return cell, resources

    def check_part(self, grade_id: str, index: int) -> None:
        """Call the part's functions in the kernel (a cell that never enters the notebook)
        and keep what came back for :class:`VerifyGrades`."""
        probe = new_code_cell(checks.probe_cell(self.checked["calls"][grade_id],
                                                self.call_seconds))
        test_cell, t0 = self.nb.cells[index], time.monotonic()
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self.nb.cells[index] = test_cell  # execute_cell stores the cell it ran there
        self.checked["results"][grade_id] = checks.read_results(probe.outputs)
        self.checked["seconds"] = self.checked.get("seconds", 0.0) + time.monotonic() - t0
