"""Properties on generated streams: the step agrees with a record-by-record reading of the rules, conserves
records, ignores row order, gives the same result in one run or two, and never moves the watermark back."""

from __future__ import annotations

import math
import tempfile
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_window import TumblingSettings, WindowConfig, WindowResult, process
from kernel_window.store import StateStore
from kernel_window.tumbling import watermarks
from window_support import MINUTE, T0, Record, reference

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AGGREGATIONS = {"count": "count", "total": "sum(value)", "mean": "mean(value)", "low": "min(value)",
                "high": "max(value)", "first": "first(value)", "last": "last(value)", "low_tag": "min(tag)",
                "high_tag": "max(tag)"}


record = st.tuples(
    st.sampled_from(["a", "b", "c"]),  # key
    # Event time, ms after 00:00: mostly on a 10-second grid, so that window ends, watermarks and event
    # times often coincide (the boundaries are where the rules are easiest to get wrong).
    st.integers(-30, 120).map(lambda k: k * 10_000) | st.integers(-5 * 60_000, 20 * 60_000),
    st.integers(0, 19),  # 0: no event time (about 5%)
    st.integers(0, 11 * 60 + 59),  # arrival, s after 00:00: batches B0..B11
    st.none() | st.integers(-50, 50),  # value
    st.none() | st.sampled_from(["x", "y", "z"]),  # tag
)


@st.composite
def streams(draw: st.DrawFn) -> pd.DataFrame:
    """Up to 40 records of keys a/b/c over ~25 minutes of event time, arriving in batches B0..B11."""
    size = draw(st.integers(0, 40))  # st.lists alone would mostly give a handful of records
    rows = draw(st.lists(record, min_size=size, max_size=size))
    event = [pd.NaT if bad == 0 else T0 + pd.Timedelta(milliseconds=ms) for _, ms, bad, *_ in rows]
    return pd.DataFrame({
        "device_id": pd.Series([r[0] for r in rows], dtype="str"),
        "event_time": pd.to_datetime(pd.Series(event, dtype=object), utc=True),
        "ingest_time": pd.to_datetime(pd.Series([T0 + pd.Timedelta(seconds=r[3]) for r in rows], dtype=object),
                                      utc=True),
        "seq": np.arange(len(rows), dtype=np.int64),
        "value": pd.Series([np.nan if r[4] is None else float(r[4]) for r in rows], dtype="float64"),
        "tag": pd.Series([r[5] for r in rows], dtype="str"),
    })


options = st.fixed_dictionaries({
    "size": st.sampled_from(["1min", "2min", "45s"]),
    "watermark": st.sampled_from(["0s", "1min", "2min"]),
    "allowed_lateness": st.sampled_from(["0s", "1min"]),
    "mode": st.sampled_from(["append", "update"]),
    "final": st.booleans(),
})


def config_of(option: dict[str, Any], **more: Any) -> WindowConfig:
    values = {"time_column": "event_time", "arrival_column": "ingest_time", "trigger": "1min",
              "keys": ["device_id"], "aggregations": AGGREGATIONS, "order_by": ["seq"], **option, **more}
    if not values["final"]:
        values.setdefault("state_dir", "unused")
    return WindowConfig.from_settings(TumblingSettings.model_validate(values))


