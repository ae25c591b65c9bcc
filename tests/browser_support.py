"""Shared helpers of the real-browser tests (``@pytest.mark.browser``).

Imported by ``test_browser_book.py`` and ``test_browser_lab.py`` (this is a plain module,
not a conftest). It provides:

* ``browser``: a headless Debian Chromium driven by Playwright's sync API. Module scoped
  (each test module starts and stops its own, about 1 s), so that two Playwright instances
  never run at the same time. Chromium resolves no host name but 127.0.0.1, so a page that
  tries to reach the internet fails fast instead of hanging, and the attempt is still
  visible to ``page.on("request")``.
* ``serve_directory``: a static HTTP server on 127.0.0.1 (random free port) in a thread.
* ``HARMLESS_CONSOLE``: the console errors every stock Jupyter Book 1 page logs.

When /usr/bin/chromium is missing the tests FAIL (they do not skip): ``make test`` installs
it through ``make sysdeps``; by hand it is ``apt-get install -y chromium``. We never use
Playwright's own browser download.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "_build" / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    # Only 127.0.0.1 resolves: an outside request fails at once (and is still recorded).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Console errors logged by every stock Jupyter Book 1 page (sphinx-book-theme 1.3.0):
# harmless, and not ours to fix.
HARMLESS_CONSOLE = [
    re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),
    re.compile(r"Got invalid theme mode"),
]


def is_harmless(text: str, url: str = "") -> bool:
    """True for the stock console noise (see HARMLESS_CONSOLE) and for the browser's own
    favicon probe: Chromium asks for /favicon.ico once per origin (on whichever page is
    opened first) and logs the 404 as a console error; the book declares no favicon."""
    if url.endswith("/favicon.ico"):
        return True
    return any(p.search(text) for p in HARMLESS_CONSOLE)


def require_chromium() -> str:
    """Path of the browser, or a test failure that says how to install it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with "
            "`apt-get update && apt-get install -y chromium` (`make test` does it through "
            "`make sysdeps`). Do not use Playwright's own browser download.",
            pytrace=False,
        )
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Playwright sync API), shared by the tests of one module."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port); yields the base URL
    ending in ``/``."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def validation_layout(page) -> dict:
    """How nbgrader's open Validate dialog lays out its failures (styled by the learners'
    custom.css): ``lines``, how many lines of each failing test's source show; ``weights``,
    the font weight of each message; and the bottom of the first message against the
    bottom of the dialog's visible body."""
    return page.evaluate("""() => {
        const kids = [...document.querySelectorAll('#validation-message.validation-failed > div')];
        const src = kids.filter((_, i) => i % 3 === 1).map(d => d.querySelector('pre'));
        const err = kids.filter((_, i) => i % 3 === 2).map(d => d.querySelector('pre'));
        const body = document.querySelector('.jp-Dialog-body').getBoundingClientRect();
        return {n: src.length,
                lines: src.map(p => p.clientHeight / parseFloat(getComputedStyle(p).lineHeight)),
                first_error_bottom: err.length ? err[0].getBoundingClientRect().bottom : 0,
                body_bottom: body.bottom,
                weights: err.map(p => getComputedStyle(p).fontWeight)};
    }""")
