"""The built book, opened in a real browser (headless Chromium, served from 127.0.0.1).

For every page in ``_toc.yml``: it is built, it loads with no request to any other host,
its math is typeset by the MathJax copy served from the book, and it logs no console error
and raises no uncaught exception (only the browser's own favicon probe is tolerated). At a
1280-pixel and at a 390-pixel wide window: the page does not scroll sideways, a display
equation is either shown whole or (on the phone only) scrolls inside its own box, and at
1280 pixels a figure from the chapter's output is not shrunk below 70 % of its width (its
ticks and legends stay readable). Each page offers exactly one visible search control. For
every chapter (``chNN_*``): at least one figure from its own output is shown, the
``.ipynb`` download is offered and served, and a full-page screenshot lands in
``_build/screenshots/<chapter>.png``. The search page finds the LSTM chapter for "forget
gate" and shows its snippets' formulas typeset, not as raw LaTeX.

The book is ``_build/html`` (``make test`` builds it first), or ``$BOOK_HTML_DIR``; the
TOC is ``_toc.yml`` or ``$BOOK_TOC``. The tests skip only when the book has not been built
at all; a chapter listed in the TOC without its HTML page fails.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

try:  # tests/ may or may not be a package
    from tests.browser_support import ROOT, browser, serve_directory
except ImportError:
    from browser_support import ROOT, browser, serve_directory  # noqa: F401

pytestmark = pytest.mark.browser

HTML_DIR = Path(os.environ.get("BOOK_HTML_DIR", ROOT / "_build" / "html")).resolve()
TOC = Path(os.environ.get("BOOK_TOC", ROOT / "_toc.yml")).resolve()
SHOTS = HTML_DIR.parent / "screenshots"
LSTM_CHAPTER = "ch02_lstm_cell"
CHAPTER = re.compile(r"^ch\d+_")
# LaTeX left as text means MathJax did not run (or did not see it).
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")
# The two window widths every page is checked at: a laptop and a phone.
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# At 1280 pixels a figure of the chapter's output keeps at least this share of its width.
MIN_FIGURE_SCALE = 0.7


def is_tolerated(text: str, url: str = "") -> bool:
    """Only Chromium's own favicon probe: it asks for /favicon.ico once per origin and logs
    the 404 as a console error; the book declares no favicon. Every other console error or
    uncaught exception on a page fails the test."""
    return url.endswith("/favicon.ico")


def toc_pages(toc: Path = TOC) -> list[str]:
    """Every document of the TOC, as a path without suffix ("book/intro"), in order."""
    data = yaml.safe_load(toc.read_text())
    pages: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    pages.append(re.sub(r"\.(md|ipynb|rst)$", "", node[key]))
            for value in node.values():
                if isinstance(value, list | dict):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return list(dict.fromkeys(pages))


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if CHAPTER.match(Path(p).name)]


def _id(page: str) -> str:
    return Path(page).name


@dataclass
class Visit:
    """What one page load showed."""

    url: str
    status: int | None = None
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    math_nodes: int = 0
    math_typeset: int = 0
    mjx_containers: int = 0
    math_errors: list[str] = field(default_factory=list)
    mathjax_loaded: bool = False
    raw_math: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    download_href: str | None = None
    download_url: str | None = None
    screenshot: Path | None = None
    layout: dict = field(default_factory=dict)


# Runs in the page once it has loaded: wait for MathJax's first typeset (if the page loads
# MathJax) and for every image, then describe what is on screen.
_INSPECT = """
async () => {
  const hasMath = document.querySelectorAll('.math').length > 0;
  let mathjax = false;
  if (hasMath || window.MathJax) {
    for (let i = 0; i < 300 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 100));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = true;
    }
  }
  const imgs = [...document.querySelectorAll('main img, article img')];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 15000);
  })));
  const main = document.querySelector('article') || document.querySelector('main') || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea')
      .forEach(e => e.remove());
  const dl = document.querySelector('a.btn-download-source-button');
  return {
    mathjax,
    mathNodes: document.querySelectorAll('.math').length,
    mathTypeset: [...document.querySelectorAll('.math')]
        .filter(e => e.querySelector('mjx-container')).length,
    mjx: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')]
        .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 10),
    text: copy.innerText || copy.textContent,
    images: imgs.map(i => ({
      src: i.currentSrc || i.src, width: i.naturalWidth, height: i.naturalHeight,
      output: !!i.closest('.cell_output, .output, figure, .figure'),
    })),
    downloadHref: dl ? dl.getAttribute('href') : null,
    downloadUrl: dl ? dl.href : null,
  };
}
"""


# Runs after _INSPECT: how the page fits the window (sideways scrolling, display equations,
# output figures, visible search controls).
_LAYOUT = """
() => {
  const vw = window.innerWidth;
  const shown = (e) => {
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'
        && !e.closest('dialog:not([open])');
  };
  const scrollsSideways = (e) => {
    for (let a = e; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if ((o === 'auto' || o === 'scroll') && a.scrollWidth > a.clientWidth) return true;
    }
    return false;
  };
  const equations = [...document.querySelectorAll('mjx-container[display="true"]')].map(m => {
    const inner = m.querySelector('mjx-math') || m;
    const need = inner.getBoundingClientRect().width;
    const box = m.closest('.math') || m.parentElement;
    const have = Math.min(box.clientWidth, m.clientWidth || box.clientWidth);
    return {need, have, fits: need <= have + 1, scrolls: scrollsSideways(m),
            text: (m.querySelector('mjx-assistive-mml') || m).textContent.slice(0, 60)};
  });
  const figures = [...document.querySelectorAll('.cell_output img, .output img')]
    .filter(i => i.naturalWidth > 0).map(i => {
      const r = i.getBoundingClientRect();
      return {src: i.currentSrc || i.src, natural: i.naturalWidth, shown: r.width, right: r.right};
    });
  const search = [...document.querySelectorAll(
      '.search-button-field, .search-button, form.bd-search input[type=search], #searchbox input')]
    .filter(shown).map(e => e.className || e.tagName);
  return {vw, pageWidth: document.documentElement.scrollWidth, equations, figures, search};
}
"""


class Book:
    """The served book and a cache of page visits (each page is loaded once per run)."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.contexts = {}
        for name, (width, height) in WIDTHS.items():
            ctx = browser.new_context(viewport={"width": width, "height": height})
            ctx.set_default_timeout(45_000)
            self.contexts[name] = ctx
        self.context = self.contexts["desktop"]
        self.visits: dict[str, Visit] = {}

    def require_html(self, page: str) -> Path:
        path = HTML_DIR / f"{page}.html"
        if not path.is_file():
            pytest.fail(
                f"{page} is listed in {TOC.name} but {path} was not built: the book build "
                "is broken or incomplete (run `make book` and read its log).",
                pytrace=False,
            )
        return path

    def visit(self, page: str, query: str = "", screenshot: Path | None = None,
              width: str = "desktop") -> Visit:
        key = f"{page}{query}@{width}"
        if key in self.visits:
            return self.visits[key]
        self.require_html(page)
        v = Visit(url=f"{self.base_url}{page}.html{query}")
        tab = self.contexts[width].new_page()
        try:
            tab.on("request", lambda r: v.requests.append(r.url))

            def on_console(msg):
                url = (msg.location or {}).get("url", "")
                if msg.type == "error" and not is_tolerated(msg.text, url):
                    v.console_errors.append(f"console.error: {msg.text} ({url})")

            def on_pageerror(err):
                v.console_errors.append(f"uncaught: {err}")

            def on_response(resp):
                if resp.status >= 400:
                    v.bad_responses.append(f"{resp.status} {resp.url}")

            tab.on("console", on_console)
            tab.on("pageerror", on_pageerror)
            tab.on("response", on_response)
            tab.on("requestfailed", lambda r: v.bad_responses.append(f"failed {r.url}"))
            response = tab.goto(v.url, wait_until="load")
            v.status = response.status if response else None
            info = tab.evaluate(_INSPECT)
            v.mathjax_loaded = info["mathjax"]
            v.math_nodes = info["mathNodes"]
            v.math_typeset = info["mathTypeset"]
            v.mjx_containers = info["mjx"]
            v.math_errors = info["mathErrors"]
            v.raw_math = sorted({m.group(0) for m in RAW_MATH.finditer(info["text"] or "")})
            v.images = info["images"]
            v.download_href = info["downloadHref"]
            v.download_url = info["downloadUrl"]
            v.layout = tab.evaluate(_LAYOUT)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(screenshot), full_page=True)
                v.screenshot = screenshot
        finally:
            tab.close()
        self.visits[key] = v
        return v

    def close(self):
        for ctx in self.contexts.values():
            ctx.close()


