"""The service-requests showcase's hourly counts, late requests and backlog against plain pandas over the raw JSON
lines (the requests it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

STATUSES = {"open", "in progress", "closed"}
DISTRICTS = {f"D{n}" for n in range(1, 9)}


def _valid_requests(data: Path) -> pd.DataFrame:
    """The feed in delivery order (files by name, rows in file order), with the feed's clock, copies and
    invalid requests left out."""
    files = sorted(data.glob("requests/*/part-*.jsonl"))
    feed = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    feed["created_at"] = pd.to_datetime(feed["created_at"], utc=True)
    feed["feed_time"] = feed["created_at"].cummax()
    feed = feed.drop_duplicates("request_id")
    valid = feed["category"].notna() & feed["status"].isin(STATUSES) & feed["district"].isin(DISTRICTS)
    return feed[valid]


def _late(requests: pd.DataFrame, watermark: pd.Timedelta) -> pd.Series:
    """Late: the request's hour had ended by the watermark of the hourly batch of arrivals before its own."""
    batch = requests["feed_time"].dt.floor("1h")
    marks = (requests.groupby(batch)["created_at"].max() - watermark).cummax()
    before = marks.shift(1).reindex(batch).to_numpy()
    hour_end = (requests["created_at"].dt.floor("1h") + pd.Timedelta("1h")).to_numpy()
    return pd.Series(hour_end <= before, index=requests.index)


def test_hourly_counts_and_late_requests_equal_plain_pandas() -> None:
    run = run_showcase("service-requests")
    requests = _valid_requests(run.data)
    late = _late(requests, pd.Timedelta("3h"))
    assert sorted(run.published("late_requests")["request_id"]) == sorted(requests.loc[late, "request_id"])
    counted = requests[~late]
    expected = (counted.groupby(["category", counted["created_at"].dt.floor("1h").rename("hour")])
                .agg(requests=("request_id", "size"), urgent=("urgent", "sum")).reset_index())
    hourly = run.published("hourly_volume")
    hourly["hour"] = pd.to_datetime(hourly["window_start"], utc=True)
    merged = expected.merge(hourly, on=["category", "hour"], how="outer", suffixes=("", "_published"),
                            indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["requests"] == merged["requests_published"]).all()
    assert (merged["urgent"] == merged["urgent_published"]).all()


def test_the_backlog_equals_plain_pandas() -> None:
    run = run_showcase("service-requests")
    requests = _valid_requests(run.data)
    expected = requests.groupby(["category", "district"])["status"].value_counts().unstack(fill_value=0)
    backlog = run.published("backlog").set_index(["category", "district"])
    assert backlog["open"].to_dict() == expected["open"].to_dict()
    assert backlog["in_progress"].to_dict() == expected["in progress"].to_dict()
