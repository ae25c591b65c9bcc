"""JupyterLab's nbgrader Validate button, pressed in a real browser (headless Chromium).

A private ``jupyter lab`` runs in a temporary copy of the course folder holding
``nbgrader_config.py`` and one cheap assignment (ch02_lstm_cell); its configuration,
data, runtime, IPython and settings folders are scratch folders, so ``~/.jupyter`` is
left alone. The learner's path is followed: open the released exercise, Run All from the
Run menu, press Validate, read the dialog. Untouched, the exercise must FAIL; with the
solution notebook copied in its place it must PASS. Each result must equal what
``nbgrader.validator.Validator().validate(path)`` says of the same file (Validate and
grading agree). Screenshots of both dialogs go to
``_build/screenshots/lab_validate_{fail,pass}.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

try:  # tests/ may or may not be a package
    from tests.browser_support import ROOT, browser, screenshot_dir, validation_layout
except ImportError:
    from browser_support import (  # noqa: F401
        ROOT,
        browser,
        screenshot_dir,
        validation_layout,
    )

pytestmark = pytest.mark.browser

ASSIGNMENT = "ch02_lstm_cell"
NOTEBOOK = f"exercises/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
IN_LAB = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"  # the file browser starts at exercises/
SOLUTION = f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
TOKEN = "lstm-course-browser-test"
BIN = Path(sys.executable).parent
START_TIMEOUT = 60  # s for the server to answer
VALIDATE_TIMEOUT = 120_000  # ms; the handler runs the notebook in a fresh kernel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A ``jupyter lab`` process serving ``course`` on 127.0.0.1."""

    def __init__(self, course: Path, scratch: Path):
        self.course = course
        self.scratch = scratch
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = scratch / "jupyter-lab.log"
        self.proc: subprocess.Popen | None = None

    def start(self):
        dirs = {
            name: self.scratch / name
            for name in ("data", "runtime", "ipython", "settings", "workspaces")
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # No "news" pop-up and no update check (they would cover the notebook).
        notify = dirs["settings"] / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True, exist_ok=True)
        (notify / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        # Render every cell (no virtual scrolling), so the page shows all prompts/outputs.
        tracker = dirs["settings"] / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True, exist_ok=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        env = dict(os.environ)
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            # as `make lab`: lab/learner is the config folder (custom/custom.css too)
            JUPYTER_CONFIG_DIR=str(ROOT / "lab" / "learner"),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1",
            TF_CPP_MIN_LOG_LEVEL="3",
            TF_ENABLE_ONEDNN_OPTS="0",
            PYTHONHASHSEED="0",
            MPLBACKEND="Agg",
        )
        cmd = [
            str(BIN / "jupyter"), "lab",
            "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            "--no-browser", "--allow-root",
            # as `make lab` starts it: the learner sees exercises/ only, with the
            # learner's nbgrader tools (lab/learner/)
            f"--ServerApp.root_dir={self.course / 'exercises'}",
            f"--IdentityProvider.token={TOKEN}",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
        ]  # fmt: skip
        # nbgrader reads nbgrader_config.py from the server's working folder.
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.course, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def api(self, method: str, path: str):
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {TOKEN}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def delete_sessions(self):
        """Shut down every kernel the browser opened (they outlive the page)."""
        for s in self.api("GET", "/api/sessions") or []:
            try:
                self.api("DELETE", f"/api/sessions/{s['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """DELETE the sessions, SIGTERM the server's process group (SIGKILL after 15 s),
        then SIGKILL any kernel it left behind (kernels run in sessions of their own)."""
        if self.proc is None:
            return
        children = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            try:
                self.delete_sessions()
            except (urllib.error.URLError, OSError):
                pass
            children |= _descendants(self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()


def _descendants(pid: int) -> set[int]:
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parent[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    missing = [p for p in ("nbgrader_config.py", NOTEBOOK, SOLUTION) if not (ROOT / p).is_file()]
    if missing:
        pytest.fail(f"the course lacks {missing}: the JupyterLab test needs assignment "
                    f"{ASSIGNMENT} (solution and generated exercise)", pytrace=False)
    tmp = tmp_path_factory.mktemp("lab")
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for part in ("exercises", "solutions"):
        shutil.copytree(ROOT / part / ASSIGNMENT, course / part / ASSIGNMENT)
    server = Lab(course, tmp / "jupyter")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def validator_result(notebook: Path) -> dict:
    """What nbgrader's own Validator says of ``notebook`` (config as the server loads it)."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(notebook.parents[2])).load_config()
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Validator(config=config).validate(str(notebook))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def saved_run(notebook: Path) -> tuple[int, int, list[str]]:
    """(code cells, code cells run, error names) of the notebook as the browser saved it
    (Validate saves before it validates)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    ran = [c for c in code if c.get("execution_count")]
    errors = [o.get("ename", "") for c in code for o in c.outputs if o.output_type == "error"]
    return len(code), len(ran), errors


def _summary(result: dict) -> dict:
    """Result kinds with the sources of the cells they list (tracebacks name temp files)."""
    return {k: [c.get("source") for c in v] for k, v in result.items()}


def run_and_validate(browser, lab: Lab, shot: Path) -> tuple[str, str, dict, list[str]]:
    """Open the exercise in a fresh workspace, Run All, press Validate.

    Returns (dialog kind, dialog text, the server's JSON answer, error outputs shown)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    shot.with_name(shot.stem + "_error.png").unlink(missing_ok=True)
    try:
        page.goto(f"{lab.base}/lab/workspaces/t{uuid.uuid4().hex[:12]}/tree/{IN_LAB}"
                  f"?reset&token={TOKEN}")
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
        panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
        button = panel.locator("jp-button.validate-button")
        button.wait_for()
        # The kernel must be up before Run All (else Lab asks which kernel to start). The
        # execution indicator says "idle" already while there is no kernel yet, so wait
        # for the status bar's "<kernel name> | Idle".
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-Widget *')].some(e =>"
            " /^Python 3 \\(ipykernel\\) \\| Idle$/.test((e.textContent || '').trim()))",
            timeout=90_000,
        )
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
        # wait until no cell is queued or running, then for an idle kernel
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
            ".some(p => p.textContent.includes('*'))"
            " && [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')]"
            ".some(e => e.getAttribute('data-status') === 'idle')",
            timeout=90_000,
        )
        errors = panel.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_text_contents()
        with page.expect_response(
            lambda r: r.url.split("?")[0].endswith("/assignments/validate")
            and r.request.method == "POST",
            timeout=VALIDATE_TIMEOUT,
        ) as answer:
            button.click()
        served = json.loads(answer.value.text())
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=30_000)
        if dialog.locator(".nbgrader-SuccessDialog").count() or page.locator(
            ".jp-Dialog.nbgrader-SuccessDialog, .nbgrader-SuccessDialog"
        ).count():
            kind = "success"
        elif page.locator(".nbgrader-ErrorDialog").count():
            msg = page.locator("#validation-message")
            classes = (msg.get_attribute("class") or "") if msg.count() else ""
            kind = next(
                (c for c in ("validation-failed", "validation-changed",
                             "validation-type-changed") if c in classes),
                "error",
            )
        else:
            kind = "unknown"
        text = dialog.inner_text()
        layout = validation_layout(page)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
        return kind, text, served, errors, layout
    except Exception:
        # leave evidence for a person: the screen and any dialog that was open
        shot.parent.mkdir(parents=True, exist_ok=True)
        broken = shot.with_name(shot.stem + "_error.png")
        page.screenshot(path=str(broken))
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        print(f"screenshot of the failure: {broken}; dialogs open: {dialogs}", file=sys.stderr)
        print(f"server log (tail):\n{lab.log_tail()}", file=sys.stderr)
        raise
    finally:
        context.close()
        lab.delete_sessions()


