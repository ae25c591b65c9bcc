"""A class on the course's JupyterHub, end to end: real accounts, a real browser.

As root, the test adds an instructor and three learners (``useradd``, with their own
groups; all removed afterwards, even on failure), copies the course into a folder every
account can reach, and starts ``make hub`` there on 127.0.0.1 (a free port, a private
exchange). Then, in headless Chromium:

1. the instructor logs in and, in the formgrader (opened in its own tab, nbgrader #1870),
   generates and releases ``ch02_lstm_cell``;
2. each learner logs in, fetches it from the Assignments tab, writes an answer (alice:
   complete; bob: two parts; mallory: one part plus code that tries to read, overwrite and
   forge other learners' submissions and to take over the exchange), presses Validate
   and submits;
3. the instructor collects (``nbgrader collect``), grades (``make grade``), and releases
   the feedback (``nbgrader release_feedback``), then exports the CSV (``nbgrader export``);
4. each learner fetches their feedback from the Assignments tab and opens it.

Checked: the grades (points per part, from the solution's metadata); that mallory read,
changed and forged nothing of anyone else's (her notebook's own report, her direct
attempts on the exact paths, and alice's submission byte for byte); that every learner
got their own feedback only. Screenshots: ``_build/screenshots/hub_*.png``.

The course is copied into a folder every account can reach, with a hard-linked copy of
the environment running the test (see ``tests/hub_support.py`` for why), so learners'
servers, Validate and ``make grade`` all run the very packages under test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pwd
import re
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:  # tests/ may or may not be a package
    from tests.browser_support import ROOT, browser, screenshot_dir, validation_layout
    from tests.hub_support import ASSIGNMENT, COURSE_ID, MAKE_OLD, Klass
except ImportError:
    from browser_support import (  # noqa: F401
        ROOT,
        browser,
        screenshot_dir,
        validation_layout,
    )
    from hub_support import ASSIGNMENT, COURSE_ID, MAKE_OLD, Klass

ROOT_ONLY = ("needs root to add Unix accounts; run: sudo .venv/bin/python -m pytest -m hub "
             "tests/test_hub.py (make test runs it as root)")

SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
EXERCISE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

@pytest.fixture(scope="module")
def klass():
    if os.geteuid() != 0:
        pytest.skip(ROOT_ONLY)
    missing = [p for p in (SOLUTION, EXERCISE) if not p.is_file()]
    if missing:
        pytest.fail(f"the course lacks {missing}", pytrace=False)
    k = Klass()
    try:
        k.create()
        k.start_hub()
        yield k
    finally:
        k.destroy()


# ---------------------------------------------------------------- the notebooks
def _parts() -> tuple[list[tuple[int, str, str]], dict[str, float], list[tuple[str, float]]]:
    """Of the solution notebook: the solution cells (index, grade_id, source without the
    solution markers), the points of the test cells that follow each (until the next
    solution cell), and every test cell in order as (its solution's grade_id, points)."""
    nb = json.loads(SOLUTION.read_text())
    solutions, points, tests, current = [], {}, [], None
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            current = meta["grade_id"]
            source = "".join(line for line in cell["source"]
                             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            solutions.append((i, current, source))
            points.setdefault(current, 0.0)
        elif meta.get("grade") and current is not None:
            points[current] += float(meta.get("points", 0))
            tests.append((current, float(meta.get("points", 0))))
    return solutions, points, tests


def _solved_parts(answers: dict[int, str]) -> list[tuple[str, str]]:
    by_index = {i: gid for i, gid, _ in _parts()[0]}
    return [(by_index[i], src) for i, src in answers.items()]


HOSTILE = '''\
# --- an attack on the other learners (test_hub.py): every attempt is recorded
import datetime as _dt, glob as _glob, json as _json, os as _os
_EX = {exchange!r} + "/" + {course!r}
_report = {{}}
def _try(name, fn):
    try:
        _report[name] = "ok: " + repr(fn())[:200]
    except Exception as _e:
        _report[name] = type(_e).__name__
_try("list inbound", lambda: _os.listdir(_EX + "/inbound"))
_try("list feedback", lambda: _os.listdir(_EX + "/feedback"))
_try("glob victim", lambda: _glob.glob(_EX + "/inbound/{victim}+*") or 1 / 0)
_try("rename course", lambda: _os.rename(_EX, _EX + "-mine"))
_try("write outbound", lambda: open(_EX + "/outbound/{assignment}/{assignment}.ipynb", "a"))
_try("read victim home", lambda: _os.listdir({victim_home!r}))
def _forge():
    when = (_dt.datetime.utcnow() + _dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    fake = _EX + "/inbound/{victim}+{assignment}+" + when + "+forged"
    _os.makedirs(fake)
    with open(fake + "/{assignment}.ipynb", "w") as f:
        f.write(open(_os.path.expanduser("~/{assignment}/{assignment}.ipynb")).read())
    with open(fake + "/timestamp.txt", "w") as f:
        f.write(when)
    return fake
_try("forge victim submission", _forge)
try:
    with open(_os.path.expanduser("~/attack.json"), "w") as _f:
        _json.dump(_report, _f)
except OSError:
    pass  # (inside the grader's sandbox there is no home to write to)
'''


# ---------------------------------------------------------------- browser steps
def _login_start(browser, k: Klass, user: str):
    """Open a browser context for ``user`` and submit the log-in form (the hub starts the
    server; `_login_wait` waits for JupyterLab). Servers of several people start at once."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{k.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", k.passwords[user])
    page.click("#login_submit")
    return context, page


def _login_wait(page, user: str):
    page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/lab"), timeout=180_000)
    page.locator(".jp-LabShell, #jp-main-dock-panel").first.wait_for(timeout=120_000)


def _shot(page, name: str):
    page.screenshot(path=str(screenshot_dir() / f"hub_{name}.png"))


def _open_assignments(page):
    """The Assignments tab, through the command palette (retried: Lab ignores the key
    while it is still restoring)."""
    palette = page.locator(".lm-CommandPalette-input")
    for _ in range(20):
        page.locator("#jp-main-dock-panel").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=3_000)
            break
        except Exception:
            continue
    palette.fill("Assignment List")
    page.locator(".lm-CommandPalette-item", has_text="Assignment List").first.click()
    page.locator("#released_assignments_list").wait_for()


def _button(page, where: str, text: str):
    return page.locator(f"#{where} button", has_text=re.compile(rf"^{text}$")).first


def _release_in_formgrader(page, k: Klass):
    _login_wait(page, k.teacher)
    page.goto(f"{k.url}/user/{k.teacher}/formgrader/manage_assignments")
    row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT)).first
    row.wait_for()
    row.locator("td.assign a").click()  # generate the student version (and gradebook)
    page.locator("#success-modal").wait_for()
    page.locator("#success-modal .modal-footer button").first.click()
    page.locator("#success-modal").wait_for(state="detached")
    row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT)).first
    row.locator("td.release a").click()
    page.locator("#success-modal, #error-modal").first.wait_for()
    text = page.locator(".modal").first.inner_text()
    _shot(page, "formgrader_release")
    assert "Successfully released" in text, text


def _write_cells(page, answers: dict[int, str]):
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    for index, source in answers.items():
        editor = cells.nth(index).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def _learner_works(page, k: Klass, user: str, answers: dict[int, str], shots: bool):
    """Fetch, answer, Validate, submit. Returns (validate answer, dialog text)."""
    _login_wait(page, user)
    _open_assignments(page)
    _button(page, "released_assignments_list", "Fetch").click()
    _button(page, "fetched_assignments_list", "Submit").wait_for()
    if shots:
        _shot(page, "learner_assignments")
    page.goto(f"{k.url}/user/{user}/lab/workspaces/w{secrets.token_hex(4)}/tree/"
              f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb?reset")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
    _write_cells(page, answers)
    with page.expect_response(
        lambda r: r.url.split("?")[0].endswith("/assignments/validate")
        and r.request.method == "POST", timeout=180_000,
    ) as answer:
        panel.locator("jp-button.validate-button").click()
    served = json.loads(answer.value.text())
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    text = dialog.inner_text()
    # lines shown of each failing test's source (hub/learners/custom/custom.css: one)
    shown = validation_layout(page)["lines"]
    if shots:
        _shot(page, "learner_validate")
    page.locator(".jp-Dialog button").last.click()
    _open_assignments(page)
    _button(page, "fetched_assignments_list", "Submit").click()
    page.locator("#submitted_assignments_list .list_item").first.wait_for()
    return served, text, shown


def _learner_feedback(page, k: Klass, user: str, shots: bool) -> str:
    """Fetch feedback in the Assignments tab, open it; returns the page's text."""
    page.goto(f"{k.url}/user/{user}/lab/workspaces/f{secrets.token_hex(4)}?reset")
    page.locator(".jp-LabShell, #jp-main-dock-panel").first.wait_for()
    _open_assignments(page)
    _button(page, "submitted_assignments_list", "Fetch Feedback").click()
    page.locator("#submitted_assignments_list", has_text="view feedback").wait_for()
    home = Path(pwd.getpwnam(user).pw_dir)
    found = sorted((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(found) == 1, f"{user} has feedback files {found}"
    rel = found[0].relative_to(home).as_posix()
    page.goto(f"{k.url}/user/{user}/files/{urllib.request.quote(rel)}")
    page.wait_for_load_state()
    if shots:
        _shot(page, "learner_feedback")
    return page.locator("body").inner_text()


# ---------------------------------------------------------------- the test
def _read_csv(path: Path) -> dict[str, dict]:
    with path.open(newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def _inbound_entries(k: Klass, user: str) -> list[Path]:
    inbound = k.exchange / COURSE_ID / "inbound"
    return sorted(p for p in inbound.iterdir() if p.name.startswith(f"{user}+{ASSIGNMENT}+"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


ATTACK = r"""
import json, os, sys
paths = json.loads(sys.argv[1])
out = {}
for name, (op, path) in paths.items():
    try:
        if op == "read":
            open(path, "rb").read(1)
        elif op == "list":
            os.listdir(path)
        elif op == "write":
            open(path, "ab").close()
        elif op == "rename":
            os.rename(path, path + ".moved")
        elif op == "delete":
            os.unlink(path)
        out[name] = "ok"
    except OSError as e:
        out[name] = type(e).__name__
print(json.dumps(out))
"""


@pytest.mark.hub
@pytest.mark.browser
def test_class_on_jupyterhub(browser, klass):
    k = klass
    t0 = time.monotonic()
    solutions, points, tests = _parts()
    max_score = sum(points.values())
    first, last = solutions[0], solutions[-1]
    hostile = HOSTILE.format(
        exchange=str(k.exchange), course=COURSE_ID, victim=k.alice, assignment=ASSIGNMENT,
        victim_home=str(Path(pwd.getpwnam(k.alice).pw_dir)),
    )
    plan = {
        k.alice: {i: src for i, _, src in solutions},
        k.bob: {first[0]: first[2], last[0]: last[2]},
        k.mallory: {first[0]: hostile + "\n" + first[2]},
    }
    expected = {k.alice: max_score, k.bob: points[first[1]] + points[last[1]],
                k.mallory: points[first[1]]}

    # everybody logs in at once (the hub starts the four servers side by side)
    sessions = {u: _login_start(browser, k, u) for u in k.users}
    pages = {u: page for u, (_, page) in sessions.items()}
    try:
        _class_round(k, pages, plan, expected, tests, max_score)
    finally:
        for context, _ in sessions.values():
            context.close()
    print(f"class on JupyterHub: {time.monotonic() - t0:.0f} s after the hub was up")


def _class_round(k: Klass, pages, plan, expected, tests, max_score):
    # 1. the instructor releases the assignment from the formgrader
    _release_in_formgrader(pages[k.teacher], k)
    released = k.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert released.is_file(), "the formgrader's Release left nothing in the exchange"

    # 2. each learner fetches, answers, validates and submits
    validated = {}
    for user in (k.alice, k.bob, k.mallory):
        validated[user] = _learner_works(pages[user], k, user, plan[user], shots=user == k.alice)
    assert "Success! Your notebook passes all the tests." in validated[k.alice][1], (
        validated[k.alice][1])
    assert validated[k.alice][0] == {"success": True, "value": {}}, validated[k.alice][0]
    for user in (k.bob, k.mallory):
        assert "failed" in validated[user][0]["value"], (user, validated[user][0])
        shown = validated[user][2]
        assert shown, (user, "no failing test in the dialog")
        assert all(n <= 1.01 for n in shown), (user, "test sources not cut to one line", shown)

    # learners have no formgrader; mallory's browser session cannot enter alice's server
    m = pages[k.mallory]
    assert m.request.get(f"{k.url}/user/{k.mallory}/formgrader/manage_assignments").status \
        == 404
    peek = m.request.get(f"{k.url}/user/{k.alice}/api/contents/{ASSIGNMENT}",
                         max_redirects=0)
    assert peek.status in (302, 403), peek.status  # refused, or sent to log in as alice
    assert ASSIGNMENT + ".ipynb" not in peek.text()

    # mallory's notebook ran (Validate runs it as her): what did it get?
    report = json.loads((Path(pwd.getpwnam(k.mallory).pw_dir) / "attack.json").read_text())
    for attempt in ("list inbound", "list feedback", "rename course", "write outbound",
                    "read victim home"):
        assert not report[attempt].startswith("ok"), (attempt, report)
    assert report["glob victim"] == "ZeroDivisionError", report  # glob found nothing
    assert report["forge victim submission"].startswith("ok"), (
        "the hostile notebook could not even create its forgery; the test proves nothing",
        report)
    alice_entries = _inbound_entries(k, k.alice)
    assert len(alice_entries) == 2, alice_entries  # hers and mallory's forgery
    genuine = [p for p in alice_entries if p.stat().st_uid == pwd.getpwnam(k.alice).pw_uid]
    assert len(genuine) == 1, alice_entries
    alice_before = _digest(genuine[0])

    # mallory again, from a shell, knowing the exact paths of alice's work
    nb = f"{ASSIGNMENT}.ipynb"
    alice_home = Path(pwd.getpwnam(k.alice).pw_dir)
    attack = {
        "read alice's submission": ("read", str(genuine[0] / nb)),
        "read alice's secret": ("read", str(genuine[0] / "submission_secret.txt")),
        "list alice's submission": ("list", str(genuine[0])),
        "write alice's submission": ("write", str(genuine[0] / nb)),
        "rename alice's submission": ("rename", str(genuine[0])),
        "read alice's fetched notebook": ("read", str(alice_home / ASSIGNMENT / nb)),
    }
    got = json.loads(k.as_user(k.mallory, [str(k.course / ".venv/bin/python"), "-c", ATTACK,
                                           json.dumps(attack)]).stdout)
    assert all(v != "ok" for v in got.values()), got

    # 3. the instructor collects, grades, releases feedback, exports
    def teacher(*cmd):
        return k.as_user(k.teacher, list(cmd), cwd=k.course)

    collected = teacher("nbgrader", "collect", ASSIGNMENT)
    assert "Not collected" in collected.stdout + collected.stderr, (
        "collect did not report mallory's forgery:\n" + collected.stderr[-3000:])
    submitted = k.course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted([k.alice, k.bob, k.mallory])
    assert _digest(genuine[0]) == alice_before, "alice's submission changed in the exchange"
    ours = _digest(submitted / k.alice / ASSIGNMENT)
    assert ours[nb] == alice_before[nb], "what was collected for alice is not what she submitted"

    graded = teacher("make", "--no-print-directory", *MAKE_OLD, "grade",
                     f"ASSIGNMENT={ASSIGNMENT}")
    grades = _read_csv(k.course / "grades" / f"{ASSIGNMENT}.csv")
    scores = {u: float(grades[u]["score"]) for u in (k.alice, k.bob, k.mallory)}
    assert scores == pytest.approx(expected), (scores, expected, graded.stdout[-3000:])

    teacher("nbgrader", "release_feedback", ASSIGNMENT)
    teacher("nbgrader", "export")
    exported = _read_csv(k.course / "grades" / "nbgrader_export.csv")
    assert {u: float(exported[u]["raw_score"]) for u in scores} == pytest.approx(expected), (
        exported)

    # feedback files: one per learner, readable by that learner alone
    feedback = sorted((k.exchange / COURSE_ID / "feedback").glob("*.html"))
    assert len(feedback) == 3, feedback
    probe = {f"read {p.name}": ("read", str(p)) for p in feedback}
    readable = {}
    for user in (k.alice, k.bob, k.mallory):
        res = json.loads(k.as_user(user, [str(k.course / ".venv/bin/python"), "-c", ATTACK,
                                          json.dumps(probe)]).stdout)
        readable[user] = [name for name, v in res.items() if v == "ok"]
    assert all(len(v) == 1 for v in readable.values()), readable
    assert len({v[0] for v in readable.values()}) == 3, readable

    # 4. each learner fetches and reads their feedback
    for user in (k.alice, k.bob, k.mallory):
        text = _learner_feedback(pages[user], k, user, shots=user == k.bob)
        m = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
        assert m, text[:2000]
        assert float(m.group(1)) == pytest.approx(expected[user]), (user, m.group(0))
        assert float(m.group(2)) == pytest.approx(max_score)
        # points per part: the page lists every test cell with its score, in order
        shown = [(float(a), float(b)) for a, b in re.findall(
            r"Test cell \(Score:\s*([\d.]+)\s*/\s*([\d.]+)\)", text)]
        solved = {gid for gid, src in _solved_parts(plan[user])}
        want = [(pts if gid in solved else 0.0, pts) for gid, pts in tests]
        assert shown == want, (user, shown, want)


# ---------------------------------------------------------------- the files, as parsed
HUB = ROOT / "hub"
DEPLOY = ROOT / "deploy" / "kubernetes"


def _load_config(path: Path, env: dict):
    from traitlets.config.loader import PyFileConfigLoader

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_hub_config_loads(tmp_path):
    cfg = _load_config(HUB / "jupyterhub_config.py",
                       {"LSTM_HUB_STATE": str(tmp_path / "state"), "LSTM_HUB_PORT": "8123"})
    assert cfg.JupyterHub.bind_url == "http://127.0.0.1:8123"
    assert cfg.JupyterHub.spawner_class == "localprocess"
    assert cfg.JupyterHub.authenticator_class == "pam"
    assert cfg.Spawner.cmd[1:] == ["-m", "jupyterhub.singleuser"]
    assert "--proxy-timeout" in cfg.ConfigurableHTTPProxy.command
    assert callable(cfg.Spawner.pre_spawn_hook)
    assert (tmp_path / "state").is_dir()
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0


def test_nbgrader_config_plugs_the_private_exchange(tmp_path):
    import importlib

    from nbgrader.exchange import default

    cfg = _load_config(HUB / "nbgrader_config.py", {"LSTM_COURSE_EXCHANGE": str(tmp_path)})
    assert cfg.Exchange.root == str(tmp_path)
    assert cfg.CourseDirectory.course_id == COURSE_ID
    stock = {"release_assignment": default.ExchangeReleaseAssignment,
             "fetch_assignment": default.ExchangeFetchAssignment, "list": default.ExchangeList,
             "submit": default.ExchangeSubmit, "collect": default.ExchangeCollect,
             "release_feedback": default.ExchangeReleaseFeedback,
             "fetch_feedback": default.ExchangeFetchFeedback}
    for name, base in stock.items():
        module, _, cls = cfg.ExchangeFactory[name].rpartition(".")
        plugin = getattr(importlib.import_module(module), cls)
        assert issubclass(plugin, base), (name, plugin)
        assert "ensure_root" in vars(plugin.__mro__[1]), name  # never needs o+w on the root


def test_feedback_acl_names_one_reader(tmp_path):
    import importlib
    import sys

    sys.path.insert(0, str(HUB))
    try:
        ce = importlib.import_module("course_exchange")
    finally:
        sys.path.remove(str(HUB))
    f = tmp_path / "feedback.html"
    f.write_text("<p>score</p>")
    f.chmod(0o600)
    try:
        ce.set_reader_acl(str(f), 4242)
    except OSError as err:
        pytest.skip(f"no POSIX ACLs on {tmp_path}: {err}")
    assert ce.acl_readers(str(f)) == {4242}
    assert f.stat().st_mode & 0o777 == 0o640  # the mask shows as the group bits
    assert ce.acl_readers(str(tmp_path)) == set()
    # inbound/: what anyone creates inside gets the instructors' group entry, others none
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    ce.set_inbound_default_acl(str(inbound), 4343)
    (inbound / "sub").mkdir()
    made = inbound / "sub" / "timestamp.txt"
    made.write_text("now")
    blob = os.getxattr(made, ce.ACL_XATTR)
    entries = [tuple(int.from_bytes(blob[o + a:o + b], "little") for a, b in ((0, 2), (2, 4),
               (4, 8))) for o in range(4, len(blob), 8)]
    assert (0x08, 7, 4343) in entries, entries  # g:4343:rwx (the mode acts as the mask)
    assert made.stat().st_mode & 0o007 == 0  # nothing for others


def test_deploy_files_parse():
    import shlex
    import subprocess

    import yaml

    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    compile(values["hub"]["extraConfig"]["lstm-course"], "values.yaml extraConfig", "exec")
    assert values["singleuser"]["storage"]["extraVolumes"][0]["persistentVolumeClaim"][
        "claimName"] == "nbgrader-exchange"
    docs = list(yaml.safe_load_all((DEPLOY / "exchange-volume.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["PersistentVolume", "PersistentVolumeClaim", "Job"]
    gateway = yaml.safe_load((DEPLOY / "dask-gateway-values.yaml").read_text())
    compile(gateway["gateway"]["extraConfig"]["lstm-limits"], "gateway extraConfig", "exec")
    json.loads((DEPLOY / "roster.example.json").read_text())
    subprocess.run(["sh", "-n", str(DEPLOY / "entrypoint.sh")], check=True)
    known = {"FROM", "RUN", "COPY", "ENV", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "ARG"}
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word = line.split()[0]
        assert word in known, line
        if word == "COPY":
            for src in shlex.split(line)[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies a missing {src}"