@pytest.fixture(scope="module")
def book(browser):
    if not HTML_DIR.is_dir():
        pytest.skip(
            f"the book has not been built ({HTML_DIR} does not exist): run `make book` "
            "first (`make test` does)"
        )
    with serve_directory(HTML_DIR) as base_url:
        b = Book(browser, base_url)
        try:
            yield b
        finally:
            b.close()


def _visit(book: Book, page: str, width: str = "desktop") -> Visit:
    suffix = "" if width == "desktop" else f"-{width}"
    shot = SHOTS / f"{Path(page).name}{suffix}.png" if page in CHAPTERS else None
    return book.visit(page, screenshot=shot, width=width)


def test_toc_lists_every_chapter_notebook():
    """The TOC and book/ agree: every chapter notebook is listed, every listed chapter exists."""
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").glob("ch[0-9]*_*.ipynb")}
    listed = set(CHAPTERS)
    assert on_disk, f"no chapter notebook (book/chNN_*.ipynb) under {ROOT / 'book'}"
    assert listed == on_disk, (
        f"{TOC.name} and book/ disagree: not in the TOC {sorted(on_disk - listed)}, "
        f"listed but missing {sorted(listed - on_disk)}"
    )


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_loads_offline(book, page):
    """The page answers 200 and asks no host other than 127.0.0.1 for anything."""
    v = _visit(book, page)
    assert v.status == 200, f"{v.url} answered {v.status}"
    outside = [u for u in v.requests if not re.match(r"(http://127\.0\.0\.1[:/]|data:|blob:)", u)]
    assert not outside, f"{page} requested other hosts:\n  " + "\n  ".join(outside)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_has_no_console_errors(book, page, width):
    """No console error, no uncaught exception, no failed or 4xx resource (favicon aside)."""
    v = _visit(book, page, width)
    problems = v.console_errors + [
        r for r in v.bad_responses if not r.endswith("/favicon.ico")
    ]
    assert not problems, f"{page} at {width} width:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_fits_the_window(book, page, width):
    """No sideways scrolling of the page; display equations whole (at 1280 px) or scrolling
    in their own box (at 390 px); output figures not shrunk below MIN_FIGURE_SCALE at 1280 px
    and not wider than the window at 390 px; exactly one visible search control."""
    v = _visit(book, page, width)
    lay = v.layout
    vw = lay["vw"]
    assert lay["pageWidth"] <= vw + 1, (
        f"{page} at {vw} px scrolls sideways: the page is {lay['pageWidth']} px wide"
    )
    for eq in lay["equations"]:
        if width == "desktop":
            assert eq["fits"], (
                f"{page} at {vw} px: a display equation needs {eq['need']:.0f} px and has "
                f"{eq['have']:.0f} px, so it is cut: {eq['text']!r}"
            )
        else:
            assert eq["fits"] or eq["scrolls"], (
                f"{page} at {vw} px: a display equation needs {eq['need']:.0f} px, has "
                f"{eq['have']:.0f} px and cannot be scrolled: {eq['text']!r}"
            )
    for fig in lay["figures"]:
        if width == "desktop":
            scale = fig["shown"] / fig["natural"]
            assert scale >= MIN_FIGURE_SCALE, (
                f"{page} at {vw} px shows a {fig['natural']} px wide figure at "
                f"{fig['shown']:.0f} px ({scale:.0%}); its labels become hard to read. Give it "
                f"fewer panels per row or the `full-width` cell tag: {fig['src'][:80]}"
            )
        else:
            assert fig["right"] <= vw + 1, (
                f"{page} at {vw} px: a figure reaches {fig['right']:.0f} px, past the window"
            )
    assert len(lay["search"]) == 1, (
        f"{page} at {vw} px shows {len(lay['search'])} search controls: {lay['search']}"
    )


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_math_is_typeset(book, page):
    """Every math node holds MathJax output, none is a TeX error, no raw LaTeX is left."""
    v = _visit(book, page)
    if v.math_nodes:
        assert v.mathjax_loaded, f"{page} has {v.math_nodes} math nodes but MathJax never started"
        assert v.math_typeset == v.math_nodes, (
            f"{page}: only {v.math_typeset} of {v.math_nodes} math nodes were typeset"
        )
        assert v.mjx_containers >= v.math_nodes
    assert not v.math_errors, f"{page}: MathJax reports TeX errors: {v.math_errors}"
    assert not v.raw_math, (
        f"{page} shows raw LaTeX delimiters {v.raw_math} in its text (math left untypeset?)"
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_id)
def test_chapter_shows_a_figure(book, chapter):
    """At least one image from the chapter's own output loaded; no image is broken."""
    v = _visit(book, chapter)
    origin = book.base_url.rstrip("/")
    broken = [i["src"] for i in v.images if i["width"] == 0]
    assert not broken, f"{chapter}: images that did not load:\n  " + "\n  ".join(broken)
    figures = [
        i
        for i in v.images
        if i["output"] and i["width"] > 0 and (i["src"].startswith(origin) or
                                               i["src"].startswith("data:image/"))
    ]
    assert figures, (
        f"{chapter} shows no figure from its own output ({len(v.images)} <img> on the page). "
        "If the notebook plots with matplotlib, note that MPLBACKEND=Agg in the kernel's "
        "environment silences plt.show(): the chapter needs `%matplotlib inline`."
    )
    assert v.screenshot is not None
    assert v.screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_id)
