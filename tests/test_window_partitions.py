"""``window.tumbling`` in parts by its keys gives exactly what the whole step gives: every part shares the
watermark of all the records, and the parts' outputs are put back in the whole step's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_window import process
from kernel_window.steps import combine_parts, shared_marks
from window_streams import Case, cases

from kernel import Kernel, PipelineError
from kernel.partitions import split

THOROUGH = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def in_parts(case: Case, count: int) -> dict[str, pd.DataFrame]:
    """What the kernel does with a step run in parts: share, split by the keys, run each, combine."""
    frame, config = case.frame(), case.config()
    inputs = {"records": frame}
    step_settings = case.settings if case.settings["final"] else {**case.settings, "state_dir": "unused"}
    marks = shared_marks(inputs, step_settings)["marks"]
    parts = [process(part["records"], config, None, marks)[0].outputs()
             for part in split(inputs, config.keys, count)]
    return combine_parts(parts)


def assert_same_outputs(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    assert set(got) == set(want)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)


@THOROUGH
@given(st.one_of(cases(by_arrival=True), cases(by_arrival=False)), st.integers(2, 5))
def test_parts_by_key_give_the_whole_steps_outputs(case: Case, count: int) -> None:
    if not case.settings["keys"]:
        return  # no key to split by: the step runs whole
    whole = process(case.frame(), case.config())[0].outputs()
    assert_same_outputs(in_parts(case, count), whole)


def test_a_device_alone_in_its_part_still_sees_the_watermark_of_every_device() -> None:
    """Device b is quiet after 00:01; the others' records move the watermark past its window, so its
    late record is late in its part too, and its window is emitted after the same batch."""
    t = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [("a", "00:00:10", "00:00:20"), ("b", "00:00:30", "00:00:40"), ("a", "00:05:00", "00:05:10"),
            ("b", "00:00:50", "00:06:00")]
    frame = pd.DataFrame({
        "device": [r[0] for r in rows],
        "event_time": [t + pd.Timedelta(f"{r[1]}") for r in rows],
        "ingest_time": [t + pd.Timedelta(f"{r[2]}") for r in rows],
    })
    step_settings = {"time_column": "event_time", "arrival_column": "ingest_time", "trigger": "1min",
                     "keys": ["device"], "size": "1min", "watermark": "2min", "aggregations": {"n": "count"}}
    from kernel_window.steps import tumbling

    whole = tumbling({"records": frame}, **step_settings)
    shared = shared_marks({"records": frame}, step_settings)
    parts = [tumbling({"records": p["records"]}, **step_settings, **shared)
             for p in split({"records": frame}, ["device"], 2)]
    assert len(parts) == 2
    together = combine_parts(parts)
    assert_same_outputs(together, dict(whole))
    assert together["late"]["device"].tolist() == ["b"]  # 00:00:50 arrives after W passed 00:03


def test_a_window_step_in_parts_runs_through_the_kernel_as_it_runs_whole(tmp_path: Path) -> None:
    import kernel_window.plugin

    frame = pd.DataFrame({
        "device": [f"d{i % 7}" for i in range(300)],
        "event_time": pd.date_range("2024-01-01", periods=300, freq="7s", tz="UTC"),
        "value": range(300),
    })
    frame.to_parquet(tmp_path / "in.parquet")

    def pipeline(parts: dict[str, Any] | None) -> Path:
        window: dict[str, Any] = {"name": "w", "uses": "window.tumbling", "needs": {"records": "read"},
                                  "settings": {"time_column": "event_time", "keys": ["device"], "size": "1min",
                                               "watermark": "30s", "aggregations": {"total": "sum(value)"}}}
        if parts is not None:
            window["partitions"] = parts
        steps = [{"name": "read", "uses": "io.read", "settings": {"path": str(tmp_path / "in.parquet")}}, window]
        return write_pipeline(tmp_path, steps, filename=f"p{parts is not None}.yaml")

    import kernel_io.plugin

    kernel = Kernel(entry_points=False, plugins=[("io", kernel_io.plugin), ("window", kernel_window.plugin)])
    whole = kernel.run(pipeline(None), runs_root=tmp_path / "runs", keep_outputs=True)
    parted = kernel.run(pipeline({"by": ["device"], "count": 3}), runs_root=tmp_path / "runs", keep_outputs=True,
                        executor="threads", workers=2)
    assert parted.ok, parted.record.error
    assert parted.record.steps["w"].partitions == len(split({"records": frame}, ["device"], 3)) > 1
    assert_same_outputs(dict(parted.outputs["w"]), dict(whole.outputs["w"]))
    with pytest.raises(PipelineError, match=r"'value' is not one of settings\.keys"):
        kernel.run(pipeline({"by": ["value"], "count": 3}), runs_root=tmp_path / "runs")
