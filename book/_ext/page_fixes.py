"""Two fixes to the pages Jupyter Book 1 writes, through Sphinx's public events.

1. Inline scripts written twice. Sphinx 7.4 adds a body-only script registered after the
   builder started (``app.add_js_file(None, body=...)``, as sphinx-thebe does in
   ``env-before-read-docs``) once under the file name ``None`` and again, while preparing
   the pages, under ``''``; the two do not compare equal, so every page carried sphinx-thebe's
   ``const THEBE_JS_URL = ...`` twice and the browser logged "Identifier 'THEBE_JS_URL' has
   already been declared". ``html-page-context`` gets the page's script list; we drop the
   second copy of any inline script (same body, same attributes).

2. Raw LaTeX in search results. Sphinx's search page shows a snippet of each page's text,
   and a formula's text is its TeX source (``\\(f_t = \\sigma(...)\\)``): MathJax typesets it
   only on pages that load MathJax, and the search page does not. We load the book's own
   MathJax (the offline copy of ``offline_mathjax``) on the search page and typeset the
   results as they appear (``search_math.js``).

And ``page_fixes.css``: long inline code may wrap, and a display equation wider than the
column scrolls in its own box, so that no page scrolls sideways on a phone.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx

HERE = Path(__file__).parent


def _drop_repeated_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {}) or {}
        if not getattr(js, "filename", None) and attributes.get("body"):
            key = tuple(sorted(attributes.items()))
            if key in seen:
                continue
            seen.add(key)
        kept.append(js)
    scripts[:] = kept


def _math_on_search_page(app, pagename, templatename, context, doctree) -> None:
    if pagename != "search" or not app.config.mathjax_path:
        return
    options = app.config.mathjax3_config or {}
    app.add_js_file(None, body=f"window.MathJax = {json.dumps(options)}", priority=499)
    app.add_js_file(app.config.mathjax_path, loading_method="defer", priority=500)
    app.add_js_file("search_math.js", loading_method="defer", priority=501)


def _static_path(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _static_path, priority=900)
    app.add_css_file("page_fixes.css")
    app.connect("html-page-context", _math_on_search_page, priority=400)
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