def _value(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v


def as_emissions(result: WindowResult) -> list[tuple[Any, ...]]:
    w = result.windows
    out = []
    for row in w.itertuples(index=False):
        batch = "end" if pd.isna(row.emit_batch) else int((row.emit_batch - T0) // MINUTE)
        aggregates = {name: _value(getattr(row, name)) for name in AGGREGATIONS}
        out.append((batch, row.device_id, row.window_start.value, row.emit_kind, aggregates))
    return out


def records_of(frame: pd.DataFrame) -> list[Record]:
    good = frame[frame["event_time"].notna()]
    return [Record(r.device_id, r.event_time.value, int((r.ingest_time - T0) // MINUTE), r.seq, _value(r.value),
                   _value(r.tag)) for r in good.itertuples(index=False)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), options)
def test_rules_agree_with_a_record_by_record_reference(frame: pd.DataFrame, option: dict[str, Any]) -> None:
    config = config_of(option)
    result, _ = process(frame, config)
    expected, expected_late = reference(records_of(frame), size=config.size, delay=config.delay,
                                        lateness=config.lateness, mode=config.mode, final=config.final)
    assert as_emissions(result) == expected
    got_late = sorted(zip(result.late["device_id"], (t.value for t in result.late["event_time"]),
                          (t.value for t in result.late["window_start"]),
                          (t.value for t in result.late["watermark"]), strict=True))
    assert got_late == sorted(expected_late)


@FAST
@given(streams(), options)
def test_rule_11_conservation_on_generated_streams(frame: pd.DataFrame, option: dict[str, Any]) -> None:
    result, _ = process(frame, config_of(option))
    counts = result.counts.iloc[0]
    assert counts["input"] == len(frame)
    assert counts["input"] == counts["aggregated"] + counts["late"] + counts["quarantined"]
    assert counts["quarantined"] == frame["event_time"].isna().sum() == len(result.quarantine)
    assert counts["late"] == len(result.late)
    if option["mode"] == "append" and option["allowed_lateness"] == "0s" and option["final"]:
        # Each window is emitted exactly once, with all its records.
        assert result.windows["count"].sum() == counts["aggregated"]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@FAST
@given(streams(), options, st.integers(0, 2**32 - 1))
def test_rule_3_row_order_changes_no_output(frame: pd.DataFrame, option: dict[str, Any], seed: int) -> None:
    config = config_of(option)
    shuffled = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    result, state = process(frame, config)
    again, state_again = process(shuffled, config)
    pd.testing.assert_frame_equal(result.windows, again.windows)
    pd.testing.assert_frame_equal(result.counts, again.counts)
    pd.testing.assert_frame_equal(_sorted(result.late), _sorted(again.late))
    pd.testing.assert_frame_equal(_sorted(result.quarantine), _sorted(again.quarantine))
    assert state.watermark == state_again.watermark
    pd.testing.assert_frame_equal(state.windows, state_again.windows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), options, st.integers(0, 12))
def test_rule_10_two_runs_with_the_state_store_equal_one(frame: pd.DataFrame, option: dict[str, Any],
                                                          split: int) -> None:
    whole, _ = process(frame, config_of(option))
    batch = (frame["ingest_time"] - T0) // MINUTE
    first, second = frame[batch < split], frame[batch >= split]
    with tempfile.TemporaryDirectory() as directory:
        store = StateStore(directory, config_of(option, final=False, state_dir=directory))
        assert store.load() is None
        one, state = process(first, config_of(option, final=False, state_dir=directory))
        store.save(state)
        # A fresh store object, as the next run would make.
        two, _ = process(second, config_of(option), StateStore(directory, config_of(option)).load())
    pd.testing.assert_frame_equal(pd.concat([one.windows, two.windows], ignore_index=True), whole.windows)
    pd.testing.assert_frame_equal(_sorted(pd.concat([one.late, two.late])), _sorted(whole.late))
    assert one.counts["aggregated"].iloc[0] + two.counts["aggregated"].iloc[0] == whole.counts["aggregated"].iloc[0]


@FAST
@given(streams(), options)
def test_rule_6_the_watermark_never_decreases(frame: pd.DataFrame, option: dict[str, Any]) -> None:
    result, state = process(frame, config_of(option))
    marks = result.windows.loc[result.windows["emit_kind"] != "flush", "emit_watermark"]
    assert marks.is_monotonic_increasing  # output rows come in batch order
    judged = result.late.assign(batch=(result.late["ingest_time"] - T0) // MINUTE).sort_values("batch", kind="stable")
    assert judged["watermark"].is_monotonic_increasing
    if len(marks):
        assert state.watermark is not None and state.watermark >= marks.iloc[-1].value


@FAST
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-10**12, 10**12)), min_size=1, max_size=30),
       st.integers(0, 10**11), st.none() | st.integers(-10**12, 10**12))
def test_rule_6_watermark_sequence(records: list[tuple[int, int]], delay: int, start: int | None) -> None:
    position = np.array([p for p, _ in records], dtype=np.int64)
    event = np.array([e for _, e in records], dtype=np.int64)
    batches = int(position.max()) + 1
    marks = watermarks(event, position, batches, delay, start)
    assert (marks[1:] >= marks[:-1]).all()
    mark = start
    for k in range(batches):  # W(k) = max(W(k-1), max event time of batch k - delay); empty batches keep W
        if (position == k).any():
            newest = int(event[position == k].max()) - delay
            mark = newest if mark is None else max(mark, newest)
        if mark is not None:
            assert marks[k] == mark


@pytest.mark.parametrize("mode", ["append", "update"])
def test_rule_10_split_inside_a_run_of_empty_batches(mode: str) -> None:
    # A run that ends with a window still open and a second run that closes it (hand-checked).
    frame = pd.DataFrame({"device_id": ["a", "a"], "event_time": [T0 + pd.Timedelta("10s"), T0 + 5 * MINUTE],
                          "ingest_time": [T0, T0 + 5 * MINUTE], "seq": [0, 1], "value": [1.0, 2.0],
                          "tag": ["x", None]})
    option = {"size": "1min", "watermark": "2min", "allowed_lateness": "0s", "mode": mode, "final": True}
    whole, _ = process(frame, config_of(option))
    one, state = process(frame.iloc[:1], config_of(option, final=False))
    assert one.windows.empty if mode == "append" else len(one.windows) == 1
    assert len(state.windows) == 1
    two, _ = process(frame.iloc[1:], config_of(option), state)
    pd.testing.assert_frame_equal(pd.concat([one.windows, two.windows], ignore_index=True), whole.windows)
