"""What a grading run writes into ``grades/``: the CSV, the per-part summary, a histogram."""

from __future__ import annotations

import csv
import io
import os
import statistics

from nbgrader.plugins.export import CsvExportPlugin
from traitlets import Unicode

from .worker import StudentResult

STATUS_ORDER = ("graded", "missing", "misnamed", "failed", "timeout", "not graded")


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    if isinstance(value, float):
        value = f"{value:g}"
    text = str(value)
    text = " ".join(text.split())
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _atomic_write(path: str, data: str | bytes) -> None:
    tmp = path + ".tmp"
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8",
                                                                "newline": ""})) as f:
        f.write(data)
    os.replace(tmp, path)


def write_csv(path: str, results: list[StudentResult], part_ids: list[str]) -> None:
    """``grades/<assignment>.csv``: one row per student folder, per-part scores."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "score", "max_score", "percent", "status", "reason",
                *part_ids, "flags", "seconds"])
    for r in sorted(results, key=lambda r: r.student_id):
        pct = 100.0 * r.score / r.max_score if r.max_score else 0.0
        w.writerow([_cell(r.student_id), f"{r.score:g}", f"{r.max_score:g}", f"{pct:.1f}",
                    r.status, _cell(r.reason or ("all tests passed" if r.status == "graded"
                                                  else "")),
                    *[f"{r.parts.get(g, 0.0):g}" for g in part_ids],
                    _cell("; ".join(r.flags)), f"{r.seconds:.1f}"])
    _atomic_write(path, buf.getvalue())


def part_summary(results: list[StudentResult], part_max: dict[str, float]) -> list[dict]:
    """Per part: max points, mean, share of full marks and of zeros (over all rows)."""
    rows = []
    n = len(results)
    for gid, mx in part_max.items():
        scores = [r.parts.get(gid, 0.0) for r in results]
        rows.append({
            "part": gid, "max_points": mx,
            "mean": statistics.fmean(scores) if scores else 0.0,
            "full_marks": sum(1 for s in scores if mx and s >= mx),
            "zero": sum(1 for s in scores if s <= 0),
            "students": n,
        })
    return rows


def write_summary(grades_dir: str, assignment: str, results: list[StudentResult],
                  part_max: dict[str, float], seconds: float) -> str:
    """Write ``<a>_parts.csv`` and ``<a>_summary.md``; return the text summary."""
    rows = part_summary(results, part_max)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["part", "max_points", "mean", "full_marks", "zero", "students"])
    for r in rows:
        w.writerow([r["part"], f"{r['max_points']:g}", f"{r['mean']:.2f}", r["full_marks"],
                    r["zero"], r["students"]])
    _atomic_write(os.path.join(grades_dir, f"{assignment}_parts.csv"), buf.getvalue())

    scores = [r.score for r in results]
    total = max((r.max_score for r in results), default=0.0)
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUS_ORDER}
    lines = [f"# Grades of {assignment}", "",
             f"{len(results)} students, graded in {seconds:.0f} s. "
             + ", ".join(f"{k}: {v}" for k, v in counts.items() if v) + ".", ""]
    if scores:
        lines += [f"Score out of {total:g}: mean {statistics.fmean(scores):.2f}, "
                  f"median {statistics.median(scores):g}, min {min(scores):g}, "
                  f"max {max(scores):g}.", ""]
    lines += ["| part | points | mean | full marks | zero |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['part']} | {r['max_points']:g} | {r['mean']:.2f} | "
                     f"{r['full_marks']}/{r['students']} | {r['zero']}/{r['students']} |")
    lines += ["", f"![Histogram of scores]({assignment}_hist.png)", ""]
    text = "\n".join(lines)
    _atomic_write(os.path.join(grades_dir, f"{assignment}_summary.md"), text)
    return text


def write_histogram(path: str, assignment: str, results: list[StudentResult]) -> None:
    """A PNG histogram of the total scores (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [r.score for r in results]
    total = max((r.max_score for r in results), default=1.0) or 1.0
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    bins = min(20, max(5, int(total) + 1))
    ax.hist(scores, bins=bins, range=(0, total), color="#3b6ea5", edgecolor="white")
    ax.set_xlabel(f"score (out of {total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment}: {len(scores)} students")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)


class GradesExport(CsvExportPlugin):
    """``nbgrader export`` into ``grades/nbgrader_export.csv`` (git-ignored), not into the
    repository root where ``git add .`` would pick student data up."""

    to = Unicode("grades/nbgrader_export.csv", help="where the CSV goes").tag(config=True)

    def export(self, gradebook) -> None:
        if os.path.dirname(self.to):
            os.makedirs(os.path.dirname(self.to), exist_ok=True)
        super().export(gradebook)
