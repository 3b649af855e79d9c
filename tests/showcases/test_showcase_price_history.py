"""The price-history showcase's type-2 history against a few lines of plain pandas over the raw JSON feeds (its
changes set aside, and the retroactive ones, are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from showcase_support import ShowcaseRun, run_showcase


def _feed(run: ShowcaseRun, table: str) -> pd.DataFrame:
    frames = [pd.read_json(path, lines=True, dtype=False) for path in sorted((run.data / table).glob("*/*.jsonl"))]
    return pd.concat(frames, ignore_index=True).drop_duplicates("change_id")


def _history_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    products = pd.read_json(run.data / "products.jsonl", lines=True, dtype=False)
    listed = _feed(run, "list_price_changes")
    listed = listed[listed["change_pct"].between(-10, 12)].assign(pct=lambda f: f["change_pct"].astype(float))
    marked = _feed(run, "markdowns")
    marked = marked[marked["markdown_pct"].between(10, 50)].assign(pct=lambda f: -f["markdown_pct"].astype(float))
    changes = pd.concat([listed, marked], ignore_index=True)
    changes = changes[changes["sku"].isin(products["sku"])]
    changes["effective_at"] = pd.to_datetime(changes["effective_at"], utc=True)
    openings = products.assign(effective_at=pd.Timestamp("2026-02-01", tz="UTC"), pct=0.0)
    entries = pd.concat([openings[["sku", "effective_at", "pct"]], changes[["sku", "effective_at", "pct"]]])
    entries = entries.sort_values(["sku", "effective_at"], kind="stable").merge(products, on="sku")
    factor = (1 + entries["pct"] / 100).groupby(entries["sku"]).cumprod()
    return entries.assign(price=(entries["opening_price"] * factor).round(2),
                          version=entries.groupby("sku").cumcount() + 1)


def test_every_version_and_price_equals_plain_pandas_over_the_raw_feeds() -> None:
    run = run_showcase("price-history")
    expected = _history_by_hand(run)
    history = run.published("price_history")
    assert history[["sku", "version"]].values.tolist() == expected[["sku", "version"]].values.tolist()
    # compounded there as exp(sum(ln(1 + pct))), here as a product: a price on a half cent may round either way
    difference = np.abs(history["price"].to_numpy() - expected["price"].to_numpy())
    assert difference.max() < 0.011 and (difference < 1e-9).mean() > 0.98
    valid_from = pd.to_datetime(history["valid_from"], utc=True)
    assert (valid_from.to_numpy() == expected["effective_at"].to_numpy()).all()
    current = history[history["is_current"]]
    assert current["sku"].is_unique and len(current) == expected["sku"].nunique()


def test_price_index_and_prices_as_of_a_moment() -> None:
    run = run_showcase("price-history")
    expected = _history_by_hand(run)
    last = expected.groupby("sku").tail(1)
    index = 100 * last.groupby("category")["price"].sum() / expected[expected["version"] == 1].groupby(
        "category")["price"].sum()
    by_category = run.published("by_category").set_index("category")
    assert (by_category["price_index"] - index).abs().max() < 0.05
    moment = pd.Timestamp("2026-02-14 12:00", tz="UTC")
    as_of = expected[expected["effective_at"] <= moment].groupby("sku").tail(1).set_index("sku")["price"]
    published = run.published("prices_as_of").set_index("sku")["price"]
    assert sorted(published.index) == sorted(as_of.index)
    assert (published - as_of.loc[published.index]).abs().max() < 0.011
