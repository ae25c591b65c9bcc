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
    """Jupyter Book 2 is a different tool (it needs an online theme): stay on 1.x."""
    from packaging.requirements import Requirement

    reqs = [Requirement(ln.split(" #")[0]) for ln in (ROOT / "requirements.in").read_text()
            .splitlines() if ln.strip().lower().startswith("jupyter-book")]
    assert len(reqs) == 1, "requirements.in must name jupyter-book once"
    spec = reqs[0].specifier
    assert "1.0.4.post1" in spec
    assert "2.0.0" not in spec
    assert "2.0.0a1" not in spec


def test_ci_runs_exactly_make_test(tmp_path: Path) -> None:
    """.ci/run, started from anywhere, runs `make test` in the repository root and nothing
    else: a stand-in `make` first on PATH records how it was called."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "make"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$(pwd) $*" >> {log}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run([str(ROOT / ".ci/run")], cwd=tmp_path, env=env, check=True)
    assert log.read_text().splitlines() == [f"{ROOT} test"]
