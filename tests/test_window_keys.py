"""Keys and times at the edges: several keys, null keys, no keys, time zones, extreme time ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_window.keys import stable_argsort
from window_support import T0, at, clock, run


def test_several_keys_and_a_null_key_are_windows_like_any_other() -> None:
    frame = pd.DataFrame({"site": ["s1", "s1", "s2", None, None], "device_id": ["d1", "d2", "d1", "d1", "d1"],
                          "event_time": [at("00:10")] * 5, "ingest_time": [T0] * 5})
    result, _ = run(frame, keys=["site", "device_id"])
    w = result.windows
    assert w[["site", "device_id", "count"]].astype(object).where(w.notna(), None).values.tolist() == [
        ["s1", "d1", 1], ["s1", "d2", 1], ["s2", "d1", 1], [None, "d1", 2]]  # nulls sort last
    assert result.counts["aggregated"].iloc[0] == 5  # the null key is aggregated, not lost


def test_a_null_key_window_continues_across_runs() -> None:
    frame = pd.DataFrame({"device_id": [None, None], "event_time": [at("00:10"), at("00:20")],
                          "ingest_time": [T0, T0 + pd.Timedelta("1min")]})
    _, state = run(frame.iloc[:1], final=False, state_dir="unused")
    result, _ = run(frame.iloc[1:], state)
    assert result.windows["count"].tolist() == [2] and result.windows["device_id"].isna().all()


def test_no_keys_means_one_window_per_time_slot() -> None:
    frame = pd.DataFrame({"event_time": [at("00:10"), at("00:20"), at("01:10")], "ingest_time": [T0] * 3})
    result, _ = run(frame, keys=[])
    assert result.windows.columns[:2].tolist() == ["window_start", "window_end"]
    assert result.windows["count"].tolist() == [2, 1]


def test_time_zones_are_converted_to_utc() -> None:
    local = pd.Series([pd.Timestamp("2024-01-01T01:00:30", tz="Europe/Paris")])  # 00:00:30 UTC
    frame = pd.DataFrame({"device_id": ["d1"], "event_time": local, "ingest_time": [T0]})
    result, _ = run(frame)
    assert clock(result.windows["window_start"].iloc[0]) == "00:00"
    assert str(result.windows["window_start"].dtype) == "datetime64[ns, UTC]"


def test_extreme_time_ranges_do_not_overflow() -> None:
    # 1-nanosecond windows from 1700 to 2250: more window slots than an int64 key can hold next to the keys.
    times = [pd.Timestamp("1700-01-01T00:00:00.000000001Z"), pd.Timestamp("2250-01-01T00:00Z"),
             pd.Timestamp("2250-01-01T00:00Z")]
    frame = pd.DataFrame({"device_id": ["a", "b", "b"], "event_time": times})
    result, _ = run(frame, arrival_column=None, trigger=None, size="1ns", watermark="0s")
    assert result.windows["window_start"].tolist() == [times[0], times[1]]
    assert result.windows["count"].tolist() == [1, 2]


def test_times_beyond_nanosecond_range_are_unparseable() -> None:
    frame = pd.DataFrame({"device_id": ["a", "a"], "event_time": ["2024-01-01T00:00:00Z", "3000-01-01T00:00:00Z"],
                          "ingest_time": [T0, T0]})
    result, _ = run(frame)
    assert result.quarantine["reason"].tolist() == ["bad_event_time"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=60), st.integers(0, 3))
def test_the_fast_stable_sort_is_numpys_stable_sort(values: list[int], spread: int) -> None:
    # `spread` folds the values onto a few (many ties), or leaves their range too wide for one int64 key
    keys = np.array([v % (2 + spread * 3) if spread else v * 2**21 for v in values], dtype=np.int64)
    assert stable_argsort(keys).tolist() == np.argsort(keys, kind="stable").tolist()
