"""The bed-occupancy showcase's occupancy per ward, department, hospital and trust against a few lines of plain
pandas over the raw Parquet censuses (its censuses set aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

HOSPITALS = {"1": "Northgate", "2": "Riverside", "3": "Southfield"}
DEPARTMENTS = {"M": "medicine", "S": "surgery", "G": "older people", "T": "trauma and orthopaedics",
               "R": "respiratory"}


def _censuses(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("census/*/part-*.parquet"))
    census = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    census = census.drop_duplicates("census_id")
    census = census[census["occupied"].between(0, 36) & census["empty"].between(0, 10)]
    return census.assign(hospital=census["ward_code"].str[0].map(HOSPITALS),
                         department=census["ward_code"].str[1].map(DEPARTMENTS),
                         meeting=census["taken_at"].dt.floor("4h"),
                         open_beds=census["occupied"] + census["empty"])


def _level(census: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Each meeting's beds summed over the level, then the level's fortnight."""
    meetings = census.groupby([*by, "meeting"])[["occupied", "open_beds"]].sum().reset_index()
    meetings["rate"] = meetings["occupied"] / meetings["open_beds"]
    first_peak = meetings.sort_values([*by, "rate", "meeting"], ascending=[True] * len(by) + [False, True])
    level = meetings.groupby(by).agg(occupied=("occupied", "sum"), open_beds=("open_beds", "sum"),
                                     peak=("rate", "max"), over=("rate", lambda r: (r > 0.92).mean()))
    level["fullest_at"] = first_peak.groupby(by)["meeting"].first()
    return level.assign(occupancy=level["occupied"] / level["open_beds"]).reset_index()


def test_occupancy_at_every_level_equals_plain_pandas_over_the_raw_censuses() -> None:
    run = run_showcase("bed-occupancy")
    census = _censuses(run.data)
    for name, by in [("wards", ["hospital", "department", "ward_code"]), ("departments", ["hospital", "department"]),
                     ("hospitals", ["hospital"])]:
        expected, published = _level(census, by), run.published(name)
        assert published[by].values.tolist() == expected[by].values.tolist(), name
        assert (published["occupancy"] - expected["occupancy"]).abs().max() <= 0.00005, name
        assert (published["peak_occupancy"] - expected["peak"]).abs().max() <= 0.00005, name
        assert (published["share_over_92"] - expected["over"]).abs().max() <= 0.00005, name
        assert (pd.to_datetime(published["fullest_at"], utc=True) == expected["fullest_at"]).all(), name


def test_the_trust_is_the_sum_of_its_wards_at_every_meeting() -> None:
    run = run_showcase("bed-occupancy")
    census = _censuses(run.data)
    expected = census.groupby("meeting").agg(wards=("ward_code", "size"), occupied=("occupied", "sum"),
                                             open_beds=("open_beds", "sum")).reset_index()
    published = run.published("trust_by_meeting")
    assert (pd.to_datetime(published["meeting"], utc=True) == expected["meeting"]).all()
    assert published[["wards", "occupied", "open_beds"]].values.tolist() == \
        expected[["wards", "occupied", "open_beds"]].astype(int).values.tolist()
    trust = run.published("trust").iloc[0]
    assert trust["ward_censuses"] == len(census)
    assert abs(trust["occupancy"] - census["occupied"].sum() / census["open_beds"].sum()) <= 0.00005
