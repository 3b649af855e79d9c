"""The basket-analysis showcase's four answers against a few lines of plain pandas over the raw CSV files (its
rows set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase


def _lines(data: Path) -> pd.DataFrame:
    """The lines sold: once each, with a quantity of 1 to 12 and a product the list has, priced."""
    lines = pd.read_csv(data / "lines.csv").drop_duplicates("line_id")
    lines = lines[lines["quantity"].between(1, 12)].merge(pd.read_csv(data / "products.csv"), on="sku")
    return lines.assign(revenue=(lines["quantity"] * lines["price"]).round(2))


def _baskets(data: Path) -> pd.DataFrame:
    paths = sorted(data.glob("baskets/*/part-*.csv"))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True).drop_duplicates("basket_id")


def test_basket_sizes_and_product_pairs() -> None:
    run = run_showcase("basket-analysis")
    lines = _lines(run.data)
    items = lines.groupby("basket_id")["quantity"].sum()
    sizes = items.clip(upper=10).value_counts().sort_index()
    published = run.published("basket_sizes")
    assert published["baskets"].tolist() == sizes.tolist()
    assert published["items"].tolist()[-1] == "10+" and int(published["baskets"].sum()) == len(items)

    pairs = lines[["basket_id", "sku"]].drop_duplicates()
    both = pairs.merge(pairs, on="basket_id")
    both = both[both["sku_x"] < both["sku_y"]]
    counts = both.groupby(["sku_x", "sku_y"]).size()
    top = run.published("product_pairs")
    assert top["baskets"].iloc[0] == counts.max()
    assert [counts[(a, b)] for a, b in zip(top["sku_a"], top["sku_b"], strict=True)] == top["baskets"].tolist()
    assert top["baskets"].iloc[-1] >= counts.nlargest(len(top)).min()


def test_hourly_sales_and_payment_mix() -> None:
    run = run_showcase("basket-analysis")
    lines, baskets = _lines(run.data), _baskets(run.data)
    timed = lines.merge(baskets, on="basket_id")
    timed["hour"] = pd.to_datetime(timed["checkout_at"], utc=True).dt.hour
    hourly = run.published("hourly_sales").set_index("hour")
    assert hourly["items"].to_dict() == timed.groupby("hour")["quantity"].sum().to_dict()
    assert hourly["baskets"].to_dict() == timed.groupby("hour")["basket_id"].nunique().to_dict()

    baskets["payment_method"] = baskets["payment_method"].fillna("not recorded")
    baskets = baskets[baskets["payment_method"].isin(["card", "cash", "mobile", "fuel card", "not recorded"])]
    value = baskets["basket_id"].map(lines.groupby("basket_id")["revenue"].sum()).fillna(0)
    mix = run.published("payment_mix").set_index("payment_method")
    assert mix["baskets"].to_dict() == baskets["payment_method"].value_counts().to_dict()
    assert mix["revenue"].to_dict() == pytest.approx(value.groupby(baskets["payment_method"]).sum().to_dict(), abs=0.01)
