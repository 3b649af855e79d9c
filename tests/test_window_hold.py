"""``hold``: a stream cut into files anywhere (not at batch boundaries), each file one run that keeps the
batches it cannot know complete in the state store, gives what one run over the whole stream gives."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_window import WindowResult
from kernel_window.steps import tumbling
from test_window_properties import assert_agrees
from window_reference import simulate
from window_streams import T0, Case, cases

from kernel import DataError, StepSettingsError

THOROUGH = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MINUTE = pd.Timedelta("1min")


def _run(frame: pd.DataFrame, case: Case, state_dir: Path, **more: Any) -> WindowResult:
    outputs = tumbling({"records": frame}, **{**case.settings, "state_dir": str(state_dir), **more})
    return WindowResult(**outputs)


def _files(case: Case, cuts: list[int]) -> list[pd.DataFrame]:
    """The stream in arrival order (rows without an arrival time where they fall), cut at ``cuts``."""
    ordered = sorted(case.rows, key=lambda r: (r.values["ingest_time"] is None, r.values["ingest_time"] or 0, r.id))
    bounds = [0, *cuts, len(ordered)]
    return [case.frame(ordered[a:b]) for a, b in itertools.pairwise(bounds)]


@THOROUGH
@given(case=cases(by_arrival=True), data=st.data())
def test_files_cut_anywhere_with_hold_newest_agree_with_one_run(
    tmp_path_factory: pytest.TempPathFactory, case: Case, data: st.DataObject
) -> None:
    state_dir = tmp_path_factory.mktemp("state")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(case.rows)), max_size=4), "cuts"))
    results = [_run(f, case, state_dir, final=False, hold="newest") for f in _files(case, cuts)]
    # The end of the stream: a run without records processes what is held, and flushes if the case is final.
    results.append(_run(case.frame([]), case, state_dir, final=case.spec.final))
    for r in results:  # every record of a run is counted, or held for the next one
        c = r.counts.iloc[0]
        held = int(c.get("held", 0))
        assert c["input"] + c.get("carried_in", 0) == c["aggregated"] + c["late"] + c["quarantined"] + held
    results = [WindowResult(r.windows, r.late, r.quarantine, r.counts.drop(columns=["carried_in", "held"],
                                                                           errors="ignore")) for r in results]
    assert_agrees(results, simulate(case.rows, case.spec), case)


def _frame(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """(device, event time, arrival time) as minutes:seconds after T0."""
    def at(text: str) -> pd.Timestamp:
        minutes, seconds = text.split(":")
        return T0 + int(minutes) * MINUTE + pd.Timedelta(seconds=int(seconds))

    return pd.DataFrame({"device_id": [r[0] for r in rows], "event_time": [at(r[1]) for r in rows],
                         "ingest_time": [at(r[2]) for r in rows]})


SETTINGS: dict[str, Any] = {"time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"],
                            "size": "1min", "watermark": "0s", "aggregations": {"records": "count"}}


def _step(frame: pd.DataFrame, state_dir: Path, **more: Any) -> Mapping[str, pd.DataFrame]:
    return tumbling({"records": frame}, **{**SETTINGS, "state_dir": str(state_dir), "final": False, **more})


def test_the_newest_batch_waits_for_the_next_file_and_is_kept_in_the_state_store(tmp_path: Path) -> None:
    # File 1 ends inside the arrival minute 1: that batch may still grow, so it waits.
    one = _step(_frame(("a", "0:10", "0:20"), ("a", "1:05", "1:10")), tmp_path, hold="newest")
    assert one["counts"].iloc[0][["input", "aggregated", "held", "carried_in"]].tolist() == [2, 1, 1, 0]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["held"]["rows"] == 1
    held = pd.read_parquet(tmp_path / manifest["held"]["file"])
    assert held["ingest_time"].tolist() == [T0 + MINUTE + pd.Timedelta("10s")]
    # File 2 brings more of minute 1 and starts minute 2: minute 1 is complete, and with it window 1:00
    # of the held record and the new one together; minute 2 waits.
    two = _step(_frame(("a", "1:30", "1:40"), ("a", "2:05", "2:10")), tmp_path, hold="newest")
    assert two["counts"].iloc[0][["input", "carried_in", "aggregated", "held"]].tolist() == [2, 1, 2, 1]
    assert two["windows"][["window_start", "records"]].values.tolist() == [[T0, 1]]  # W = 1:40 closes 0:00 only
    # No more files: the clock says minute 2 is over, so it is processed, and the window 1:00 closes.
    three = _step(_frame()[:0], tmp_path, hold=(T0 + 3 * MINUTE).isoformat())
    assert three["counts"].iloc[0][["input", "carried_in", "aggregated", "held"]].tolist() == [0, 1, 1, 0]
    assert three["windows"][["window_start", "records"]].values.tolist() == [[T0 + MINUTE, 2]]
    assert json.loads((tmp_path / "manifest.json").read_text())["held"] is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("held-")) == ["held-000002.parquet"]


def test_a_clock_before_the_batch_ends_keeps_it_held(tmp_path: Path) -> None:
    _step(_frame(("a", "0:10", "0:20")), tmp_path, hold=(T0 + 30 * pd.Timedelta("1s")).isoformat())
    again = _step(_frame()[:0], tmp_path, hold=(T0 + 59 * pd.Timedelta("1s")).isoformat())
    assert again["counts"].iloc[0][["carried_in", "aggregated", "held"]].tolist() == [1, 0, 1]


def test_the_same_file_again_is_a_redo_from_the_state_before_it(tmp_path: Path) -> None:
    first = _frame(("a", "0:10", "0:20"), ("a", "1:05", "1:10"))
    _step(first, tmp_path, hold="newest")
    second = _frame(("a", "1:30", "1:40"), ("a", "2:05", "2:10"))
    once = _step(second, tmp_path, hold="newest")
    twice = _step(second, tmp_path, hold="newest")  # a rerun after a kill past the state's commit
    for name in ("windows", "late", "counts"):
        pd.testing.assert_frame_equal(once[name], twice[name])
    # Two runs without records that hold to different times are not the same run.
    _step(_frame()[:0], tmp_path, hold=(T0 + 2 * MINUTE).isoformat())
    later = _step(_frame()[:0], tmp_path, hold=(T0 + 3 * MINUTE).isoformat())
    assert later["counts"].iloc[0]["aggregated"] == 1


def test_a_record_of_a_batch_already_processed_is_refused(tmp_path: Path) -> None:
    _step(_frame(("a", "0:10", "0:20"), ("a", "2:05", "2:10")), tmp_path, hold="newest")
    with pytest.raises(DataError, match="not after"):
        _step(_frame(("a", "0:40", "0:50")), tmp_path, hold="newest")


@pytest.mark.parametrize(("more", "message"), [
    ({"arrival_column": None}, "hold keeps batches of arrival_column back: set arrival_column"),
    ({"final": True}, "a final run processes every batch: hold needs final: false"),
    ({"hold": "soon"}, "'soon' is neither 'newest' nor an arrival time"),
])
def test_hold_is_refused_where_it_cannot_hold(tmp_path: Path, more: dict[str, Any], message: str) -> None:
    with pytest.raises(StepSettingsError, match=message) as caught:
        _step(_frame(("a", "0:10", "0:20")), tmp_path, **{"hold": "newest", **more})
    assert caught.value.field == "settings.hold"