def test_chapter_offers_its_notebook(book, chapter):
    """The download button links to _sources/.../<chapter>.ipynb, served as a notebook."""
    v = _visit(book, chapter)
    name = Path(chapter).name
    assert v.download_href, f"{chapter} has no download-source button"
    assert re.search(rf"_sources/(.*/)?{re.escape(name)}\.ipynb$", v.download_href), (
        f"{chapter}: the download button points at {v.download_href!r}, "
        f"not at _sources/.../{name}.ipynb"
    )
    resp = book.context.request.get(v.download_url)
    assert resp.status == 200, f"{v.download_url} answered {resp.status}"
    nb = json.loads(resp.body())
    assert nb.get("nbformat") == 4, f"{v.download_url} is not a notebook"
    assert nb.get("cells"), f"{v.download_url} is a notebook without cells"


def test_search_finds_the_lstm_chapter(book):
    """search.html?q=forget+gate lists the LSTM chapter."""
    assert f"book/{LSTM_CHAPTER}" in PAGES, f"{LSTM_CHAPTER} is not in {TOC}"
    book.require_html("search")
    book.require_html(f"book/{LSTM_CHAPTER}")
    tab = book.context.new_page()
    try:
        tab.goto(f"{book.base_url}search.html?q=forget+gate", wait_until="load")
        tab.wait_for_function(
            "() => { const h = document.querySelector('#search-results h2');"
            " return h && h.textContent.startsWith('Search Results'); }",
            timeout=30_000,
        )
        summary = tab.locator("#search-results .search-summary").inner_text()
        hrefs = tab.locator("#search-results ul.search li > a").evaluate_all(
            "as => as.map(a => a.getAttribute('href'))"
        )
        # The snippets' formulas are typeset (search_math.js), not shown as raw LaTeX.
        tab.wait_for_function(
            "() => !(document.querySelector('#search-results') || {}).textContent"
            "      ?.match(/\\\\\\(|\\\\\\[/)",
            timeout=30_000,
        )
        snippets = tab.locator("#search-results").inner_text()
        typeset = tab.locator("#search-results mjx-container").count()
    finally:
        tab.close()
    assert any(LSTM_CHAPTER in (h or "") for h in hrefs), (
        f"searching 'forget gate' did not list {LSTM_CHAPTER}: {summary!r}, results {hrefs}"
    )
    raw = sorted({m.group(0) for m in RAW_MATH.finditer(snippets)})
    assert not raw, f"search results show raw LaTeX {raw}:\n{snippets[:500]}"
    assert typeset > 0, "the search results for 'forget gate' hold no typeset formula"
