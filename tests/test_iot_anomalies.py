"""Temperature anomalies and their precision/recall against a plain reading of step 6 (details 13, 14)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_iot.anomalies import check_settings, precision_recall, score

from kernel import StepSettingsError

T0 = pd.Timestamp("2024-03-01", tz="UTC")
MIN = pd.Timedelta("1min")


def windows(rows: Sequence[tuple[str, int, float | None]]) -> pd.DataFrame:
    """(device, minute offset, temperature_mean) shaped like window.tumbling's output, in emission order."""
    frame = pd.DataFrame({
        "device_id": pd.Categorical([r[0] for r in rows]),
        "window_start": pd.Series([T0 + r[1] * MIN for r in rows], dtype="datetime64[ns, UTC]"),
        "records": 1,
        "temperature_mean": pd.Series([r[2] for r in rows], dtype="float64"),
    })
    frame["window_end"] = frame["window_start"] + MIN
    return frame


def reference(rows: Sequence[tuple[str, int, float | None]], history: int = 60, minimum: int = 30,
              threshold: float = 4.0) -> dict[tuple[str, int], tuple[float, float, int, float]]:
    """(device, minute) -> (prev_mean, prev_std, prev_n, z) of each flagged window, by the spec's sentences."""
    flagged = {}
    for device in sorted({r[0] for r in rows}):
        mine = sorted((r for r in rows if r[0] == device), key=lambda r: r[1])
        for i, (_, minute, value) in enumerate(mine):
            previous = [r[2] for r in mine[max(0, i - history):i]]  # the previous windows, whatever the gaps
            values = [v for v in previous if v is not None and not math.isnan(v)]
            if value is None or len(values) < minimum:
                continue
            mean, std = statistics.fmean(values), statistics.stdev(values)
            if std == 0:
                continue
            z = (value - mean) / std
            if abs(z) > threshold:
                flagged[(device, minute)] = (mean, std, len(values), z)
    return flagged


def as_dict(anomalies: pd.DataFrame) -> dict[tuple[str, int], tuple[float, float, int, float]]:
    return {(str(r.device_id), int((r.window_start - T0) / MIN)): (r.prev_mean, r.prev_std, r.prev_n, r.z)
            for r in anomalies.itertuples()}


def assert_same(got: Mapping[Any, Sequence[float]], expected: Mapping[Any, Sequence[float]]) -> None:
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-9)


def scenario() -> list[tuple[str, int, float | None]]:
    rows: list[tuple[str, int, float | None]] = []
    # a: 40 normal windows with gaps (every other minute) and a null mean among them, then a spike, then normal.
    for i in range(40):
        j = i if i < 7 else i - 1  # the 39 non-null means are 20, 20.5, 21 thirteen times each
        rows.append(("a", 2 * i, None if i == 7 else 20.0 + 0.5 * (j % 3)))
    rows += [("a", 100, 35.0), ("a", 101, 20.5)]
    # b: a constant history (zero deviation) then a jump: never flagged.
    rows += [("b", i, 21.0) for i in range(40)] + [("b", 40, 30.0)]
    # c: a spike after only 29 non-null means (30 windows, one null): not enough history.
    rows += [("c", i, None if i == 3 else 20.0 + (i % 2)) for i in range(30)] + [("c", 30, 90.0)]
    # d: 10 hot windows, then 60 cool ones: the 71st only sees the cool ones (60 windows of history).
    rows += [("d", i, 80.0) for i in range(10)] + [("d", 10 + i, 10.0 + (i % 4)) for i in range(60)]
    rows += [("d", 70, 40.0), ("d", 71, None)]
    # e, f: 31 means of mean 20 and std exactly 1 (15 x 21, 15 x 19, one 20); e's 24 is z = 4, not above it.
    for device, spike in (("e", 24.0), ("f", 24.01)):
        rows += [(device, 0, 20.0)] + [(device, 1 + i, 21.0 if i % 2 else 19.0) for i in range(30)]
        rows.append((device, 31, spike))
    return rows


def test_scenario_matches_the_reference_and_the_hand_figures() -> None:
    rows = scenario()
    frame = windows(rows[::-1])  # emission order is not the device's order
    anomalies, scored = score(frame, 60, 30, 4.0)
    assert_same(as_dict(anomalies), reference(rows))
    # By hand: a's history is 39 means, 20, 20.5, 21 thirteen times each: mean 20.5, squared deviations
    # 13 * (0.25 + 0 + 0.25) = 6.5, std sqrt(6.5 / 38) = 0.4136, z = (35 - 20.5) / 0.4136 = 35.06.
    a = anomalies[anomalies["device_id"] == "a"].iloc[0]
    assert (a["prev_n"], a["prev_mean"]) == (39, pytest.approx(20.5))
    assert a["prev_std"] == pytest.approx(math.sqrt(6.5 / 38))
    assert a["z"] == pytest.approx(14.5 / math.sqrt(6.5 / 38))
    # b: zero deviation; c: 29 means only; e: |z| = 4 exactly (the rule is strict)
    assert set(anomalies["device_id"]) == {"a", "d", "f"}
    d = anomalies[anomalies["device_id"] == "d"].iloc[0]
    assert (d["prev_n"], d["prev_mean"]) == (60, pytest.approx(11.5))
    assert list(anomalies.columns) == ["device_id", "window_start", "temperature_mean", "prev_mean", "prev_std",
                                       "prev_n", "z"]
    # Scored: the windows with a non-null mean and at least 30 non-null means before them.
    assert scored == sum(1 for _ in _scored(rows))


