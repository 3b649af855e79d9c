"""The prescribing-star showcase's costs per BNF chapter and prescriber role, and per week and age band,
against a few lines of plain pandas over the raw CSV extract and reference files (its items set aside and
unmatched are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _items_by_hand(data: Path) -> pd.DataFrame:
    items = pd.read_csv(data / "items.csv").drop_duplicates("item_id")
    dispensed = pd.to_datetime(items["dispensed_at"], utc=True)
    valid = (items["quantity"].notna() & items["exemption"].isin(["paid", "exempt", "prepayment"])
             & items["net_cost"].between(0.1, 2500)
             & (dispensed >= pd.Timestamp("2026-01-01", tz="UTC")) & (dispensed < pd.Timestamp("2026-02-01", tz="UTC")))
    items = items[valid].assign(dispensed=dispensed[valid])
    drugs = pd.read_csv(data / "drugs.csv")
    prescribers = pd.read_csv(data / "prescribers.csv")
    items = items.merge(drugs, on="drug_code", how="left").merge(prescribers, on="prescriber_id", how="left")
    return items.fillna({"chapter": "unknown", "role": "unknown"})


def test_cost_per_chapter_and_role_equals_plain_pandas_over_the_raw_extract() -> None:
    run = run_showcase("prescribing-star")
    items = _items_by_hand(run.data)
    expected = items.groupby(["chapter", "role"]).agg(
        items=("item_id", "size"), quantity=("quantity", "sum"), net_cost=("net_cost", "sum")).reset_index()
    published = run.published("by_chapter_role")
    assert published[["chapter", "role"]].values.tolist() == expected[["chapter", "role"]].values.tolist()
    assert published["items"].tolist() == expected["items"].tolist()
    assert published["quantity"].tolist() == expected["quantity"].astype(int).tolist()
    assert (published["net_cost"] - expected["net_cost"]).abs().max() < 0.006


def test_cost_per_week_and_age_band_equals_plain_pandas() -> None:
    run = run_showcase("prescribing-star")
    items = _items_by_hand(run.data)
    day = items["dispensed"].dt.floor("D")
    items["week_of"] = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    items["age_band"] = pd.cut(items["patient_age"], [-1, 15, 39, 59, 74, 200],
                               labels=["0-15", "16-39", "40-59", "60-74", "75+"]).astype(str)
    expected = items.groupby(["week_of", "age_band"]).agg(
        items=("item_id", "size"), paid=("exemption", lambda e: int((e == "paid").sum())),
        net_cost=("net_cost", "sum")).reset_index()
    published = run.published("by_week_band")
    assert published[["week_of", "age_band"]].values.tolist() == expected[["week_of", "age_band"]].values.tolist()
    assert published["items"].tolist() == expected["items"].tolist()
    assert published["paid_items"].tolist() == expected["paid"].tolist()
    assert (published["net_cost"] - expected["net_cost"]).abs().max() < 0.006


def test_every_fact_points_at_a_member_of_each_dimension() -> None:
    run = run_showcase("prescribing-star")
    fact = run.published("fact_dispensing")
    for dimension, key in [("dim_drug", "drug_key"), ("dim_prescriber", "prescriber_key"),
                           ("dim_date", "date_key"), ("dim_patient_band", "patient_band_key")]:
        assert fact[key].isin(run.published(dimension)[key]).all(), dimension
    unknown_prescriber = run.published("unmatched").query("dimension == 'prescribers'")
    assert (fact.set_index("item_id").loc[unknown_prescriber["item_id"], "prescriber_key"] == 0).all()
