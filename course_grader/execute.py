"""nbgrader's ``Execute`` preprocessor, with the kernel in the sandbox.

Differences from nbgrader 0.9.6's ``Execute``:

- the kernel is :class:`~course_grader.sandbox.SandboxKernelManager`'s (whatever the
  notebook names), with a hard wall-clock limit on the whole kernel;
- the kernel sees read-only copies of the submission's regular non-notebook files only
  (no notebook, no symlink, nothing nbgrader copied through a symlink);
- outputs are limited in bytes while they arrive (:mod:`course_grader.outputs`);
- when the kernel dies (``os._exit``, killed, out of time) or stops answering (a loop
  that ignores interrupts), the notebook is not abandoned: the cells that ran keep their
  results, and every later code cell gets an error output saying why it did not run, so
  its test cells score 0 and everything before keeps what it earned. (nbgrader would
  fail the whole submission, or worse, leave unrun test cells without output, which
  nbgrader scores as passed.)
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import sys
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .outputs import CellBudget, shrink_output
from .sandbox import Limits, SandboxKernelManager

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


class SandboxedExecute(Execute):
    """Execute a submission in the bubblewrap sandbox (see the module docstring)."""

    kernel_seconds = Integer(
        300, help="Wall-clock limit of one notebook's kernel (then it is killed)."
    ).tag(config=True)
    memory_bytes = Integer(6 * 2**30, help="Address-space limit of the kernel.").tag(config=True)

    def create_kernel_manager(self):
        self.km = SandboxKernelManager(
            config=self.config,
            limits=Limits(seconds=self.kernel_seconds, memory=self.memory_bytes),
            sandbox_files=self._files_for_sandbox(),
        )
        return self.km

    def _files_for_sandbox(self) -> dict[str, str]:
        resources = self.resources or {}
        workdir = (resources.get("metadata") or {}).get("path") or ""
        nbg = resources.get("nbgrader") or {}
        submitted = None
        if nbg.get("student") and nbg.get("assignment"):
            try:
                cd = CourseDirectory(config=self.config)
                submitted = cd.format_path(cd.submitted_directory, nbg["student"],
                                           nbg["assignment"])
            except Exception:  # noqa: BLE001 - no course context: trust workdir only
                submitted = None
        return submission_files(workdir, submitted)

    # ------------------------------------------------------------------ execution
    def preprocess(self, nb, resources=None, km=None):
        self._stopped: str | None = None
        self._started = time.monotonic()
        self._budgets: dict[int, CellBudget] = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped is None and time.monotonic() - self._started > self.kernel_seconds:
            self._stopped = (f"the notebook ran out of its time ({self.kernel_seconds} s) "
                             "before this cell")
        if self._stopped is not None:
            cell.outputs = [_error("CellNotRun", self._stopped)]
            cell.execution_count = None
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            why = (f"the kernel died in cell {index} (it exited, was killed, or ran out "
                   "of its time or memory)")
            account = getattr(self.km, "account", None)
            if account is not None and account.stopped:
                why = f"the kernel was {account.stopped} (cell {index})"
        except CellTimeoutError:
            why = (f"cell {index} ran longer than {self.timeout} s and ignored the "
                   "interrupt, so its kernel was stopped")
        self._stopped = f"not run: {why}"
        cell.outputs = list(cell.get("outputs", [])) + [_error("KernelStopped", why)]
        self._kill_kernel()
        return cell, resources

    def _kill_kernel(self) -> None:
        try:
            if self.km is not None:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as err:  # noqa: BLE001 - it is dead or dying either way
            self.log.warning("could not stop the kernel cleanly: %s", err)

    # ------------------------------------------------------------------ outputs
    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        budget = self._budgets.setdefault(cell_index, CellBudget())
        if not budget.admit(out):
            if outs and outs[-1] is out:
                outs.pop()
                if display_id:
                    idx = self._display_id_map.get(display_id, {}).get(cell_index, [])
                    if idx and idx[-1] == len(outs):
                        idx.pop()
            return None
        return out

    def _update_display_id(self, display_id, msg):
        super()._update_display_id(display_id, msg)
        for cell_idx, output_indices in self._display_id_map.get(display_id, {}).items():
            outputs = self.nb["cells"][cell_idx]["outputs"]
            for i in output_indices:
                if i < len(outputs):
                    shrink_output(outputs[i])
