"""Bad settings and bad input: each is a one-line error naming the setting (or column) to fix; and the
step as a user runs it, through the kernel from a pipeline file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kernel_window import WindowResult
from kernel_window import plugin as window_plugin
from kernel_window.steps import tumbling
from window_support import SPEC_SETTINGS, emitted, stream

from kernel import DataError, KernelError, Outputs, StepSettingsError, hookimpl, step
from kernel.app import Kernel

SCENARIO_1 = stream([("d1", "00:10"), ("d1", "00:50"), ("d1", "01:05")], [("d1", "03:00")])


def call(frame: pd.DataFrame = SCENARIO_1, **settings: Any) -> Outputs:
    return tumbling({"records": frame}, **{**SPEC_SETTINGS, **settings})


def one_line(error: KernelError) -> str:
    text = str(error)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"size": "0s"}, "settings.size", "must be a positive duration"),
    ({"size": "-1min"}, "settings.size", "must be a positive duration"),
    ({"trigger": "0s"}, "settings.trigger", "must be a positive duration"),
    ({"watermark": "soon"}, "settings.watermark", "'soon' is not a duration"),
    ({"watermark": 120}, "settings.watermark", "give a unit, such as '2min'"),
    ({"watermark": "-1min"}, "settings.watermark", "must not be negative"),
    ({"allowed_lateness": "-5s"}, "settings.allowed_lateness", "must not be negative"),
    ({"aggregations": {}}, "settings.aggregations", "name at least one aggregation"),
    ({"aggregations": {"m": "median(v)"}}, "settings.aggregations", "'median(v)' is not an aggregation"),
    ({"aggregations": {"m": "mean"}}, "settings.aggregations", "'mean' needs a column"),
    ({"aggregations": {"window_end": "count"}}, "settings.aggregations", "a column the step adds itself"),
    ({"keys": ["device_id", "device_id"]}, "settings.keys", "listed twice"),
    ({"mode": "complete"}, "settings.mode", "'append' or 'update'"),
    ({"final": False}, "settings", "set state_dir"),
    ({"arrival_column": None}, "settings", "trigger splits arrival_column into batches"),
    ({"windows": "1min"}, "settings.windows", "unknown setting"),
])
def test_bad_settings_name_the_setting(settings: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(StepSettingsError) as caught:
        call(**settings)
    message = one_line(caught.value)
    assert f"field '{field}'" in message and words in message


@pytest.mark.parametrize(("settings", "field", "column"), [
    ({"time_column": "measured_at"}, "settings.time_column", "measured_at"),
    ({"arrival_column": "received"}, "settings.arrival_column", "received"),
    ({"keys": ["device"]}, "settings.keys", "device"),
    ({"aggregations": {"t": "mean(temperature_c)"}}, "settings.aggregations.t", "temperature_c"),
    ({"aggregations": {"l": "last(status)"}, "order_by": ["seq"]}, "settings.aggregations.l", "status"),
])
def test_a_missing_column_names_the_setting(settings: dict[str, Any], field: str, column: str) -> None:
    with pytest.raises(DataError) as caught:
        call(**settings)
    message = one_line(caught.value)
    assert f"field '{field}'" in message and f"column '{column}' is not in the input" in message


def test_a_missing_order_by_column_names_the_setting() -> None:
    frame = SCENARIO_1.assign(status="ONLINE")
    with pytest.raises(DataError, match=r"field 'settings.order_by': column 'seq' is not in the input"):
        call(frame, aggregations={"l": "last(status)"}, order_by=["seq"])


def test_a_time_column_that_is_not_temporal() -> None:
    frame = SCENARIO_1.assign(event_time=range(4))
    with pytest.raises(DataError) as caught:
        call(frame)
    assert one_line(caught.value) == ("field 'settings.time_column': column 'event_time' is not a time column "
                                      "(int64): expected timestamps or ISO-8601 text")


def test_a_sum_of_text() -> None:
    with pytest.raises(DataError, match=r"'settings.aggregations.s': sum needs a numeric column; 'device_id'"):
        call(aggregations={"s": "sum(device_id)"})


def test_an_input_column_the_step_would_overwrite() -> None:
    with pytest.raises(DataError, match="input column 'reason' clashes"):
        call(SCENARIO_1.assign(reason="x"))


def test_text_times_are_parsed_as_iso_8601() -> None:
    frame = SCENARIO_1.assign(event_time=SCENARIO_1["event_time"].map(lambda t: t.isoformat()),
                              ingest_time=SCENARIO_1["ingest_time"].dt.tz_localize(None))  # naive = UTC
    assert emitted(WindowResult(**call(frame))) == emitted(WindowResult(**call()))


# --- through the kernel ---------------------------------------------------------------------------------


@step("test.records", outputs=("records",))
def records(inputs: Any) -> Outputs:
    return {"records": SCENARIO_1}


class Source:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [records]


def pipeline(tmp_path: Path, settings: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"""
name: window_demo
steps:
  - name: source
    uses: test.records
  - name: window
    uses: window.tumbling
    needs: [source.records]
    settings: {settings}
""")
    return path


def kernel() -> Kernel:
    return Kernel(plugins=[("window", window_plugin), ("source", Source())], entry_points=False)


def test_the_step_runs_in_a_pipeline(tmp_path: Path) -> None:
    settings = ("{time_column: event_time, arrival_column: ingest_time, keys: [device_id], size: 1min, "
                "watermark: 2min, aggregations: {count: count}}")
    result = kernel().run(pipeline(tmp_path, settings), runs_root=tmp_path / "runs")
    assert result.ok
    outputs = result.outputs["window"]
    assert sorted(outputs) == ["counts", "late", "quarantine", "windows"]
    assert outputs["windows"]["count"].tolist() == [2, 1, 1]


def test_bad_settings_stop_the_pipeline_before_it_runs(tmp_path: Path) -> None:
    settings = "{time_column: event_time, keys: [device_id], size: 0s, watermark: 2min, aggregations: {n: count}}"
    with pytest.raises(StepSettingsError) as caught:
        kernel().plan(kernel().load(pipeline(tmp_path, settings)))
    message = one_line(caught.value)
    assert "step 'window'" in message and "field 'settings.size'" in message and "positive duration" in message


def test_the_plugin_registers_the_step_type() -> None:
    from kernel.steps import as_step_type

    (declared,) = [as_step_type(item) for item in window_plugin.register_steps()]
    assert declared is not None
    assert (declared.name, declared.inputs, declared.outputs) == (
        "window.tumbling", ("records",), ("windows", "late", "quarantine", "counts"))
    assert declared.loaded().wants_context  # for the run id that makes a re-executed step start from the right state


def test_the_docs_describe_every_setting_column_and_manifest_field(tmp_path: Path) -> None:
    from kernel_window import TumblingSettings
    from kernel_window.columns import LATE_COLUMNS
    from kernel_window.emit import EMIT_KINDS
    from kernel_window.settings import WINDOW_COLUMNS

    text = (Path(__file__).resolve().parents[1] / "docs" / "windowing.md").read_text(encoding="utf-8")
    for setting in TumblingSettings.model_fields:
        assert f"| `{setting}` |" in text, setting
    outputs = call(state_dir=str(tmp_path), final=False)
    names = [*WINDOW_COLUMNS, *LATE_COLUMNS, *EMIT_KINDS, *outputs["counts"].columns]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    names += [*manifest, *manifest["config"]]
    for name in names:
        assert f"`{name}`" in text, name
