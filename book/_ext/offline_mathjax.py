"""Serve MathJax 3 from the built book itself, so formulas typeset with no network.

Jupyter Book 1 loads MathJax from a CDN by default; offline, every formula stays raw
LaTeX. The PyPI package ``django-static-mathjax`` (pinned in requirements.txt) carries
MathJax 3.2.2's es5 build. This extension copies the parts a page needs (about 8 MB)
into ``_build/.mathjax/mathjax/``, adds that folder to ``html_static_path`` and points
``mathjax_path`` at it. The folder is deliberately not called ``_static`` (Jupyter Book
would then inject every script in it into every page).
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

# The component MathJax loads first, and the folders it loads on demand from it.
_KEEP = ["tex-mml-chtml.js", "input", "a11y", "sre", "ui", "adaptors", "output/chtml"]


def _es5_dir() -> Path:
    try:
        root = resources.files("mathjax") / "static" / "mathjax" / "es5"
    except ModuleNotFoundError as err:
        raise ConfigError(
            "MathJax for offline pages is missing: pip install django-static-mathjax==3.2.2.1 "
            "(it is in requirements.txt; `make book` installs it)"
        ) from err
    path = Path(str(root))
    if not (path / "tex-mml-chtml.js").is_file():
        raise ConfigError(f"MathJax es5 build not found at {path}")
    return path


def _copy_tree(app: Sphinx, config: Config) -> None:
    src = _es5_dir()
    outer = Path(app.outdir).parent / ".mathjax"
    dest = outer / "mathjax"
    marker = dest / ".complete"
    if not marker.exists():
        shutil.rmtree(dest, ignore_errors=True)
        for part in _KEEP:
            s, d = src / part, dest / part
            d.parent.mkdir(parents=True, exist_ok=True)
            if s.is_dir():
                shutil.copytree(s, d)
            else:
                shutil.copy2(s, d)
        marker.write_text("copied from django-static-mathjax's es5 build\n")
    config.html_static_path = [*config.html_static_path, str(outer)]
    config.mathjax_path = "mathjax/tex-mml-chtml.js"


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _copy_tree, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
