"""The inventory-star showcase's stock on hand and days of cover per store and category against a few lines of
plain pandas over the raw Parquet files (its movements set aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from showcase_support import run_showcase

SIGN = {"receipt": 1, "sale": -1, "waste": -1, "return": -1}


def _ledger(data: Path) -> pd.DataFrame:
    """The movements counted, in units, under 'unknown' where the master data has no store or product."""
    movements = pd.concat([pd.read_parquet(p) for p in sorted(data.glob("movements/*/part-*.parquet"))],
                          ignore_index=True).drop_duplicates("movement_id")
    movements = movements[movements["quantity"].between(1, 60) & movements["movement_type"].isin(list(SIGN))]
    products = pd.read_parquet(data / "products.parquet")
    stores = pd.read_parquet(data / "stores.parquet")
    ledger = movements.merge(products, on="sku", how="left").merge(stores, on="store_code", how="left")
    ledger["store_code"] = ledger["store_code"].where(ledger["store_name"].notna(), "unknown")
    ledger = ledger.fillna({"category": "unknown", "case_size": 1})
    in_cases = ledger["movement_type"].isin(["receipt", "return"])
    ledger["units"] = (ledger["quantity"] * ledger["movement_type"].map(SIGN)
                       * np.where(in_cases, ledger["case_size"], 1)).astype(int)
    return ledger


def test_stock_on_hand_and_days_of_cover_equal_plain_pandas() -> None:
    run = run_showcase("inventory-star")
    ledger = _ledger(run.data)
    on_hand = ledger.groupby(["store_code", "category"])["units"].sum()
    recent = ledger[(ledger["movement_type"] == "sale")
                    & (ledger["moved_at"] >= pd.Timestamp("2026-03-02", tz="UTC") - pd.Timedelta(days=14))]
    sold = (-recent.groupby(["store_code", "category"])["units"].sum()).reindex(on_hand.index, fill_value=0)
    cover = (on_hand * 14 / sold).where(on_hand > 0, 0.0)
    published = run.published("stock_cover").set_index(["store_code", "category"]).sort_index()
    assert published["on_hand"].to_dict() == on_hand.to_dict()
    assert published["sold_recently"].to_dict() == sold.to_dict()
    assert (published["days_of_cover"] - cover).abs().max() <= 0.05 + 1e-9
    assert published["negative_stock"].to_dict() == (on_hand < 0).to_dict()


def test_the_star_points_unknown_movements_at_the_unknown_member() -> None:
    run = run_showcase("inventory-star")
    ledger = _ledger(run.data)
    fact = run.published("fact_movements")
    assert len(fact) == len(ledger)
    assert int((fact["store_key"] == 0).sum()) == int((ledger["store_code"] == "unknown").sum())
    suppliers = pd.read_parquet(run.data / "suppliers.parquet")["supplier_id"]
    assert int((fact["supplier_key"] == 0).sum()) == int((~ledger["supplier_id"].isin(suppliers)).sum())
    summary = run.published("unmatched_summary").set_index(["dimension", "reason"])["movements"]
    assert summary.get(("suppliers", "null key"), 0) == int(ledger["supplier_id"].isna().sum())
