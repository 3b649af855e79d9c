"""The panel-ratings showcase's audience per channel and day against a few lines of plain pandas over the two
panels' raw exports (the sessions it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _viewing_by_hand(data: Path) -> pd.DataFrame:
    meter = pd.read_csv(data / "meter_views.csv", dtype={"view_date": str})
    meter = pd.DataFrame({
        "record_id": meter["view_id"], "panel": "meter", "channel_id": meter["channel_code"],
        "day": pd.to_datetime(meter["view_date"], format="%d/%m/%Y", errors="coerce").dt.strftime("%Y-%m-%d"),
        "minutes": meter["minutes"].astype(float), "weight": meter["hh_weight"]})
    streams = pd.read_json(data / "app_streams.jsonl", lines=True)
    app = pd.read_json(data / "app_sessions.jsonl", lines=True, dtype=False).merge(streams, on="stream_id")
    app = pd.DataFrame({
        "record_id": app["session_ref"], "panel": "app", "channel_id": app["channel_id"],
        "day": pd.to_datetime(app["started_at"], utc=True).dt.strftime("%Y-%m-%d"),
        "minutes": app["watch_seconds"] / 60, "weight": app["panel_weight"]})
    viewing = pd.concat([meter, app], ignore_index=True).dropna(subset=["day", "minutes", "weight"])
    viewing = viewing.drop_duplicates("record_id")
    viewing = viewing[(viewing["minutes"] > 0) & (viewing["minutes"] <= 300)]
    return viewing.merge(pd.read_csv(data / "channels.csv"), on="channel_id")


def test_audience_and_share_per_channel_and_day_equal_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("panel-ratings")
    viewing = _viewing_by_hand(run.data)
    viewing["viewer_minutes"] = viewing["minutes"] * viewing["weight"]
    expected = viewing.groupby(["day", "channel_id"]).agg(
        sessions=("record_id", "size"), meter=("panel", lambda p: int((p == "meter").sum())),
        viewer_minutes=("viewer_minutes", "sum")).reset_index()
    expected["share"] = 100 * expected["viewer_minutes"] / expected.groupby("day")["viewer_minutes"].transform("sum")
    ratings = run.published("ratings")
    assert ratings[["day", "channel_id"]].values.tolist() == expected[["day", "channel_id"]].values.tolist()
    assert ratings["sessions"].tolist() == expected["sessions"].tolist()
    assert ratings["meter_sessions"].tolist() == expected["meter"].tolist()
    assert (ratings["average_audience"] - expected["viewer_minutes"] / 1440).abs().max() <= 0.06
    assert (ratings["share_pct"] - expected["share"]).abs().max() <= 0.006
    assert (ratings.groupby("day")["share_pct"].sum() - 100).abs().max() < 0.1


def test_each_panel_and_what_was_set_aside_add_up_to_what_the_panels_sent() -> None:
    run = run_showcase("panel-ratings")
    by_panel = run.published("by_panel").set_index("panel")
    viewing = _viewing_by_hand(run.data)
    assert by_panel["sessions"].to_dict() == viewing["panel"].value_counts().to_dict()
    sent = len(pd.read_csv(run.data / "meter_views.csv"))
    sent += len(pd.read_json(run.data / "app_sessions.jsonl", lines=True))
    checks = sum(len(run.rows(f"quarantine/{name}.out")) for name in ("meter_mapped", "app_mapped", "unique_viewing"))
    assert by_panel["sessions"].sum() + len(run.published("set_aside")) + checks == sent
