"""``iot.anomalies`` with a ``state_dir``: windows arriving batch by batch (a stream) are scored as one run
over all of them would score them, against a plain reading of the rule; a batch run again after a kill past
its commit is a redo; a history kept for another length is refused."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_iot.anomalies import anomalies
from test_iot_anomalies import as_dict, assert_same, reference, scenario, windows

from kernel import DataError

Rows = list[tuple[str, int, float | None]]


def in_batches(rows: Rows, cuts: list[int], state: Path, **settings: Any) -> pd.DataFrame:
    """The windows in emission order (by window start, as the watermark closes them), cut at ``cuts``, each
    piece one call of the step with the same store; every anomaly found."""
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    bounds = [0, *sorted(set(cuts)), len(ordered)]
    found = [anomalies({"windows": windows(ordered[a:b])}, state_dir=str(state), **settings)["anomalies"]
             for a, b in itertools.pairwise(bounds) if b > a]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def test_the_scenario_cut_into_batches_flags_what_one_run_flags(tmp_path: Path) -> None:
    rows = scenario()
    got = in_batches(rows, [10, 50, 51, 120, 200], tmp_path / "state")
    assert_same(as_dict(got), reference(rows))
    assert set(got["device_id"].astype(str)) == {"a", "d", "f"}
    manifest = json.loads((tmp_path / "state" / "manifest.json").read_text())
    assert manifest["history_rows"] == 60 and manifest["history"]["rows"] <= 60 * 6  # at most 60 per device


values = st.none() | st.sampled_from([10.0, 10.5, 11.0]) | st.floats(-50, 80, allow_nan=False)


@st.composite
def streams(draw: st.DrawFn) -> tuple[Rows, list[int]]:
    rows: Rows = []
    for device in ("a", "b", "c")[: draw(st.integers(1, 3))]:
        minute = 0
        for value in draw(st.lists(values, min_size=0, max_size=90)):
            minute += draw(st.integers(1, 3))  # gaps between a device's windows
            rows.append((device, minute, value))
    cuts = draw(st.lists(st.integers(0, max(len(rows), 1)), max_size=6))
    return rows, cuts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(streams())
def test_any_cut_into_batches_flags_what_the_rule_flags_over_all_windows(tmp_path: Path,
                                                                        case: tuple[Rows, list[int]]) -> None:
    rows, cuts = case
    state = tmp_path / f"state-{abs(hash(repr(case)))}"
    got = in_batches(rows, cuts, state, history=12, min_history=5, threshold=2.0)
    assert_same(as_dict(got) if len(got) else {}, reference(rows, history=12, minimum=5, threshold=2.0))


def test_a_batch_run_again_after_its_commit_is_a_redo(tmp_path: Path) -> None:
    rows = sorted(scenario(), key=lambda r: (r[1], r[0]))
    first, second = windows(rows[:100]), windows(rows[100:])
    state = str(tmp_path / "state")
    anomalies({"windows": first}, state_dir=state)
    once = anomalies({"windows": second}, state_dir=state)["anomalies"]
    again = anomalies({"windows": second}, state_dir=state)["anomalies"]  # killed after the commit, run again
    pd.testing.assert_frame_equal(again, once)
    assert len(once) == 3


def test_a_history_of_another_length_is_refused(tmp_path: Path) -> None:
    anomalies({"windows": windows(scenario()[:10])}, state_dir=str(tmp_path))
    with pytest.raises(DataError, match="keeps 60 windows per device, not 30"):
        anomalies({"windows": windows(scenario()[10:20])}, state_dir=str(tmp_path), history=30)
