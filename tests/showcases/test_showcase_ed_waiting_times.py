"""The ed-waiting-times showcase's hourly arrivals, waits and share seen within target against a few lines of
plain pandas over the raw Avro feed, with the watermark applied by hand (its attendances set aside and late are
held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import raw_avro, run_showcase

HOUR, WATERMARK, TRIGGER = pd.Timedelta("1h"), pd.Timedelta("2h"), "5min"
TARGET_MIN = {1: 0, 2: 10, 3: 60, 4: 120, 5: 240}  # Manchester triage: immediately, 10 min, 1 h, 2 h, 4 h


def _valid_attendances(data: Path) -> pd.DataFrame:
    feed = raw_avro(data, "attendances/*/part-*.avro").drop_duplicates("attendance_id")
    valid = (feed["triage"].notna() & feed["arrival_mode"].isin(["ambulance", "walk-in", "referral"])
             & feed["wait_min"].between(0, 720))
    return feed[valid].reset_index(drop=True)


def _late(feed: pd.DataFrame) -> pd.Series:
    """Late: the attendance's hour had ended by the watermark of the batches that reached the feed before it."""
    batch = feed["received_at"].dt.floor(TRIGGER)
    newest = feed.groupby(batch)["arrived_at"].max()
    closed_up_to = (newest - WATERMARK).cummax().shift()
    return feed["arrived_at"].dt.floor("1h") + HOUR <= batch.map(closed_up_to)


def test_hourly_arrivals_and_waits_equal_plain_pandas_over_the_raw_feed() -> None:
    run = run_showcase("ed-waiting-times")
    feed = _valid_attendances(run.data)
    late = _late(feed)
    assert set(feed.loc[late, "attendance_id"]) == set(run.rows("hours.late")["attendance_id"])
    counted = feed[~late].assign(hour_start=lambda f: f["arrived_at"].dt.floor("1h"),
                                 seen_in_time=lambda f: f["wait_min"] <= f["triage"].map(TARGET_MIN))
    expected = counted.groupby(["site", "hour_start"]).agg(
        arrivals=("attendance_id", "size"), mean_wait=("wait_min", "mean"), longest=("wait_min", "max"),
        in_time=("seen_in_time", "mean"), ambulance=("arrival_mode", lambda m: int((m == "ambulance").sum())),
    ).reset_index()
    expected["hour"] = expected["hour_start"].dt.hour
    expected["typical"] = expected.groupby(["site", "hour"])["arrivals"].transform("mean")

    published = run.published("hourly")
    published["hour_start"] = pd.to_datetime(published["window_start"], utc=True)
    published = published.sort_values(["site", "hour_start"]).reset_index(drop=True)
    keys = ["site", "hour_start"]
    assert published[keys].values.tolist() == expected[keys].values.tolist()
    assert published["arrivals"].tolist() == expected["arrivals"].tolist()
    assert published["by_ambulance"].tolist() == expected["ambulance"].tolist()
    assert (published["mean_wait_min"] - expected["mean_wait"]).abs().max() <= 0.0501
    assert (published["longest_wait_min"] - expected["longest"]).abs().max() < 1e-9
    assert (published["within_target_share"] - expected["in_time"]).abs().max() <= 0.00005
    assert (published["typical_arrivals"] - expected["typical"]).abs().max() <= 0.005
    assert (published["busier_than_usual"] == (expected["arrivals"] > expected["typical"])).all()


def test_late_attendances_reached_the_feed_hours_after_they_arrived() -> None:
    run = run_showcase("ed-waiting-times")
    late = run.rows("hours.late")
    assert len(late) > 0 and set(late["reason"]) == {"late"}
    assert ((late["received_at"] - late["arrived_at"]) >= pd.Timedelta("4h")).all()  # held 4 to 12 hours