def test_validate_button_fails_then_passes(browser, lab):
    t0 = time.monotonic()
    shots = screenshot_dir()
    exercise = lab.course / NOTEBOOK

    # 1. The released exercise, untouched: Run All stops at a stub, Validate fails.
    kind, text, served, errors, layout = run_and_validate(
        browser, lab, shots / "lab_validate_fail.png"
    )
    assert any("NotImplementedError" in e for e in errors), (
        f"Run All on the untouched exercise showed no NotImplementedError: {errors[:3]}"
    )
    n_code, n_ran, enames = saved_run(exercise)
    assert n_ran >= 2, f"Run All ran only {n_ran} of {n_code} code cells before Validate saved"
    assert "NotImplementedError" in enames, f"saved errors: {enames}"
    assert kind == "validation-failed", f"expected a failed validation, got {kind}:\n{text}"
    assert "NotImplementedError" in text, text
    # one line per failing test, no traceback (the setup cell's minimal tracebacks)
    assert "most recent call" not in text, text[:2000]
    # readable at a glance (lab/learner/custom/custom.css): every failing test shows one
    # line of its source, its message in bold under it, the first one without scrolling
    assert layout["n"] >= 2, layout
    assert all(n <= 1.01 for n in layout["lines"]), layout
    assert layout["first_error_bottom"] <= layout["body_bottom"], layout
    assert all(w in ("700", "bold") for w in layout["weights"]), layout
    assert served["success"], served
    expected = validator_result(exercise)
    assert "failed" in expected, expected
    assert _summary(served["value"]) == _summary(expected), (
        "the Validate button and nbgrader's Validator disagree on the exercise"
    )

    # 2. The solution copied in place of the exercise: Validate passes.
    shutil.copy2(lab.course / SOLUTION, exercise)
    kind, text, served, errors, _ = run_and_validate(
        browser, lab, shots / "lab_validate_pass.png"
    )
    assert not errors, f"Run All on the solution showed errors: {errors[:3]}"
    n_code, n_ran, enames = saved_run(exercise)
    assert n_ran == n_code, f"Run All ran {n_ran} of {n_code} code cells of the solution"
    assert not enames, f"the solution raised {enames} in the browser"
    assert kind == "success", f"expected success, got {kind}:\n{text}"
    assert "Success! Your notebook passes all the tests." in text, text
    assert served == {"success": True, "value": {}}, served
    assert validator_result(exercise) == {}, "nbgrader's Validator fails the solution"

    elapsed = time.monotonic() - t0
    print(f"JupyterLab validate round trip: {elapsed:.1f} s")


