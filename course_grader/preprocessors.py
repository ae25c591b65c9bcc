"""nbgrader preprocessors of the course's grading (registered in nbgrader_config.py).

- :class:`RestoreCellMetadata` (autograde, first sanitising step): puts back the nbgrader
  metadata of every cell the instructor's source has (grade/solution/locked/points), drops
  metadata that names no source cell or repeats an id already seen (the first copy
  counts), and re-inserts read-only cells (the ``setup`` cell) a submission deleted.
  nbgrader then restores locked sources and re-inserts missing test cells
  (``OverwriteCells.add_missing_cells``). Editing, emptying, deleting or re-pointing cells
  and metadata so gains nothing.
- :class:`SanitizeFeedback` (generate_feedback): the feedback shows the learner's cells
  and, for each test cell, its (visible) source and a one-line verdict; never tracebacks,
  never what the code printed. The notebooks hold no hidden tests: the grader's checks
  and their references live in ``course_grader/parts.py`` and never enter a notebook.
"""

from __future__ import annotations

import copy
import re

import nbformat
from nbconvert.exporters import HTMLExporter
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer

from .outputs import shrink_output


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
    """Strip tracebacks and printed output from the feedback (see module)."""

    keep_student_outputs = Bool(
        False, help="Keep (size-limited) outputs of the learner's own cells.").tag(config=True)
    message_chars = Integer(600, help="Longest error message shown.").tag(config=True)

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            graded = utils.is_grade(cell)
            errors = [short_error(o, self.message_chars) for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"]
            kept = [o for o in cell.get("outputs", []) if graded and o.get(
                "metadata", {}).get("course_grader") == "restored"]  # the grader's own note
            if self.keep_student_outputs and not graded:
                for o in cell.get("outputs", []):
                    if o.get("output_type") in ("stream", "display_data", "execute_result"):
                        kept.append(shrink_output(copy.deepcopy(o)))
            if graded and not errors:
                # nbgrader scores a test cell that wrote to stderr 0: say so, briefly
                err_text = "".join(str(o.get("text", "")) for o in cell.get("outputs", [])
                                   if o.get("output_type") == "stream"
                                   and o.get("name") == "stderr")
                if err_text:
                    err_text = err_text.strip()[: self.message_chars]
                    kept.append(NotebookNode(output_type="stream", name="stderr",
                                             text=err_text + "\n"))
            cell.outputs = kept + errors
            cell.execution_count = None
        nb.metadata.pop("widgets", None)
        return nb, resources


# ---------------------------------------------------------------- the feedback page
#: What every feedback page gets: MathJax 3 typesetting $...$ and \(...\), and wrapping.
_PAGE_HEAD = """<style>
pre, .output pre, .output_area pre, .highlight pre, .output_text, .jp-OutputArea pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word; }
</style>
<script>window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
  displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]], processEscapes: true},
  svg: {fontCache: "global"}};</script>
<script id="course-mathjax">%s</script>
"""
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']?(https?:)?//[^>]*>\s*</script>", re.I)
_MATHJAX2_CONFIG = re.compile(r"<script type=\"text/x-mathjax-config\">.*?</script>", re.S)


def _mathjax_js() -> str:
    """MathJax 3.2.2's self-contained SVG build (django-static-mathjax, as the book)."""
    from importlib import resources

    path = resources.files("mathjax") / "static" / "mathjax" / "es5" / "tex-svg.js"
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def offline_page(html: str) -> str:
    """The page without any script from the network, with the course's MathJax inline."""
    html = _MATHJAX2_CONFIG.sub("", _REMOTE_SCRIPT.sub("", html))
    head = _PAGE_HEAD % _mathjax_js()
    return html.replace("</head>", head + "</head>", 1)


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, readable offline (``GenerateFeedback.exporter_class``)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return offline_page(output), resources
