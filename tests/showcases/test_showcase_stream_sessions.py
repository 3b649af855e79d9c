"""The stream-sessions showcase's minutes per genre and plan and its sessions against a few lines of plain pandas
over the raw JSON lines files (its events set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _plays(data: Path) -> pd.DataFrame:
    """The events counted, each with its genre and plan ('unclassified' and 'unknown' where nothing matches)."""
    events = pd.concat([pd.read_json(p, lines=True) for p in sorted(data.glob("events/*/part-*.jsonl"))],
                       ignore_index=True).drop_duplicates("event_id")
    events = events[events["watched_s"].between(1, 10800) & events["device"].isin(["tv", "mobile", "web", "tablet"])]
    titles = pd.read_json(data / "titles.jsonl", lines=True)[["title_id", "genre"]]
    subscribers = pd.read_json(data / "subscribers.jsonl", lines=True)[["subscriber_id", "plan"]]
    plays = events.merge(titles, on="title_id", how="left").merge(subscribers, on="subscriber_id", how="left")
    return plays.fillna({"genre": "unclassified", "plan": "unknown"})


def test_minutes_per_genre_and_plan_equal_plain_pandas() -> None:
    run = run_showcase("stream-sessions")
    plays = _plays(run.data)
    expected = plays.groupby(["genre", "plan"]).agg(plays=("event_id", "size"), viewers=("subscriber_id", "nunique"),
                                                   seconds=("watched_s", "sum")).reset_index()
    published = run.published("minutes_by_genre_plan")
    columns = ["genre", "plan", "plays", "viewers"]
    assert published[columns].values.tolist() == expected[columns].values.tolist()
    assert (published["minutes"] - expected["seconds"] / 60).abs().max() <= 0.05 + 1e-9  # to a tenth
    wide = run.published("genre_by_plan").set_index("genre")
    long = published.set_index(["genre", "plan"])["minutes"]
    assert wide.loc["drama", "minutes_basic"] == long[("drama", "basic")]


def test_sessions_break_at_pauses_longer_than_half_an_hour() -> None:
    run = run_showcase("stream-sessions")
    plays = _plays(run.data)
    plays = plays.assign(start=pd.to_datetime(plays["started_at"], utc=True)).sort_values(
        ["subscriber_id", "start", "event_id"])
    plays["end"] = plays["start"] + pd.to_timedelta(plays["watched_s"], unit="s")
    reach_before = plays.groupby("subscriber_id")["end"].transform(lambda end: end.cummax().shift())
    new = reach_before.isna() | (plays["start"] > reach_before + pd.Timedelta(minutes=30))
    plays["session"] = new.astype(int).groupby(plays["subscriber_id"]).cumsum()
    expected = plays.groupby("subscriber_id")["session"].max()
    sessions = run.published("sessions")
    assert sessions.groupby("subscriber_id")["session_no"].max().to_dict() == expected.to_dict()
    assert int(sessions["plays"].sum()) == len(plays)
    by_plan = run.published("sessions_by_plan").set_index("plan")
    assert by_plan["sessions"].to_dict() == sessions.groupby("plan").size().to_dict()
