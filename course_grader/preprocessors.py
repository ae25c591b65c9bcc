"""nbgrader preprocessors of the course's grading (registered in nbgrader_config.py).

- :class:`RestoreCellMetadata` (autograde, first sanitising step): puts back the nbgrader
  metadata of every cell the instructor's source has (grade/solution/locked/points), drops
  metadata that names no source cell or repeats an id already seen (the first copy
  counts), and re-inserts read-only cells (the ``setup`` cell) a submission deleted.
  nbgrader then restores locked sources and re-inserts missing test cells
  (``OverwriteCells.add_missing_cells``). Editing, emptying, deleting or re-pointing cells
  and metadata so gains nothing.
- :class:`SanitizeFeedback` (generate_feedback): the feedback shows the learner's cells
  and, for each test cell, its visible part and a one-line verdict; never hidden test
  code (removed from sources, and any message quoting it is withheld), never tracebacks
  (they quote the test code), never what the code printed (outputs can carry expected
  values out of a hidden test).
"""

from __future__ import annotations

import copy
import re

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Integer

from .outputs import shrink_output

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"


class RestoreCellMetadata(NbGraderPreprocessor):
    """Make a submission's nbgrader metadata match the source notebook's (see module)."""

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        with Gradebook(nbg["db_url"]) as gb:
            try:
                source_nb = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            except MissingEntry:
                return nb, resources
            order = [c.name for c in source_nb.source_cells]
            sources = {c.name: (c.cell_type, bool(c.locked), c.source, c.checksum)
                       for c in source_nb.source_cells}
            points = {c.name: float(c.max_score) for c in source_nb.grade_cells}
            solutions = {c.name for c in source_nb.solution_cells}
            tasks = {c.name for c in source_nb.task_cells}

        present = set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(gid, str) or gid not in sources or gid in present:
                # unknown id, or a second copy of an id: a plain cell. (nbgrader's own
                # DeduplicateIds keeps the last copy and leaves an empty dict behind,
                # which crashes OverwriteCells.add_missing_cells.)
                del cell.metadata["nbgrader"]
                continue
            canon = {"grade": gid in points, "solution": gid in solutions,
                     "locked": sources[gid][1], "grade_id": gid, "schema_version": 3}
            if gid in points:
                canon["points"] = points[gid]
            if gid in tasks:
                canon["task"] = True
            cell.metadata["nbgrader"] = NotebookNode(canon)
            present.add(gid)

        # put back deleted read-only cells (not graded: nbgrader re-inserts graded ones)
        for pos, gid in enumerate(order):
            cell_type, locked, source, checksum = sources[gid]
            if gid in present or not locked or gid in points or gid in solutions:
                continue
            cell = nbformat.from_dict({
                "cell_type": cell_type, "metadata": {"nbgrader": {
                    "grade": False, "solution": False, "locked": True, "grade_id": gid,
                    "schema_version": 3, "checksum": checksum}},
                "source": source})
            if cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            before = [g for g in order[:pos] if g in present]
            idx = 0
            if before:
                for i, c in enumerate(nb.cells):
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == before[-1]:
                        idx = i + 1
            nb.cells.insert(idx, cell)
            present.add(gid)
            self.log.warning("Read-only cell %s was missing; put back", gid)
        return nb, resources


def hidden_regions(source: str) -> list[str]:
    """The lines of the hidden test regions of a cell's source."""
    lines, inside = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def fingerprints(nb) -> list[str]:
    """Normalised non-trivial lines of every hidden test region of ``nb``."""
    prints = set()
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or not utils.is_grade(cell):
            continue
        for line in hidden_regions(cell.source):
            n = _norm(line)
            if len(n) >= 12 and not n.startswith("#"):
                prints.add(n)
    return sorted(prints)


def short_error(out: dict, limit: int = 600) -> NotebookNode:
    """A one-line version of an error output: ``ename: evalue`` without traceback."""
    ename = str(out.get("ename", "Error"))[:100]
    evalue = str(out.get("evalue", ""))
    evalue = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", evalue).strip()
    if len(evalue) > limit:
        evalue = evalue[:limit] + " ..."
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}" if evalue else ename])


class SanitizeFeedback(NbGraderPreprocessor):
    """Strip hidden tests, tracebacks and printed output from the feedback (see module)."""

    keep_student_outputs = Bool(
        False, help="Keep (size-limited) outputs of the learner's own cells.").tag(config=True)
    message_chars = Integer(600, help="Longest error message shown.").tag(config=True)

    def preprocess(self, nb, resources):
        prints = fingerprints(nb)
        clear = ClearHiddenTests(enforce_metadata=False)

        def withheld(text: str) -> bool:
            t = _norm(text)
            return any(p in t for p in prints)

        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            graded = utils.is_grade(cell)
            if graded or BEGIN_HIDDEN in cell.source:
                try:
                    clear._remove_hidden_test_region(cell)
                except RuntimeError:  # unbalanced markers: show nothing of it
                    cell.source = "# (test code hidden)"
            errors = [short_error(o, self.message_chars) for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"]
            kept = []
            if self.keep_student_outputs and not graded:
                for o in cell.get("outputs", []):
                    if o.get("output_type") in ("stream", "display_data", "execute_result"):
                        kept.append(shrink_output(copy.deepcopy(o)))
            for o in errors:
                if withheld(o.evalue) or withheld(o.ename):
                    o.evalue = "[message withheld: it quotes hidden test code]"
                    o.traceback = [f"{o.ename}: {o.evalue}"]
            if graded and not errors:
                # nbgrader scores a test cell that wrote to stderr 0: say so, briefly
                err_text = "".join(str(o.get("text", "")) for o in cell.get("outputs", [])
                                   if o.get("output_type") == "stream"
                                   and o.get("name") == "stderr")
                if err_text:
                    err_text = err_text.strip()[: self.message_chars]
                    if withheld(err_text):
                        err_text = "[message withheld: it quotes hidden test code]"
                    kept.append(NotebookNode(output_type="stream", name="stderr",
                                             text=err_text + "\n"))
            kept = [o for o in kept if not withheld(str(o))]
            cell.outputs = kept + errors
            cell.execution_count = None
        nb.metadata.pop("widgets", None)
        return nb, resources
