"""Aggregations: count, sum, mean, min, max, first and last (by event time, then ``order_by``), computed
in one batch, merged across batches and across runs, with nulls handled as documented."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from window_support import MINUTE, T0, at, run

IOT = {
    "records": "count",
    "online_records": "sum(online)",
    "temperature_mean": "mean(temperature_c)",
    "temperature_max": "max(temperature_c)",
    "battery_min": "min(battery_pct)",
    "last_firmware_version": "last(firmware_version)",
    "last_status": "last(status)",
}


def telemetry(rows: list[tuple[str, int, int, int, str, str, float | None, float | None]]) -> pd.DataFrame:
    """(event mm:ss, batch, ingest seconds into the batch, seq, status, firmware, temperature, battery)."""
    frame = pd.DataFrame(
        [{"device_id": "d1", "event_time": at(e), "ingest_time": T0 + b * MINUTE + pd.Timedelta(seconds=s),
          "seq": q, "status": st, "firmware_version": fw, "temperature_c": t, "battery_pct": bat}
         for e, b, s, q, st, fw, t, bat in rows])
    frame["online"] = frame["status"].isin(["ONLINE", "DEGRADED"])
    return frame


def test_iot_window_last_is_the_largest_event_time_then_ingest_time_then_seq() -> None:
    frame = telemetry([
        ("00:10", 0, 1, 1, "ONLINE", "1.0.0", 20.0, 90.0),
        ("00:50", 0, 2, 3, "DEGRADED", "1.1.0", None, 80.0),
        ("00:50", 0, 2, 2, "OFFLINE", "1.2.0", 24.0, None),  # same event and ingest time: seq 3 wins
        ("00:30", 0, 3, 4, "ONLINE", "9.9.9", 22.0, 85.0),
    ])
    result, _ = run(frame, aggregations=IOT, order_by=["ingest_time", "seq"])
    row = result.windows.iloc[0]
    assert (row["records"], row["online_records"]) == (4, 3)
    assert row["temperature_mean"] == pytest.approx((20.0 + 24.0 + 22.0) / 3)
    assert (row["temperature_max"], row["battery_min"]) == (24.0, 80.0)
    assert (row["last_firmware_version"], row["last_status"]) == ("1.1.0", "DEGRADED")


def test_ingest_time_breaks_an_event_time_tie_before_seq() -> None:
    frame = telemetry([
        ("00:20", 0, 5, 1, "ONLINE", "1.0.0", 20.0, 90.0),  # arrived later, smaller seq: still last
        ("00:20", 0, 4, 2, "OFFLINE", "2.0.0", 20.0, 90.0),
    ])
    result, _ = run(frame, aggregations=IOT, order_by=["ingest_time", "seq"])
    assert result.windows["last_status"].iloc[0] == "ONLINE"


def test_first_and_last_ignore_row_order_even_on_a_full_tie() -> None:
    # Same event time and no order_by: the value itself decides (largest for last, smallest for first).
    frame = pd.DataFrame({"device_id": ["d1"] * 3, "event_time": [at("00:05")] * 3,
                          "ingest_time": [T0] * 3, "status": ["b", "c", "a"]})
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        result, _ = run(frame.iloc[order], aggregations={"first": "first(status)", "last": "last(status)"})
        assert result.windows[["first", "last"]].iloc[0].tolist() == ["a", "c"]


def test_last_takes_the_last_records_value_even_when_null() -> None:
    frame = pd.DataFrame({"device_id": ["d1"] * 2, "event_time": [at("00:05"), at("00:06")],
                          "ingest_time": [T0] * 2, "status": ["ONLINE", None]})
    result, _ = run(frame, aggregations={"last": "last(status)", "first": "first(status)"})
    assert pd.isna(result.windows["last"].iloc[0]) and result.windows["first"].iloc[0] == "ONLINE"


def test_nulls_sum_mean_count_min_max() -> None:
    frame = pd.DataFrame({"device_id": ["d1", "d1", "d2"], "event_time": [at("00:05"), at("00:06"), at("00:07")],
                          "ingest_time": [T0] * 3, "v": [2.0, None, None], "n": pd.array([3, None, None], "Int64")})
    aggregations = {"records": "count", "values": "count(v)", "total": "sum(v)", "mean": "mean(v)",
                    "low": "min(v)", "ints": "sum(n)", "top": "max(n)"}
    result, _ = run(frame, aggregations=aggregations)
    d1, d2 = result.windows.iloc[0], result.windows.iloc[1]
    assert [d1[c] for c in ["records", "values", "total", "mean", "low", "ints", "top"]] == [2, 1, 2.0, 2.0, 2.0, 3, 3]
    # A window without a value has no sum (as in SQL), no mean, no minimum: null, not 0.
    assert [d2["records"], d2["values"]] == [1, 0]
    assert all(pd.isna(d2[c]) for c in ["total", "mean", "low", "ints", "top"])
    assert str(result.windows["ints"].dtype) == "Int64"  # integer sums stay exact


def test_min_max_of_text_and_times() -> None:
    frame = pd.DataFrame({"device_id": ["d1"] * 3, "event_time": [at("00:05"), at("00:01"), at("00:09")],
                          "ingest_time": [T0] * 3, "firmware_version": ["1.10.0", "1.9.0", None]})
    aggregations = {"low": "min(firmware_version)", "high": "max(firmware_version)", "newest": "max(event_time)"}
    result, _ = run(frame, aggregations=aggregations)
    assert result.windows[["low", "high"]].iloc[0].tolist() == ["1.10.0", "1.9.0"]  # text order
    assert result.windows["newest"].iloc[0] == at("00:09")


def test_aggregates_merge_across_batches_in_update_mode() -> None:
    frame = telemetry([
        ("00:40", 0, 0, 1, "ONLINE", "1.0.0", 20.0, 50.0),
        ("00:10", 1, 0, 2, "OFFLINE", "2.0.0", 30.0, 40.0),  # earlier event, later batch: not "last"
        ("00:50", 2, 0, 3, "DEGRADED", "3.0.0", None, 60.0),
    ])
    result, _ = run(frame, aggregations=IOT, order_by=["ingest_time", "seq"], mode="update", watermark="10min")
    w = result.windows
    assert w["records"].tolist() == [1, 2, 3]
    assert w["temperature_mean"].tolist() == [20.0, 25.0, 25.0]
    assert w["battery_min"].tolist() == [50.0, 40.0, 40.0]
    assert w["last_status"].tolist() == ["ONLINE", "ONLINE", "DEGRADED"]
    assert w["online_records"].tolist() == [1, 1, 2]


def test_aggregates_merge_across_runs() -> None:
    frame = telemetry([
        ("00:40", 0, 0, 1, "ONLINE", "1.0.0", 20.0, 50.0),
        ("00:10", 1, 0, 2, "OFFLINE", "2.0.0", 30.0, 40.0),
    ])
    settings: dict[str, Any] = {"aggregations": IOT, "order_by": ["ingest_time", "seq"], "watermark": "10min"}
    whole, _ = run(frame, **settings)
    _, state = run(frame.iloc[:1], final=False, state_dir="unused", **settings)
    second, _ = run(frame.iloc[1:], state, **settings)
    pd.testing.assert_frame_equal(second.windows, whole.windows)
    row = whole.windows.iloc[0]
    assert (row["records"], row["temperature_mean"], row["battery_min"], row["last_status"]) == \
        (2, 25.0, 40.0, "ONLINE")


def test_a_null_is_below_minus_infinity_when_first_and_last_tie_on_everything_else() -> None:
    # Same event time, same arrival, same seq: the values decide, and a null is the lowest of them.
    frame = pd.DataFrame({"device_id": ["d1"] * 3, "event_time": [at("00:10")] * 3, "ingest_time": [T0] * 3,
                          "seq": [0, 0, 0], "num": [float("-inf"), None, -0.0]})
    first_last = {"first_num": "first(num)", "last_num": "last(num)"}
    result, _ = run(frame.iloc[:2], order_by=["seq"], aggregations=first_last)
    assert pd.isna(result.windows["first_num"].iloc[0])
    assert result.windows["last_num"].iloc[0] == float("-inf")
    # -0.0 and 0.0 are the same value: of two records tied on everything, the first in the input is kept
    tied = pd.concat([frame.iloc[2:], frame.iloc[2:].assign(num=0.0)], ignore_index=True)
    result, _ = run(tied, order_by=["seq"], aggregations=first_last)
    assert str(result.windows["last_num"].iloc[0]) == "-0.0"
