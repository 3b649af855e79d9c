"""Properties on generated streams: the step agrees with a record-at-a-time simulator of the rules
(``window_reference``) in one run, in runs split by the state store, and with input frames as batches; it
ignores row order and never moves the watermark back."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_window import WindowResult, WindowState, process
from kernel_window.store import StateStore
from kernel_window.tumbling import watermarks
from window_reference import Outcome, Row, simulate
from window_streams import T0, Case, cases, config_of, emissions, plain, same

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MINUTE = pd.Timedelta("1min")


def _ids(frame: pd.DataFrame) -> list[int]:
    return [int(i) for i in frame["rid"]]


def assert_agrees(results: Sequence[WindowResult], expected: Outcome, case: Case) -> None:
    """The outputs of consecutive runs, together, are what the simulator gives for the whole stream."""
    got = [e for r in results for e in emissions(r.windows, case.spec)]
    assert len(got) == len(expected.emissions), (got, expected.emissions)
    for row, want in zip(got, expected.emissions, strict=True):
        assert same(row, want), f"\n got: {row}\nwant: {want}"
    late = sorted((rid, s.value, w.value) for r in results
                  for rid, s, w in zip(r.late["rid"], r.late["window_start"], r.late["watermark"], strict=True))
    assert late == expected.late
    assert all((r.late["reason"] == "late").all() for r in results)
    quarantine = sorted((int(rid), str(reason)) for r in results
                        for rid, reason in zip(r.quarantine["rid"], r.quarantine["reason"], strict=True))
    assert quarantine == expected.quarantine
    counts = {name: sum(int(r.counts[name].iloc[0]) for r in results) for name in expected.counts}
    counts["open_windows"] = int(results[-1].counts["open_windows"].iloc[0])
    assert counts == expected.counts


def _by_value(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns that are categorical in ``like`` (but ``emit_kind``) as plain objects."""
    out = frame.copy()
    for name in out.columns:
        if name != "emit_kind" and isinstance(like[name].dtype, pd.CategoricalDtype):
            out[name] = pd.Series([plain(v) for v in out[name]], dtype=object, index=out.index)
    return out


def _round_trip(state: WindowState, case: Case, directory: str) -> WindowState:
    """Save ``state`` and load it back with a fresh store, as the next run does."""
    StateStore(directory, case.config(final=False, state_dir=directory)).save(state)
    loaded = StateStore(directory, case.config(final=False, state_dir=directory)).load()
    assert loaded is not None
    return loaded


def run_in_parts(case: Case, parts: Sequence[list[Row]]) -> list[WindowResult]:
    """One run per part, the state going through the state store between runs; the last run is ``final``
    as the case says, the others are not."""
    results: list[WindowResult] = []
    state: WindowState | None = None
    with tempfile.TemporaryDirectory() as directory:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            config = case.config(final=case.spec.final if last else False, state_dir=directory)
            result, state = process(case.frame(part), config, state)
            results.append(result)
            if not last:
                state = _round_trip(state, case, directory)
    return results


@THOROUGH
@given(cases(by_arrival=True))
def test_one_run_agrees_with_the_simulator(case: Case) -> None:
    result, state = process(case.frame(), case.config())
    expected = simulate(case.rows, case.spec)
    assert_agrees([result], expected, case)
    # Outputs keep input order (the frame is in row id order).
    assert _ids(result.late) == sorted(_ids(result.late))
    assert _ids(result.quarantine) == sorted(_ids(result.quarantine))
    if case.spec.final:
        assert state.windows.empty


