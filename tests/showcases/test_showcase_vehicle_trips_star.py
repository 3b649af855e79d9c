"""The vehicle-trips-star showcase's star queries against a few lines of plain pandas over the raw Parquet files
(its trips set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import run_showcase


def _trips() -> pd.DataFrame:
    """The trips counted: once each, with a distance in 0 to 400 km and a top speed in 0 to 180 km/h, each with
    its van, driver and region where the master data knows them ('unknown' where not)."""
    data = run_showcase("vehicle-trips-star").data
    trips = pd.concat([pd.read_parquet(p) for p in sorted(data.glob("trips/*/part-*.parquet"))])
    trips = trips.drop_duplicates("trip_id")
    trips = trips[trips["distance_km"].between(0, 400) & trips["max_speed_kmh"].between(0, 180)]
    vehicles = pd.read_parquet(data / "vehicles.parquet")
    drivers = pd.read_parquet(data / "drivers.parquet")
    regions = pd.read_parquet(data / "regions.parquet")
    trips = (trips.merge(vehicles[["vehicle_id", "model"]], on="vehicle_id", how="left")
                  .merge(drivers, on="driver_id", how="left")
                  .merge(regions, on="region_code", how="left"))
    trips["region_code"] = trips["region_code"].where(trips["region_name"].notna(), "unknown")
    trips["model"] = trips["model"].fillna("unknown")
    years = trips["licence_years"]
    trips["experience"] = pd.Series("unknown", index=trips.index).mask(years < 5, "1-4 years").mask(
        years.between(5, 14), "5-14 years").mask(years >= 15, "15+ years")
    trips["depot"] = trips["depot"].fillna("unknown")
    return trips


def test_kilometres_and_energy_per_region_and_model() -> None:
    trips = _trips()
    expected = trips.groupby(["region_code", "model"]).agg(trips=("trip_id", "size"), km=("distance_km", "sum"),
                                                           kwh=("energy_kwh", "sum"))
    published = run_showcase("vehicle-trips-star").published("region_model").set_index(["region_code", "model"])
    assert sorted(published.index) == sorted(expected.index)
    published = published.loc[expected.index]
    assert published["trips"].tolist() == expected["trips"].tolist()
    assert published["km"].tolist() == pytest.approx(expected["km"].tolist(), abs=0.006)
    assert published["kwh_per_100km"].tolist() == pytest.approx((100 * expected["kwh"] / expected["km"]).tolist(),
                                                                abs=0.0051)


def test_harsh_braking_per_experience_and_depot_and_the_weekdays() -> None:
    trips = _trips()
    by_driver = trips.groupby(["experience", "depot"]).agg(trips=("trip_id", "size"), km=("distance_km", "sum"),
                                                           brakes=("harsh_brakes", "sum"))
    safety = run_showcase("vehicle-trips-star").published("driver_safety").set_index(["experience", "depot"])
    assert safety["trips"].to_dict() == by_driver["trips"].to_dict()
    assert safety["harsh_brakes"].to_dict() == by_driver["brakes"].to_dict()
    per_100km = (100 * by_driver["brakes"] / by_driver["km"]).to_dict()
    assert safety["harsh_brakes_per_100km"].to_dict() == pytest.approx(per_100km, abs=0.00051)

    weekday = pd.to_datetime(trips["started_at"], utc=True).dt.day_name()
    profile = run_showcase("vehicle-trips-star").published("weekday_profile").set_index("day_of_week")
    assert profile["trips"].to_dict() == weekday.value_counts().to_dict()
