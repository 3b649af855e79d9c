"""One or more tests per numbered rule of windowing.md, with expectations worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kernel_window import tumbling as tumbling_module
from window_support import MINUTE, T0, at, clock, emitted, late, run, stream

from kernel import DataError


def _frame_mode(times: list[str], **columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"device_id": ["d1"] * len(times), "event_time": times, **columns})


def test_rule_1_windows_are_epoch_aligned_and_half_open() -> None:
    # 2024-01-01T00:00Z is 28,401,120 minutes after the epoch; 28,401,120 = 7 * 4,057,302 + 6, so the
    # 7-minute window holding it started 6 minutes earlier, at 23:54 the day before, and ends at 00:01.
    frame = _frame_mode(["2024-01-01T00:00:30Z", "2024-01-01T02:00:59.999+02:00", "2024-01-01T00:01:00Z"])
    result, _ = run(frame, arrival_column=None, trigger=None, size="7min")
    assert result.windows["window_start"].tolist() == [pd.Timestamp("2023-12-31T23:54Z"),
                                                       pd.Timestamp("2024-01-01T00:01Z")]
    assert result.windows["window_end"].tolist() == [pd.Timestamp("2024-01-01T00:01Z"),
                                                     pd.Timestamp("2024-01-01T00:08Z")]
    assert result.windows["count"].tolist() == [2, 1]  # 00:01:00 exactly belongs to the next window


def test_rule_1_floor_before_the_epoch() -> None:
    result, _ = run(_frame_mode(["1969-12-31T23:59:30Z"]), arrival_column=None, trigger=None)
    assert result.windows["window_start"].tolist() == [pd.Timestamp("1969-12-31T23:59Z")]


def test_rule_2_bad_event_time_is_quarantined_not_late() -> None:
    frame = stream([("d1", "05:00")], [("d1", "04:00")]).astype({"event_time": object})
    bad = pd.DataFrame({"device_id": ["d2", "d3"], "event_time": [None, "yesterday"],
                        "ingest_time": [T0, T0 + MINUTE]})
    frame = pd.concat([frame, bad], ignore_index=True)
    result, _ = run(frame)
    assert result.quarantine["device_id"].tolist() == ["d2", "d3"]
    assert result.quarantine["reason"].tolist() == ["bad_event_time", "bad_event_time"]
    assert late(result) == []  # neither is late, and neither moved the watermark
    assert result.counts[["input", "aggregated", "late", "quarantined"]].iloc[0].tolist() == [4, 2, 0, 2]


def test_rule_2_a_missing_arrival_time_is_quarantined_too() -> None:
    frame = stream([("d1", "00:10"), ("d2", "00:20")])
    frame.loc[1, "ingest_time"] = pd.NaT
    result, _ = run(frame)
    assert result.quarantine["reason"].tolist() == ["bad_arrival_time"]
    assert emitted(result) == [("end", "d1", "00:00", 1)]


def test_rule_3_batches_are_taken_in_batch_id_order_whatever_the_row_order() -> None:
    frame = stream([("d1", "05:00")], [("d1", "03:30"), ("d1", "02:59")], [("d1", "06:00")])
    forward, _ = run(frame)
    backward, _ = run(frame.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(forward.windows, backward.windows)
    assert late(backward) == late(forward) == [("d1", "02:59", "02:00", "03:00")]


def test_rule_4_late_means_window_end_plus_lateness_at_or_before_the_previous_watermark() -> None:
    # W(0) = 05:00 - 2min = 03:00. With 1min of allowed lateness, window 01:00 (end 02:00) is at the
    # limit (02:00 + 1min <= 03:00: late) and window 02:00 (end 03:00) is not (04:00 > 03:00).
    result, _ = run(stream([("d1", "05:00")], [("d1", "01:59"), ("d1", "02:00")]), allowed_lateness="1min")
    assert late(result) == [("d1", "01:59", "01:00", "03:00")]
    assert (1, "d1", "02:00", 1) in emitted(result)  # on time, and already due: emitted after B1


def test_rule_5_late_records_keep_their_columns_and_are_not_aggregated() -> None:
    frame = stream([("d1", "05:00")], [("d1", "02:30"), ("d1", "03:10")])
    frame["temperature_c"] = [20.0, 99.0, 21.0]
    result, _ = run(frame, aggregations={"count": "count", "hottest": "max(temperature_c)"})
    assert result.late.columns.tolist() == [*frame.columns, "window_start", "watermark", "reason"]
    row = result.late.iloc[0]
    assert (row["temperature_c"], clock(row["window_start"]), clock(row["watermark"]), row["reason"]) == \
        (99.0, "02:00", "03:00", "late")
    assert 99.0 not in result.windows["hottest"].tolist()
    assert result.counts["late"].iloc[0] == 1


def test_rule_6_the_watermark_trails_the_newest_event_time_across_keys() -> None:
    result, state = run(stream([("d1", "00:10"), ("d2", "07:30")], [("d1", "01:00")]), final=False,
                        state_dir="unused")
    # W(0) = 07:30 - 2min = 05:30, set by d2 and applied to d1; B1's older record leaves it there.
    assert state.watermark == at("05:30").value
    assert [clock(w) for w in result.windows["emit_watermark"]] == ["05:30"]
    assert late(result) == [("d1", "01:00", "01:00", "05:30")]


def test_rule_7_append_emits_each_window_once_when_the_watermark_passes_its_end() -> None:
    result, _ = run(stream([("d1", "00:10")], [("d1", "00:40"), ("d1", "02:30")], [("d1", "03:05")]))
    # W: -1:50, 00:30, 01:05. Window 00:00 is due after B2 only, with both of its records.
    assert emitted(result)[0] == (2, "d1", "00:00", 2)
    assert result.windows.duplicated(["device_id", "window_start"]).sum() == 0


def test_rule_8_window_state_is_dropped_once_end_plus_lateness_reaches_the_watermark() -> None:
    frame = stream([("d1", "00:10"), ("d1", "01:10"), ("d1", "02:10"), ("d1", "03:10")], [("d1", "05:30")])
    _, state = run(frame, allowed_lateness="1min", final=False, state_dir="unused")
    # W(1) = 03:30: 00:00 (02:00 <= 03:30) and 01:00 (03:00 <= 03:30) are gone; 02:00 stays until 04:00.
    kept = state.windows
    assert [clock(pd.Timestamp(ns, tz="UTC")) for ns in kept["window_start"]] == ["02:00", "03:00", "05:00"]
    assert kept["emitted"].tolist() == [True, False, False]  # 02:00 was emitted at W 03:30, and may update


def test_rule_9_no_empty_windows() -> None:
    result, _ = run(stream([("d1", "00:10")], [("d1", "05:10")]))
    assert [clock(s) for s in result.windows["window_start"]] == ["00:00", "05:00"]


def test_rule_10_final_flushes_every_open_window_and_update_mode_adds_nothing() -> None:
    frame = stream([("d1", "00:10"), ("d2", "00:20")], [("d1", "01:30")])
    appended, _ = run(frame)
    assert [row[0] for row in emitted(appended)] == ["end", "end", "end"]
    updated, _ = run(frame, mode="update")
    assert "flush" not in set(updated.windows["emit_kind"])
    kept, state = run(frame, final=False, state_dir="unused")
    assert kept.windows.empty and len(state.windows) == 3


def test_rule_11_counts_are_reported() -> None:
    frame = stream([("d1", "05:00")], [("d1", "02:30"), ("d1", "03:10")])
    frame.loc[3] = ["d1", pd.NaT, T0]
    result, _ = run(frame)
    assert result.counts.iloc[0][["input", "aggregated", "late", "quarantined"]].tolist() == [4, 2, 1, 1]


def test_rule_11_a_run_whose_counts_do_not_add_up_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tumbling_module.reduce_segments

    def lose_one(*args: object, **kwargs: object) -> dict[str, object]:
        partial = real(*args, **kwargs)  # type: ignore[arg-type]
        partial["n"] = np.maximum(np.asarray(partial["n"]) - 1, 0)
        return partial

    monkeypatch.setattr(tumbling_module, "reduce_segments", lose_one)
    with pytest.raises(DataError, match="not conserved: 1 in, but 0 aggregated"):
        run(stream([("d1", "00:10")]))
