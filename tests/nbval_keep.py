"""pytest plugin: keep what nbval executed, so that the book build does not execute it again.

nbval runs every cell of a notebook in one kernel and collects each cell's outputs. With
``--nbval-keep=DIR`` this plugin writes every notebook whose code cells all passed, with
those outputs, to ``DIR`` (relative paths kept). With ``--nbval-keep-cache=PATH`` it then
adds the kept notebooks under ``--nbval-keep-only`` (default ``book``) to the Jupyter
execution cache at ``PATH``, the cache that ``jupyter-book build`` reads in its
``execute_notebooks: cache`` mode (``_build/.jupyter_cache``). The cache matches a notebook
by the hash of its code, so the strict build that follows finds every chapter executed and
runs none of them, while a chapter nbval did not pass (or whose code changed since) is still
executed by the build as usual.

Used by ``make test``: ``python -m pytest -p tests.nbval_keep --nbval-keep=... book solutions``.
Works under pytest-xdist (``--dist loadfile``): workers write files, the controller caches.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbval-keep")
    group.addoption("--nbval-keep", metavar="DIR", default=None,
                    help="write the notebooks nbval executed without failure to DIR")
    group.addoption("--nbval-keep-cache", metavar="PATH", default=None,
                    help="then add them to the jupyter-cache at PATH (the book's)")
    group.addoption("--nbval-keep-only", metavar="FOLDER", default="book",
                    help="cache only notebooks under this folder (default: book)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("nbval_keep"):
        config.pluginmanager.register(Keeper(config), "nbval-keep")


class Keeper:
    def __init__(self, config: pytest.Config) -> None:
        self.root = Path(config.rootpath)
        self.out = Path(config.getoption("nbval_keep")).resolve()
        self.cache = config.getoption("nbval_keep_cache")
        self.only = config.getoption("nbval_keep_only")
        self.is_worker = hasattr(config, "workerinput")
        self.files: dict = {}  # nbval's IPyNbFile -> {"ok", "ran", "t0"}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if not hasattr(item, "test_outputs") or not hasattr(item, "cell"):
            return  # not an nbval cell
        state = self.files.setdefault(item.parent, {"ok": True, "ran": 0, "t0": call.start})
        if report.failed or report.skipped:
            state["ok"] = False
        if call.when == "call":
            state["ran"] += 1
            state["t1"] = call.stop
            item.cell.outputs = list(item.test_outputs or [])
            item.cell.execution_count = state["ran"]
            for out in item.cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = state["ran"]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for nbfile, state in self.files.items():
            nb = nbfile.nb
            n_code = sum(c.cell_type == "code" for c in nb.cells)
            if not state["ok"] or state["ran"] != n_code:
                continue
            rel = Path(nbfile.path).resolve().relative_to(self.root)
            dest = self.out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            nb.metadata["nbval_keep"] = {"execution_seconds": round(state["t1"] - state["t0"], 2)}
            nbformat.write(nb, str(dest))
        if self.cache and not self.is_worker:
            self.fill_cache()

    def fill_cache(self) -> None:
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        cache = get_cache(self.cache)
        folder = self.out / self.only
        kept = sorted(folder.rglob("*.ipynb")) if folder.is_dir() else []
        for path in kept:
            nb = nbformat.read(str(path), as_version=4)
            seconds = nb.metadata.pop("nbval_keep", {}).get("execution_seconds")
            source = self.root / path.relative_to(self.out)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, str(source), data={"execution_seconds": seconds,
                                                     "executed_by": "nbval",
                                                     "cached_at": time.time()}),
                check_validity=False, overwrite=True)
        print(f"\nnbval-keep: {len(kept)} notebooks of {self.only}/ added to {self.cache}")
