"""The freight-lane-rollup showcase's hierarchy against a few lines of plain pandas over the raw Parquet files
(its shipments set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

REGIONS = ["DE11", "DE21", "DE30", "DE60", "DEA1", "FR10", "FRK2", "FRL0", "NL32", "NL33", "BE10", "BE21", "PL91",
           "PL22", "ITC4"]


def test_every_level_equals_a_plain_pandas_groupby_of_the_raw_files() -> None:
    run = run_showcase("freight-lane-rollup")
    files = sorted(run.data.glob("shipments/*/part-*.parquet"))
    raw = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True).drop_duplicates("shipment_id")
    ok = raw["weight_kg"].between(20, 24000) & raw["pallets"].between(1, 33) & raw["dest_region"].isin(REGIONS)
    shipped = raw[ok].assign(country=lambda f: f["dest_region"].str[:2],
                             lane=lambda f: f["origin_hub"] + "-" + f["dest_region"])
    published = run.published("hierarchy")
    for level, keys in {"lane": ["lane"], "region": ["dest_region"], "country": ["country"]}.items():
        expected = shipped.groupby(keys).agg(shipments=("shipment_id", "size"), pallets=("pallets", "sum"),
                                             kg=("weight_kg", "sum"))
        rows = published[published["level"] == level].set_index(level).sort_index()
        assert rows.index.tolist() == expected.index.tolist(), level
        assert rows["shipments"].tolist() == expected["shipments"].tolist(), level
        assert rows["pallets"].tolist() == expected["pallets"].astype(int).tolist(), level
        assert (rows["tonnes"] - expected["kg"] / 1000).abs().max() < 6e-4, level
    (network,) = published[published["level"] == "network"].itertuples()
    assert network.shipments == len(shipped) and abs(network.tonnes - shipped["weight_kg"].sum() / 1000) < 6e-4


def test_each_share_is_of_the_level_above() -> None:
    published = run_showcase("freight-lane-rollup").published("hierarchy")
    countries = published[published["level"] == "country"].set_index("country")["tonnes"]
    regions = published[published["level"] == "region"]
    share = regions["tonnes"] / regions["country"].map(countries)
    assert (regions["share_of_parent"] - share).abs().max() < 1e-3
    for _, siblings in published[published["level"] != "network"].groupby(["level", "parent"]):
        assert abs(siblings["share_of_parent"].sum() - 1) < 5e-3
