"""The generation-star showcase's mix figures against a few lines of plain pandas over the raw Parquet files (its
hours set aside and its unmatched hours are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

EMISSIONS = {"coal": 0.95, "gas": 0.40, "biomass": 0.05}  # t CO2 per MWh; the others emit none
RENEWABLE = {"hydro", "wind", "solar", "biomass"}


def _metered_hours(data) -> pd.DataFrame:
    files = sorted(data.glob("generation/*/part-*.parquet"))
    generation = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    generation = generation[~generation.duplicated("meter_read_id")]
    good = generation["output_share"].between(0, 1) & generation["flag"].isin(["metered", "substituted"])
    plants = pq.read_table(data / "plants.parquet").to_pandas()
    zones = pq.read_table(data / "zones.parquet").to_pandas()
    hours = generation[good].merge(plants, on="plant_code", how="left")
    hours["zone"] = hours["zone_code"].where(hours["zone_code"].isin(zones["zone_code"]), "unknown")
    hours["mwh"] = (hours["output_share"] * hours["capacity_mw"]).round(3)
    hours["day"] = hours["hour_start"].dt.strftime("%Y-%m-%d")
    return hours


def test_zone_day_mix_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("generation-star")
    hours = _metered_hours(run.data)
    hours["renewable_mwh"] = hours["mwh"].where(hours["fuel"].isin(RENEWABLE), 0.0)
    hours["co2_t"] = hours["mwh"] * hours["fuel"].map(EMISSIONS).fillna(0.0)
    expected = hours.groupby(["zone", "day"])[["mwh", "renewable_mwh", "co2_t"]].sum()

    published = run.published("zone_day")
    published["day"] = published["day"].astype(str)
    published = published.set_index(["zone", "day"]).sort_index()
    assert published.index.tolist() == expected.index.tolist()
    assert (published["mwh"] - expected["mwh"]).abs().max() < 0.05
    assert (published["renewable_share"] - expected["renewable_mwh"] / expected["mwh"]).abs().max() < 1e-4
    assert (published["co2_t_per_mwh"] - expected["co2_t"] / expected["mwh"]).abs().max() < 1e-4
    assert "unknown" in published.index.get_level_values("zone")  # orphaned plants' MWh still count


def test_capacity_factor_per_fuel_and_the_unknown_zone() -> None:
    run = run_showcase("generation-star")
    hours = _metered_hours(run.data)
    by_fuel = hours.groupby("fuel").agg(hours=("mwh", "size"), mwh=("mwh", "sum"), mw=("capacity_mw", "sum"))
    published = run.published("fuel_capacity").set_index("fuel")
    assert published["hours"].to_dict() == by_fuel["hours"].to_dict()
    assert (published["capacity_factor"] - by_fuel["mwh"] / by_fuel["mw"]).abs().max() < 1e-4
    unknown = hours[hours["zone"] == "unknown"]
    summary = run.published("unmatched_summary")
    assert summary["hours"].sum() == len(unknown)
    assert set(summary["zone_code"]) == set(unknown["zone_code"])
