"""The delivery-address-quality showcase's route loads against a few lines of plain pandas over the raw Parquet
files (its quarantined orders are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

CITIES = {"Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere"}


def test_loads_per_day_and_region_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("delivery-address-quality")
    files = sorted(run.data.glob("orders/*/part-*.parquet"))
    orders = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True).drop_duplicates("order_id")
    findable = (orders[["street", "house_number", "postcode"]].notna().all(axis=1)
                & orders["postcode"].str.fullmatch(r"[1-9]\d{3} [A-Z]{2}").fillna(False).astype(bool)
                & orders["city"].isin(CITIES)
                & orders["latitude"].between(50.75, 53.55) & orders["longitude"].between(3.36, 7.23))
    good = orders[findable]
    good = good.assign(day=good["slot_start"].dt.strftime("%Y-%m-%d"), region=good["postcode"].str[0].astype(int))
    expected = good.groupby(["day", "region"]).agg(orders=("order_id", "size"), parcels=("parcels", "sum"),
                                                   load=("weight_kg", "sum"))
    plan = run.published("plan").set_index(["delivery_day", "postal_region"]).sort_index()
    assert plan.index.tolist() == expected.index.tolist()
    assert plan["orders"].tolist() == expected["orders"].tolist()
    assert plan["parcels"].tolist() == expected["parcels"].tolist()
    assert (plan["load_kg"] - expected["load"]).abs().max() < 0.006
    # quarantined + counted + copies = every row read
    assert len(run.rows("quarantine/unique_orders.out")) == (~findable).sum()
    copies = len(run.rows("unique_orders.duplicates"))
    assert plan["orders"].sum() + (~findable).sum() + copies == run.manifest.tables["orders"].rows


def test_the_plan_is_day_by_day_heaviest_region_first() -> None:
    plan = run_showcase("delivery-address-quality").published("plan")
    for _, day in plan.groupby("delivery_day", sort=False):
        assert day["load_kg"].is_monotonic_decreasing
    assert plan["delivery_day"].is_monotonic_increasing
