"""The meter-consumption showcase's peak 15-minute demand against a few lines of plain pandas over the raw Avro
feed, with the watermark applied by hand (its readings set aside and late are held to the generator's manifest
by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import raw_avro, run_showcase

QUARTER, WATERMARK, TRIGGER = pd.Timedelta("15min"), pd.Timedelta("5min"), "1min"


def _valid_readings(data: Path) -> pd.DataFrame:
    feed = raw_avro(data, "readings/*/part-*.avro").drop_duplicates("reading_id")
    return feed[feed["energy_wh"].between(0, 200)].reset_index(drop=True)


def _late(readings: pd.DataFrame) -> pd.Series:
    """Late: the reading's quarter had ended by the watermark of the minutes that arrived before its own."""
    batch = readings["received_at"].dt.floor(TRIGGER)
    newest = readings.groupby(batch)["read_at"].max()
    closed_up_to = (newest - WATERMARK).cummax().shift()  # the watermark after the batch before
    quarter_end = readings["read_at"].dt.floor("15min") + QUARTER
    return quarter_end <= batch.map(closed_up_to)


def test_peak_demand_equals_plain_pandas_over_the_raw_feed() -> None:
    run = run_showcase("meter-consumption")
    readings = _valid_readings(run.data)
    late = _late(readings)
    assert set(readings.loc[late, "reading_id"]) == set(run.rows("quarters.late")["reading_id"])
    counted = readings[~late]
    quarters = counted.groupby(["meter_id", counted["read_at"].dt.floor("15min").rename("quarter")])[
        "energy_wh"].agg(["sum", "size"]).reset_index()
    quarters["demand_kw"] = (quarters["sum"] * 4 / 1000).round(4)
    quarters["day"] = quarters["quarter"].dt.strftime("%Y-%m-%d")
    top = quarters.loc[quarters.groupby(["meter_id", "day"])["demand_kw"].idxmax()]
    expected = quarters.groupby(["meter_id", "day"]).agg(
        peak=("demand_kw", "max"), energy=("sum", "sum"), readings=("size", "sum"),
        complete=("size", lambda n: int((n == 15).sum()))).reset_index()

    published = run.published("daily_peaks")
    assert published[["meter_id", "day"]].values.tolist() == expected[["meter_id", "day"]].values.tolist()
    assert (published["peak_demand_kw"] - expected["peak"]).abs().max() < 1e-9
    assert published["readings"].tolist() == expected["readings"].tolist()
    assert published["complete_quarters"].tolist() == expected["complete"].tolist()
    assert (published["energy_wh"] - expected["energy"]).abs().max() < 0.006
    peak_quarter = pd.to_datetime(published["peak_quarter"], utc=True)
    assert peak_quarter.tolist() == top["quarter"].tolist()


def test_late_readings_are_published_with_how_late_they_were() -> None:
    run = run_showcase("meter-consumption")
    late = run.published("late_readings")
    assert len(late) > 0 and set(late["reason"]) == {"late"}
    assert late["minutes_late"].min() >= 30  # held back 30 min to 4 h: always after their quarter closed
