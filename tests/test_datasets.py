"""The offline data loaders: sizes, types and invariants the chapters rely on."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_ref as L

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def foods():
    return L.load_fine_foods()


def test_fine_foods_size_split_and_columns(foods):
    assert len(foods) == 5000
    assert {"split", "product", "review", "score", "label"} <= set(foods.columns)
    assert foods["split"].value_counts().to_dict() == {"train": 4000, "test": 1000}
    assert not foods[["split", "product", "review", "score", "label"]].isna().any().any()


def test_fine_foods_labels(foods):
    assert set(foods["label"].unique()) == {0, 1}
    assert foods["label"].dtype == np.int64
    np.testing.assert_array_equal(foods["label"], (foods["score"] == "great").astype(int))
    assert set(foods["score"]) == {"great", "other"}
    share = foods["label"].mean()
    assert 0.55 < share < 0.75, f"about 65/35 expected, got {share:.2f} positive"


def test_fine_foods_products_do_not_cross_the_split(foods):
    train = set(foods.loc[foods["split"] == "train", "product"])
    test = set(foods.loc[foods["split"] == "test", "product"])
    assert len(train) == 4000
    assert len(test) == 1000
    assert not train & test


def test_fine_foods_clean_removes_html_breaks(foods):
    assert not foods["review"].str.contains("<br", case=False).any()
    raw = L.load_fine_foods(clean=False)
    has_br = raw["review"].str.contains("<br", case=False)
    assert 0.15 < has_br.mean() < 0.3          # about 23 % of reviews
    np.testing.assert_array_equal(raw["label"], foods["label"])
    assert (foods["review"].str.len() > 0).all()


def test_stock_aapl():
    pytest.importorskip("bokeh_sampledata")
    df = L.load_stock("AAPL")
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.is_monotonic_increasing
    assert df.index.is_unique
    assert {"open", "high", "low", "close", "volume", "adj_close"} <= set(df.columns)
    assert (df["close"] > 0).all()
    assert not df["close"].isna().any()
    assert (df["high"] >= df["low"]).all()
    assert df.index[0].year == 2000
    assert df.index[-1] <= pd.Timestamp("2013-03-01")
    assert len(df) > 3000
    assert (df.index.day_of_week < 5).all()        # business days only


@pytest.mark.parametrize("symbol", ["IBM", "MSFT", "GOOG", "FB"])
def test_other_stocks_load(symbol):
    pytest.importorskip("bokeh_sampledata")
    df = L.load_stock(symbol)
    assert df.index.is_monotonic_increasing
    assert (df["close"] > 0).all()


@pytest.mark.parametrize("bad", ["aapl", "TSLA", ""])
def test_stock_bad_symbol(bad):
    with pytest.raises(ValueError, match=f"symbol must be one of .*got '{bad}'"):
        L.load_stock(bad)


def test_co2_monthly():
    pytest.importorskip("statsmodels")
    s = L.load_co2()
    assert len(s) == 526
    assert not s.isna().any()
    assert s.index.freqstr == "MS"
    assert 300 < s.min()
    assert s.max() < 400
    assert s.iloc[-12:].mean() > s.iloc[:12].mean() + 30     # the rising trend


def test_co2_weekly_has_no_gaps_after_interpolation():
    pytest.importorskip("statsmodels")
    s = L.load_co2("W-SAT")
    assert len(s) == 2284
    assert not s.isna().any()


def test_sunspots():
    pytest.importorskip("statsmodels")
    s = L.load_sunspots()
    assert len(s) == 309
    assert s.index[0] == 1700
    assert s.index[-1] == 2008
    assert s.index.is_monotonic_increasing
    assert s.index.is_unique
    assert not s.isna().any()
    assert (s >= 0).all()


def test_hamlet():
    text = L.load_hamlet()
    assert len(text) == 177_488
    assert text.startswith("Hamlet\n\nACT I\n\nSCENE I. Elsinore.")
    assert "HAMLET:\nTo be, or not to be: that is the question:" in text
    assert len(set(text)) == 64
    assert "\n" in set(text)
    assert not set("_*#\\") & set(text), "Markdown left in the text"
