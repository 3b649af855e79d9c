"""The eight scenarios of windowing.md, each as written there (1-minute windows, 2-minute watermark,
count per key, append mode unless stated). Rows read (after batch, key, window start, count)."""

from __future__ import annotations

from window_support import emitted, late, run, stream


def test_scenario_1_basic_and_flush() -> None:
    result, _ = run(stream([("d1", "00:10"), ("d1", "00:50"), ("d1", "01:05")], [("d1", "03:00")]))
    assert emitted(result) == [(1, "d1", "00:00", 2), ("end", "d1", "01:00", 1), ("end", "d1", "03:00", 1)]
    assert result.windows["emit_watermark"].iloc[0] == result.windows["window_end"].iloc[0]  # W after B1 = 01:00
    assert result.windows["emit_kind"].tolist() == ["watermark", "flush", "flush"]
    assert late(result) == []


def test_scenario_2_order_inside_a_batch() -> None:
    result, _ = run(stream([("d1", "00:10")], [("d1", "03:00"), ("d1", "00:30")]))
    # 00:30 is judged by W(0) = 00:10 - 2min = -1:50, not by W(1) = 01:00, so it is on time.
    assert late(result) == []
    assert emitted(result)[0] == (1, "d1", "00:00", 2)


def test_scenario_3_exact_boundary() -> None:
    result, _ = run(stream([("d1", "03:00")], [("d1", "00:59.999"), ("d1", "01:00")], [("d1", "04:00")]))
    assert late(result) == [("d1", "00:59.999", "00:00", "01:00")]  # we 01:00 <= W 01:00
    assert emitted(result)[0] == (2, "d1", "01:00", 1)  # after B2, W = 02:00
    assert emitted(result)[1:] == [("end", "d1", "03:00", 1), ("end", "d1", "04:00", 1)]


def test_scenario_4_late_within_the_delay() -> None:
    result, _ = run(stream([("d1", "05:00")], [("d1", "03:30"), ("d1", "02:59")], [("d1", "06:00")]))
    assert late(result) == [("d1", "02:59", "02:00", "03:00")]
    assert emitted(result)[0] == (2, "d1", "03:00", 1)  # after B2, W = 04:00
    assert result.windows["emit_watermark"].iloc[0] == result.windows["window_end"].iloc[0]


def test_scenario_5_watermark_never_goes_back() -> None:
    result, _ = run(stream([("d1", "10:00")], [("d1", "09:00")], [("d1", "08:30"), ("d1", "07:59")],
                           [("d1", "12:00")]))
    assert late(result) == [("d1", "07:59", "07:00", "08:00")]  # W stayed 08:00 through B2
    assert emitted(result)[:2] == [(3, "d1", "08:00", 1), (3, "d1", "09:00", 1)]  # after B3, W = 10:00
    assert emitted(result)[2:] == [("end", "d1", "10:00", 1), ("end", "d1", "12:00", 1)]


def test_scenario_6_the_watermark_is_global() -> None:
    result, _ = run(stream([("d1", "00:10"), ("d2", "00:30")], [("d1", "10:00")],
                           [("d2", "01:00"), ("d2", "08:10")], [("d1", "20:00")]))
    rows = emitted(result)
    assert rows[:2] == [(1, "d1", "00:00", 1), (1, "d2", "00:00", 1)]
    # d2 has seen nothing newer than 00:30, yet W = 08:00 comes from d1: its 01:00 is late.
    assert late(result) == [("d2", "01:00", "01:00", "08:00")]
    assert rows[2:4] == [(3, "d2", "08:00", 1), (3, "d1", "10:00", 1)]  # after B3, W = 18:00
    assert rows[4:] == [("end", "d1", "20:00", 1)]


def test_scenario_7_update_mode() -> None:
    frame = stream([("d1", "00:10")], [("d1", "00:20"), ("d1", "01:10")], [("d1", "03:30")], [("d1", "00:40")])
    result, _ = run(frame, mode="update")
    assert emitted(result) == [(0, "d1", "00:00", 1), (1, "d1", "00:00", 2), (1, "d1", "01:00", 1),
                               (2, "d1", "03:00", 1)]
    assert set(result.windows["emit_kind"]) == {"update"}
    # Window 00:00 was dropped at W = 01:30 (after B2), so 00:40 in B3 is late and nothing is emitted.
    assert late(result) == [("d1", "00:40", "00:00", "01:30")]


def test_scenario_8_allowed_lateness() -> None:
    frame = stream([("d1", "00:10")], [("d1", "03:00")], [("d1", "00:20")], [("d1", "04:00")], [("d1", "00:30")])
    result, _ = run(frame, allowed_lateness="1min")
    rows = emitted(result)
    assert rows[:2] == [(1, "d1", "00:00", 1), (2, "d1", "00:00", 2)]  # B1: emit; B2: re-emit (upsert)
    assert result.windows["emit_kind"].tolist()[:2] == ["watermark", "upsert"]
    # B3 (W = 02:00 = 01:00 + 1min) drops the state of 00:00, so B4's 00:30 is late.
    assert late(result) == [("d1", "00:30", "00:00", "02:00")]
    assert rows[2:] == [("end", "d1", "03:00", 1), ("end", "d1", "04:00", 1)]