def test_learner_lab_offers_only_the_learners_tools(browser, lab):
    """`make lab`'s settings: the files are the exercises (no solutions, no gradebook), and
    nbgrader's instructor panels and exchange panels are off; Validate stays."""
    import json
    import urllib.error
    import urllib.request

    def get(path: str) -> tuple[int, str]:
        req = urllib.request.Request(f"{lab.base}{path}",
                                     headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    status, body = get("/api/contents/")
    assert status == 200, status
    names = {item["name"] for item in json.loads(body)["content"]}
    assert names == {ASSIGNMENT}, f"the learner's file browser lists {sorted(names)}"
    assert get("/api/contents/../solutions")[0] in (403, 404)
    assert get("/formgrader")[0] == 404, "the formgrader is served to the learner"
    assert get("/assignments")[0] == 404, "the assignment list (needs an exchange) is on"

    page = browser.new_page()
    try:
        page.goto(f"{lab.base}/lab/workspaces/t{uuid.uuid4().hex[:12]}/tree/{IN_LAB}"
                  f"?reset&token={TOKEN}")
        page.wait_for_selector("jp-button.validate-button", timeout=60_000)
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert "Nbgrader" not in menus, f"menu bar: {menus}"
        for panel in ("Formgrader", "Create Assignment", "Assignment List", "Course List"):
            assert page.get_by_text(panel, exact=True).count() == 0, f"{panel} is shown"
    finally:
        page.close()
