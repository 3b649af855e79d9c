"""The sales-rollup showcase's four levels against a few lines of plain pandas over the raw Parquet files (its
transactions set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase


def _lines_by_hand(data: Path) -> pd.DataFrame:
    days = [pq.read_table(path).to_pandas() for path in sorted((data / "transactions").glob("*/*.parquet"))]
    # the till update's files call the amount amount_net
    days = [day.rename(columns={"amount_net": "net_amount"}) for day in days]
    sales = pd.concat(days, ignore_index=True).drop_duplicates("transaction_id")
    sales = sales[sales["net_amount"].between(0.3, 1500)]
    stores = pq.read_table(data / "stores.parquet").to_pandas()
    regions = pq.read_table(data / "regions.parquet").to_pandas()
    return sales.merge(stores, on="store_id").merge(regions, on="region_id")


def test_every_level_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("sales-rollup")
    lines = _lines_by_hand(run.data)
    for name, keys in (("by_store", ["store_id"]), ("by_region", ["region_id"]), ("by_country", ["country"])):
        published = run.published(name).set_index(keys)
        groups = lines.groupby(keys)["net_amount"]
        assert published["transactions"].to_dict() == groups.size().to_dict(), name
        assert (published["revenue"] - groups.sum()).abs().max() < 0.006, name
        assert (published["average_basket"] - groups.mean()).abs().max() < 0.006, name
    chain = run.published("chain").iloc[0]
    assert chain["transactions"] == len(lines) and abs(chain["revenue"] - lines["net_amount"].sum()) < 0.01
    assert chain["stores"] == lines["store_id"].nunique()


def test_each_parts_share_of_the_level_above() -> None:
    run = run_showcase("sales-rollup")
    lines = _lines_by_hand(run.data)
    store = lines.groupby(["region_id", "store_id"])["net_amount"].sum()
    share = (store / store.groupby("region_id").transform("sum")).droplevel("region_id")
    by_store = run.published("by_store").set_index("store_id")
    assert (by_store["share_of_region"] - share.loc[by_store.index]).abs().max() < 1e-4
    assert (by_store.groupby("region_id")["share_of_region"].sum() - 1).abs().max() < 1e-3
    region = lines.groupby(["country", "region_id"])["net_amount"].sum()
    share = (region / region.groupby("country").transform("sum")).droplevel("country")
    by_region = run.published("by_region").set_index("region_id")
    assert (by_region["share_of_country"] - share.loc[by_region.index]).abs().max() < 1e-4
    country = lines.groupby("country")["net_amount"].sum()
    by_country = run.published("by_country").set_index("country")
    assert (by_country["share_of_chain"] - country / country.sum()).abs().max() < 1e-4
    days = run.published("country_days")
    sold = lines.assign(day=lines["sold_at"].dt.strftime("%Y-%m-%d")).groupby(["day", "country"]).size()
    days = days.assign(day=days["day"].astype(str)).set_index(["day", "country"])
    assert days["transactions"].to_dict() == sold.to_dict()
