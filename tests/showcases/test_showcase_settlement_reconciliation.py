"""The settlement-reconciliation showcase's figures per supplier against a few lines of plain pandas over the raw
Parquet and CSV files (its rows set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

PRICE = 0.085  # EUR per kWh
TOLERANCE = 15  # kWh


def _compared(data) -> pd.DataFrame:
    suppliers = pd.read_csv(data / "suppliers.csv")
    points = pq.read_table(data / "metering_points.parquet").to_pandas()
    points = points[points["supplier_id"].isin(suppliers["supplier_id"])]
    files = sorted(data.glob("metered/*/part-*.parquet"))
    metered = pd.concat([pq.read_table(f).to_pandas() for f in files]).drop_duplicates("reading_id")
    metered = metered[metered["metered_kwh"].between(0, 250)]
    settled = pd.read_csv(data / "settlement.csv").drop_duplicates("settlement_id")
    settled = settled[settled["settled_kwh"].notna() & (settled["run"] == "SF")]
    settled["day"] = pd.to_datetime(settled["settlement_date"], utc=True)
    both = metered.merge(settled[["mp_id", "day", "settled_kwh"]], on=["mp_id", "day"], how="outer")
    return both.merge(points[["mp_id", "supplier_id"]], on="mp_id")  # unregistered points drop out here


def test_reconciliation_per_supplier_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("settlement-reconciliation")
    both = _compared(run.data)
    read = both["metered_kwh"].notna()
    both["difference"] = (both["metered_kwh"] - both["settled_kwh"].fillna(0)).where(read, 0.0)
    per_supplier = both.groupby("supplier_id").agg(days=("mp_id", "size"), metered=("metered_kwh", "sum"),
                                                   settled=("settled_kwh", "sum"), difference=("difference", "sum"))
    published = run.published("by_supplier").set_index("supplier_id")
    assert published.index.tolist() == per_supplier.index.tolist()
    assert published["days"].tolist() == per_supplier["days"].tolist()
    assert (published["metered_kwh"] - per_supplier["metered"]).abs().max() < 0.005
    assert (published["settled_kwh"] - per_supplier["settled"]).abs().max() < 0.005
    assert (published["reconciliation_kwh"] - per_supplier["difference"]).abs().max() < 0.01
    assert (published["reconciliation_eur"] - per_supplier["difference"] * PRICE).abs().max() < 0.006


def test_the_findings_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("settlement-reconciliation")
    both = _compared(run.data)
    large = both[(both["metered_kwh"] - both["settled_kwh"]).abs() > TOLERANCE]
    assert sorted(run.published("large_differences")["reading_id"]) == sorted(large["reading_id"])
    not_metered = both[both["metered_kwh"].isna()]
    published = run.published("settled_not_metered")
    assert sorted(zip(published["mp_id"], published["settled_kwh"], strict=True)) == sorted(
        zip(not_metered["mp_id"], not_metered["settled_kwh"], strict=True))
    assert len(run.published("metered_not_settled")) == both["settled_kwh"].isna().sum()
