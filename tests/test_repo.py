"""Repository hygiene: what CI must keep true about the files themselves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def tracked(pattern: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return [ROOT / p for p in out]


NOTEBOOKS = [p for p in tracked("*.ipynb") if p.exists()]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_committed_without_outputs(nb: Path) -> None:
    cells = json.loads(nb.read_text())["cells"]
    dirty = [k for k, c in enumerate(cells) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{nb.name}: cells {dirty} hold outputs; strip them before committing"


@pytest.mark.parametrize("state", ["gradebook.db", "submitted", "autograded", "feedback",
                                   "grades"])
def test_grading_state_is_never_committed(state: str) -> None:
    assert not tracked(state), f"{state} is committed; it holds student data"


def test_every_toc_entry_exists() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    missing = [f for f in files
               if not any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    assert len([f for f in files if Path(f).name.startswith("ch0")]) == 7


def test_book_pins_jupyter_book_1() -> None:
    req = (ROOT / "requirements.txt").read_text()
    assert "jupyter-book>=1.0.4.post1,<2" in req


def test_ci_runs_exactly_make_test() -> None:
    lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[-1] == "exec make test"