@THOROUGH
@given(cases(by_arrival=True))
def test_a_frame_given_up_gives_the_same_outputs_and_is_let_go(case: Case) -> None:
    given_up = case.frame()
    result, state = process(given_up, case.config(), consume=True)
    expected, expected_state = process(case.frame(), case.config())
    for got, want in zip(result.outputs().values(), expected.outputs().values(), strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(state.windows, expected_state.windows, check_exact=True)
    assert (state.watermark, state.last_batch) == (expected_state.watermark, expected_state.last_batch)
    assert list(given_up.columns) == []  # every column dropped once read


@THOROUGH
@given(cases(by_arrival=True), st.data())
def test_runs_split_by_the_state_store_agree_with_the_simulator_and_one_run(case: Case, data: st.DataObject) -> None:
    # Rule 10: split at batch boundaries (records without an arrival time have no batch: any run will do).
    trigger = case.spec.trigger
    assert trigger is not None
    batches = sorted({r.values["ingest_time"] // trigger for r in case.rows if r.values["ingest_time"] is not None})
    cuts = sorted(data.draw(st.lists(st.sampled_from(batches), max_size=2, unique=True), "cuts")) if batches else []

    def part_of(row: Row) -> int:
        arrival = row.values["ingest_time"]
        if arrival is None:
            return row.frame % (len(cuts) + 1)
        return sum(arrival // trigger >= cut for cut in cuts)

    parts = [[r for r in case.rows if part_of(r) == i] for i in range(len(cuts) + 1)]
    results = run_in_parts(case, parts)
    assert_agrees(results, simulate(case.rows, case.spec), case)
    whole, _ = process(case.frame(), case.config())
    together = pd.concat([r.windows for r in results], ignore_index=True)
    # The same values with the same dtypes: the state store keeps every partial's type. A categorical's
    # categories are those of each run's input, so categoricals are compared by value.
    pd.testing.assert_frame_equal(_by_value(together, whole.windows), _by_value(whole.windows, whole.windows),
                                  check_exact=False, rtol=1e-9)


@THOROUGH
@given(cases(by_arrival=False))
def test_input_frames_as_batches_agree_with_the_simulator(case: Case) -> None:
    # Without an arrival column each run's frame is a batch, even one whose records are all quarantined;
    # a frame without records is not.
    parts = [[r for r in case.rows if r.frame == f] for f in range(case.frames)]
    results = run_in_parts(case, parts)
    assert_agrees(results, simulate(case.rows, case.spec), case)


@FAST
@given(cases(by_arrival=True), st.integers(0, 2**32 - 1))
def test_rule_3_row_order_changes_no_output(case: Case, seed: int) -> None:
    frame = case.frame()
    config = case.config()
    shuffled = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    result, state = process(frame, config)
    again, state_again = process(shuffled, config)
    pd.testing.assert_frame_equal(result.windows, again.windows, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(result.counts, again.counts)
    for name in ("late", "quarantine"):
        pd.testing.assert_frame_equal(getattr(result, name).sort_values("rid", ignore_index=True),
                                      getattr(again, name).sort_values("rid", ignore_index=True))
    assert state.watermark == state_again.watermark
    pd.testing.assert_frame_equal(state.windows, state_again.windows, check_exact=False, rtol=1e-9)


@FAST
@given(cases(by_arrival=True))
def test_rule_6_the_watermark_never_decreases(case: Case) -> None:
    result, state = process(case.frame(), case.config())
    marks = result.windows.loc[result.windows["emit_kind"] != "flush", "emit_watermark"]
    assert marks.is_monotonic_increasing  # output rows come in batch order
    trigger = pd.Timedelta(case.settings["trigger"])
    judged = result.late.assign(batch=(result.late["ingest_time"] - T0) // trigger).sort_values("batch", kind="stable")
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
                          "ingest_time": [T0, T0 + 5 * MINUTE], "value": [1.0, 2.0]})
    settings: dict[str, Any] = {"time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"],
                                "size": "1min", "watermark": "2min", "mode": mode,
                                "aggregations": {"count": "count", "total": "sum(value)"}}
    whole, _ = process(frame, config_of(settings))
    one, state = process(frame.iloc[:1], config_of(settings, final=False))
    assert one.windows.empty if mode == "append" else len(one.windows) == 1
    assert len(state.windows) == 1
    two, _ = process(frame.iloc[1:], config_of(settings), state)
    pd.testing.assert_frame_equal(pd.concat([one.windows, two.windows], ignore_index=True), whole.windows)
