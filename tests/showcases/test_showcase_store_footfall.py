"""The store-footfall showcase's hourly footfall against a few lines of plain pandas over the raw Avro files (its
events set aside, late ones included, are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, raw_avro, run_showcase


def _on_time_crossings(run: ShowcaseRun) -> pd.DataFrame:
    events = raw_avro(run.data, "door_events.avro").drop_duplicates("event_id")
    events = events[events["direction"].isin(["in", "out"]) & events["people"].between(1, 4)]
    events = events.merge(raw_avro(run.data, "counters.avro"), on="counter_id")
    counted = pd.to_datetime(events["counted_at"], utc=True)
    hour = counted.dt.floor("h")
    # The watermark by hand: after each 5-minute upload batch, the newest count so far less 15 minutes; an event
    # is late when its hour ended at or before the watermark of the batch before its own.
    batch = pd.to_datetime(events["received_at"], utc=True).dt.floor("5min")
    after = counted.groupby(batch).max().sort_index().cummax() - pd.Timedelta("15min")
    before = batch.map(after.shift(1))
    late = (hour + pd.Timedelta("1h")) <= before
    made_late = set(run.manifest.tables["door_events"].defects["late"].keys)
    assert set(events.loc[late, "event_id"]) == made_late & set(events["event_id"])  # the generator's word too
    events, hour = events[~late], hour[~late]
    return events.assign(hour_start=hour,
                         entered=events["people"].where(events["direction"] == "in", 0),
                         left_store=events["people"].where(events["direction"] == "out", 0))


def test_footfall_per_store_and_hour_equals_plain_pandas_over_the_raw_events() -> None:
    run = run_showcase("store-footfall")
    crossings = _on_time_crossings(run)
    expected = crossings.groupby(["store_id", "hour_start"]).agg(
        events=("event_id", "size"), entered=("entered", "sum"), left_store=("left_store", "sum")).reset_index()
    hourly = run.published("hourly")
    hourly["hour_start"] = pd.to_datetime(hourly["hour_start"], utc=True)
    merged = hourly.merge(expected, on=["store_id", "hour_start"], suffixes=("", "_pandas"), how="outer")
    assert len(merged) == len(hourly) == len(expected)
    for column in ("events", "entered", "left_store"):
        assert (merged[column] == merged[f"{column}_pandas"]).all(), column


def test_each_stores_day_and_peak_hour() -> None:
    run = run_showcase("store-footfall")
    crossings = _on_time_crossings(run)
    per_hour = crossings.groupby(["store_id", "hour_start"])["entered"].sum()
    daily = run.published("daily").set_index("store_id")
    assert daily["entered"].to_dict() == per_hour.groupby("store_id").sum().to_dict()
    assert daily["peak_entered"].to_dict() == per_hour.groupby("store_id").max().to_dict()
    stores = raw_avro(run.data, "stores.avro").set_index("store_id")
    density = (daily["entered"] * 100 / stores.loc[daily.index, "sales_area_m2"]).round(1)
    assert (daily["entered_per_100m2"] - density).abs().max() < 1e-9
    chain = run.published("chain_by_hour")
    assert chain["entered"].sum() == daily["entered"].sum() == crossings["entered"].sum()
