"""Byte limits on notebook outputs.

nbgrader's ``LimitOutput`` counts lines, so one 10 MB line (or a 10 MB result) lands
whole in the autograded notebook and the feedback page. These limits count bytes. They
never remove what decides a grade: every ``error`` output is kept (shortened), and so is
the first ``stderr`` stream of a cell (nbgrader scores a test cell that wrote to stderr 0).
"""

from __future__ import annotations

import json

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Integer

#: Largest text of one output (a stream's text, one MIME type of a result), in bytes.
TEXT_BYTES = 64_000
#: Largest non-text MIME bundle entry (an image), in bytes.
RICH_BYTES = 1_500_000
#: Largest total of one cell's outputs, in bytes.
CELL_BYTES = 3_000_000
#: Most outputs one cell keeps.
CELL_OUTPUTS = 200
#: Largest error message / traceback line kept, in characters.
ERROR_CHARS = 4_000
#: Most traceback lines kept.
TRACEBACK_LINES = 40

MARK = "\n... [output truncated by the grader: {n:,} bytes]\n"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_bytes(out: dict) -> int:
    """Approximate size of one output in bytes."""
    kind = out.get("output_type")
    if kind == "stream":
        return len(_text(out.get("text", "")).encode("utf-8", "replace"))
    if kind == "error":
        return (len(str(out.get("ename", ""))) + len(str(out.get("evalue", "")))
                + sum(len(str(t)) for t in out.get("traceback", []) or []))
    total = 0
    for mime, value in (out.get("data") or {}).items():
        if isinstance(value, (dict, list)) and mime.endswith("json"):
            total += len(json.dumps(value))
        else:
            total += len(_text(value).encode("utf-8", "replace"))
    return total


def _cut(text: str, limit: int) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore") + MARK.format(n=len(raw))


def shrink_output(out: dict, limit: int = TEXT_BYTES) -> dict:
    """Shorten one output in place so that it holds at most about ``limit`` bytes."""
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = _cut(_text(out.get("text", "")), limit)
    elif kind == "error":
        out["ename"] = str(out.get("ename", ""))[:200]
        out["evalue"] = _cut(str(out.get("evalue", "")), min(limit, ERROR_CHARS))
        tb = [str(t)[:ERROR_CHARS] for t in (out.get("traceback") or [])]
        if len(tb) > TRACEBACK_LINES:
            tb = (tb[:5] + ["... [traceback truncated by the grader] ..."]
                  + tb[-(TRACEBACK_LINES - 6):])
        out["traceback"] = tb
    elif kind in ("execute_result", "display_data"):
        data = out.get("data") or {}
        kept = {}
        for mime, value in data.items():
            if mime == "text/plain":
                kept[mime] = _cut(_text(value), min(limit, TEXT_BYTES))
            elif mime.startswith("text/") or mime.endswith("json") or mime.endswith("+xml"):
                size = output_bytes({"output_type": "display_data", "data": {mime: value}})
                if size <= min(limit, TEXT_BYTES):
                    kept[mime] = value
            else:  # images and other binary payloads (base64)
                if len(_text(value)) <= min(limit, RICH_BYTES):
                    kept[mime] = value
        if "text/plain" not in kept and len(kept) < len(data):
            kept["text/plain"] = "[output removed by the grader: too large]"
        out["data"] = kept
    return out


class CellBudget:
    """Running byte/count budget of the outputs of one cell (used while executing)."""

    def __init__(self, cell_bytes: int = CELL_BYTES, max_outputs: int = CELL_OUTPUTS):
        self.left = cell_bytes
        self.max_outputs = max_outputs
        self.count = 0
        self.stderr_kept = False
        self.marked = False

    def admit(self, out: dict) -> bool:
        """Shrink ``out`` to what is left; return False if it must be dropped."""
        kind = out.get("output_type")
        is_err = kind == "error"
        is_stderr = kind == "stream" and out.get("name") == "stderr"
        over = self.count >= self.max_outputs or self.left <= 0
        if over and not is_err and not (is_stderr and not self.stderr_kept):
            return False
        limit = max(self.left, 2_000) if (is_err or is_stderr) else self.left
        if kind in ("execute_result", "display_data"):
            limit = min(limit, RICH_BYTES)
        else:
            limit = min(limit, TEXT_BYTES)
        shrink_output(out, limit)
        self.left -= output_bytes(out)
        self.count += 1
        if is_stderr:
            self.stderr_kept = True
        return True


def limit_cell_outputs(outputs: list, cell_bytes: int = CELL_BYTES) -> list:
    """The outputs of one cell within the budget (errors and one stderr always kept)."""
    budget = CellBudget(cell_bytes)
    kept = [o for o in outputs if budget.admit(o)]
    dropped = len(outputs) - len(kept)
    if dropped:
        kept.append(NotebookNode(output_type="stream", name="stdout",
                                 text=f"... [{dropped} more outputs dropped by the grader]\n"))
    return kept


class LimitOutputBytes(Preprocessor):
    """Truncate outputs by bytes, per output, per cell and per notebook.

    Runs after ``Execute`` in autograde, so huge outputs never reach the autograded
    notebook or the feedback. Keeps every error output and one stderr stream per cell.
    """

    enabled = Bool(True, help="nbconvert's preprocessors are off unless enabled").tag(
        config=True)
    cell_bytes = Integer(CELL_BYTES, help="byte budget of one cell's outputs").tag(config=True)
    notebook_bytes = Integer(12_000_000,
                             help="byte budget of all outputs of a notebook").tag(config=True)

    def preprocess(self, nb, resources):
        left = self.notebook_bytes
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            cell.outputs = limit_cell_outputs(list(cell.get("outputs", [])),
                                              max(min(self.cell_bytes, left), 0))
            left -= sum(output_bytes(o) for o in cell.outputs)
        return nb, resources
