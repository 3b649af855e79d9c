"""The road-collision-star showcase's KSI figures against a few lines of plain pandas over the raw Parquet files
(its set-aside and unmatched collisions are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

WEATHER = {"fine", "rain", "snow", "fog", "high winds"}


def counted_collisions(data) -> pd.DataFrame:
    files = sorted(data.glob("collisions/*/part-*.parquet"))
    raw = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    reports = raw.drop_duplicates("collision_id")
    trusted = reports["casualties"].between(1, 12) & reports["weather"].isin(WEATHER)
    good = reports[trusted].copy()
    good["ksi"] = good["severity"].isin([1, 2])   # fatal or serious; a severity that is no code is not KSI
    return good


def test_ksi_by_district_and_road_class_equals_plain_pandas() -> None:
    run = run_showcase("road-collision-star")
    good = counted_collisions(run.data)
    segments = pd.read_parquet(run.data / "road_segments.parquet")
    lines = good.merge(segments, on="segment_id", how="left").fillna({"district": "unknown", "road_class": "unknown"})
    expected = lines.groupby(["district", "road_class"]).agg(
        collisions=("collision_id", "size"), fatal=("severity", lambda s: int((s == 1).sum())),
        ksi=("ksi", "sum"), casualties=("casualties", "sum"))
    published = run.published("ksi_by_road").set_index(["district", "road_class"]).sort_index()
    assert published.index.tolist() == expected.index.tolist()
    for column in ["collisions", "fatal", "ksi", "casualties"]:
        assert published[column].tolist() == expected[column].tolist(), column


def test_ksi_by_vehicle_type_equals_plain_pandas() -> None:
    run = run_showcase("road-collision-star")
    good = counted_collisions(run.data)
    vehicles = pd.read_parquet(run.data / "vehicles.parquet")
    lines = good.merge(vehicles, on="vehicle_ref", how="left").fillna({"vehicle_type": "untraced or unknown"})
    expected = lines.groupby("vehicle_type").agg(collisions=("collision_id", "size"), ksi=("ksi", "sum"))
    published = run.published("ksi_by_vehicle").set_index("vehicle_type")
    assert published["collisions"].to_dict() == expected["collisions"].to_dict()
    assert published["ksi"].to_dict() == expected["ksi"].to_dict()
    untraced = good["vehicle_ref"].isna() | ~good["vehicle_ref"].isin(vehicles["vehicle_ref"])
    assert published.loc["untraced or unknown", "collisions"] == untraced.sum()
