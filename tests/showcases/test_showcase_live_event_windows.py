"""The live-event-windows showcase's windows against a few lines of plain pandas over the raw feeds: events
counted in the window of their own time, except the copies, the ones without a usable channel and the ones the
generator's manifest says arrived late (the late ones are held to the window's late output by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase

CHANNELS = ["Cup Final", "News 24", "Sport 2", "Movies", "Kids", "Music"]


def _on_time(frame: pd.DataFrame, key: str, late: list[object]) -> pd.DataFrame:
    frame = frame.drop_duplicates(key)
    return frame[frame["channel"].isin(CHANNELS) & ~frame[key].isin(late)]


def test_concurrent_viewers_per_channel_and_five_minutes_equal_plain_pandas() -> None:
    run = run_showcase("live-event-windows")
    beats = _on_time(raw_avro(run.data, "heartbeats.avro"), "beat_id",
                     list(run.manifest.tables["heartbeats"].defects["late"].keys))
    beats = beats.assign(window_start=pd.to_datetime(beats["beat_at"], utc=True).dt.floor("5min"))
    expected = beats.groupby(["channel", "window_start"]).agg(
        minutes=("beat_id", "size"), tv=("device", lambda d: int((d == "tv").sum())),
        bitrate=("bitrate_kbps", "mean")).reset_index()
    viewers = run.published("viewers")
    viewers["window_start"] = pd.to_datetime(viewers["window_start"], utc=True)
    got = viewers.sort_values(["channel", "window_start"]).reset_index(drop=True)
    assert got[["channel", "window_start"]].values.tolist() == expected[["channel", "window_start"]].values.tolist()
    assert got["viewer_minutes"].tolist() == expected["minutes"].tolist()
    assert got["concurrent_viewers"].tolist() == (expected["minutes"] * 100 // 5).tolist()
    assert (got["on_tv_pct"] - 100 * expected["tv"] / expected["minutes"]).abs().max() <= 0.051
    assert (got["mean_bitrate_kbps"] - expected["bitrate"]).abs().max() <= 0.51

    peaks = run.published("peak_viewers").set_index("channel")
    per_channel = got.groupby("channel")["concurrent_viewers"].max()
    assert peaks["peak_viewers"].to_dict() == per_channel.to_dict()


def test_chat_messages_per_channel_and_minute_equal_plain_pandas() -> None:
    run = run_showcase("live-event-windows")
    chat = pd.read_json(run.data / "chat.jsonl", lines=True, dtype=False)
    chat = _on_time(chat, "message_id", list(run.manifest.tables["chat"].defects["late"].keys))
    minute = pd.to_datetime(chat["sent_at"], utc=True).dt.floor("1min")
    expected = chat.assign(minute=minute).groupby("channel").agg(
        messages=("message_id", "size"), flagged=("flagged", "sum"),
        busiest=("minute", lambda m: int(m.value_counts().max())))
    peaks = run.published("chat_peaks").set_index("channel")
    assert peaks["messages"].to_dict() == expected["messages"].to_dict()
    assert peaks["flagged"].to_dict() == expected["flagged"].to_dict()
    assert peaks["busiest_minute_messages"].to_dict() == expected["busiest"].to_dict()