def _scored(rows: Sequence[tuple[str, int, float | None]]) -> list[tuple[str, int]]:
    out = []
    for device in {r[0] for r in rows}:
        mine = sorted((r for r in rows if r[0] == device), key=lambda r: r[1])
        for i, r in enumerate(mine):
            previous = [p for p in mine[max(0, i - 60):i] if p[2] is not None]
            if r[2] is not None and len(previous) >= 30:
                out.append((device, r[1]))
    return out


def test_precision_and_recall_against_the_truth() -> None:
    anomalies, scored = score(windows(scenario()), 60, 30, 4.0)
    truth = pd.DataFrame({
        "device_id": ["a", "x", "x"],   # x's spiked records arrived late: no window, still in recall's denominator
        "minute": pd.Series([T0 + 100 * MIN, T0 + 5 * MIN, T0 + 5 * MIN], dtype="datetime64[ms, UTC]"),
    })
    row = precision_recall(anomalies, truth, scored).iloc[0]
    # 3 anomalies (a@100, d@70, f@31); 1 of them true; 2 distinct truth minutes.
    assert (row["anomalies"], row["true_positives"], row["truth_minutes"]) == (3, 1, 2)
    assert row["precision"] == pytest.approx(1 / 3) and row["recall"] == pytest.approx(1 / 2)
    empty = truth.iloc[:0]
    none = precision_recall(anomalies, empty, scored).iloc[0]
    assert pd.isna(none["precision"]) and pd.isna(none["recall"]) and none["truth_minutes"] == 0


def test_settings_are_checked() -> None:
    with pytest.raises(StepSettingsError, match="anomaly_min_history"):
        check_settings(60, 1, 4.0)
    with pytest.raises(StepSettingsError, match="anomaly_history"):
        check_settings(10, 30, 4.0)


values = st.none() | st.sampled_from([10.0, 10.5, 11.0]) | st.floats(-50, 80, allow_nan=False).map(
    lambda v: round(v, 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("pq"), values), max_size=60), st.integers(3, 8), st.integers(2, 3))
def test_random_series_agree_with_the_reference(series: list[tuple[str, float | None]], history: int,
                                                minimum: int) -> None:
    rows: list[tuple[str, int, float | None]] = [(d, i, v) for i, (d, v) in enumerate(series)]
    anomalies, _ = score(windows(rows), history, minimum, 2.0)
    assert_same(as_dict(anomalies), reference(rows, history, minimum, 2.0))


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_non_finite_mean_is_missing_and_never_flags(bad: float) -> None:
    rows: list[tuple[str, int, float | None]] = [("a", i, 20.0 + (i % 3) * 0.5) for i in range(40)]
    with_bad = [*rows[:35], ("a", 35, bad), *rows[36:], ("a", 40, bad), ("a", 41, 35.0)]
    as_missing = [*rows[:35], ("a", 35, None), *rows[36:], ("a", 40, None), ("a", 41, 35.0)]
    anomalies, scored = score(windows(with_bad), 60, 30, 4.0)
    expected, expected_scored = score(windows(as_missing), 60, 30, 4.0)
    pd.testing.assert_frame_equal(anomalies.drop(columns="temperature_mean"),
                                  expected.drop(columns="temperature_mean"))
    assert scored == expected_scored
    assert anomalies["window_start"].tolist() == [T0 + 41 * MIN]  # the 35.0, judged on a clean history


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("pqrs"), values), min_size=20, max_size=80), st.integers(3, 8),
       st.integers(2, 3), st.integers(1, 12), st.integers(0, 10))
def test_devices_scored_a_block_at_a_time_give_what_all_at_once_gives(
    series: list[tuple[str, float | None]], history: int, minimum: int, block: int, first: int
) -> None:
    import kernel_iot.anomalies

    rows: list[tuple[str, int, float | None]] = [(d, i, v) for i, (d, v) in enumerate(series)]
    frame = windows(rows)
    whole = score(frame, history, minimum, 2.0, first=min(first, len(rows)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel_iot.anomalies, "_BLOCK_ROWS", block)
        blocks = score(frame, history, minimum, 2.0, first=min(first, len(rows)))
    pd.testing.assert_frame_equal(blocks[0], whole[0], check_exact=True)
    assert blocks[1] == whole[1]
