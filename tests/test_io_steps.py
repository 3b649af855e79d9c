"""The io.read and io.write step types: registration, settings, what they do in a run, atomic writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pluggy
import pytest
from kernel_io import formats, plugin, steps
from pydantic import ValidationError

from kernel import DataError, Kernel, StepContext, StepSettingsError, StepType, hookspecs
from kernel.steps import as_step_type


def _type(func: Any) -> StepType:
    spec = as_step_type(func)
    assert spec is not None
    return spec


def test_plugin_registers_its_step_types() -> None:
    pm = pluggy.PluginManager("kernel")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="io")

    (registered,) = pm.hook.register_steps()
    types = {spec.name: spec for spec in map(_type, registered)}

    assert set(types) == {"io.read", "io.write", "io.publish"}
    assert types["io.read"].inputs == ()
    assert types["io.read"].outputs == ("out",)
    assert types["io.write"].inputs is None
    assert types["io.write"].outputs == ()
    assert types["io.publish"].inputs is None
    assert types["io.publish"].outputs == ()


@pytest.mark.parametrize("func", [plugin.READ, plugin.WRITE])
def test_unknown_setting_is_rejected(func: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _type(func).validate_settings({"path": "data.avro", "colums": ["a"]})

    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [("extra_forbidden", ("colums",))]


def test_read_settings_are_passed_with_defaults() -> None:
    assert plugin.READ.validate_settings({"path": "in/*.avro"}) == {
        "path": "in/*.avro", "format": None, "columns": None, "file_column": None, "parse_dates": [], "text": [],
    }


def test_write_settings_settle_the_format_before_the_run() -> None:
    settings = plugin.WRITE.validate_settings({"path": "gold/out.jsonl", "lines": True})

    assert settings["format"] == "json"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"path": "gold/out"}, "cannot infer the format"),
        ({"path": "gold/out.csv", "lines": True}, "lines applies to json, not csv"),
        ({"path": "gold/out.parquet", "avro_schema": {"type": "record"}}, "avro_schema applies to avro"),
        ({"path": "gold/out.avro", "avro_schema": {"type": "record", "name": "R"}}, "not a record with a list of"),
        ({"path": "gold/out.avro", "avro_schema": {"type": "record", "name": "R", "fields": [{"name": "a"}]}},
         "avro_schema: not a valid Avro schema"),
        ({"path": "gold/out.avro", "format": "xml"}, "avro', 'json', 'csv' or 'parquet'"),
    ],
)
def test_inconsistent_write_settings_are_rejected(settings: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        plugin.WRITE.validate_settings(settings)


def test_read_and_write_steps_report_the_datasets(tmp_path: Path) -> None:
    formats.write_frame(pd.DataFrame({"seq": [1, 2]}), tmp_path / "in.csv")
    ctx = StepContext(run_id="r", step="s", run_dir=tmp_path)

    frame = steps.read({}, path=str(tmp_path / "in.csv"), ctx=ctx)["out"]
    assert steps.write({"frame": frame}, path=str(tmp_path / "out.parquet"), ctx=ctx) == {}

    assert pd.read_parquet(tmp_path / "out.parquet").equals(frame)
    assert [(d.mode, d.format, d.rows, d.columns) for d in ctx.datasets] == [
        ("read", "csv", 2, {"seq": "int64"}), ("write", "parquet", 2, {"seq": "int64"}),
    ]


def test_write_takes_exactly_one_input(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})

    with pytest.raises(StepSettingsError, match=r"exactly one input, got 2 \(a, b\)"):
        steps.write({"a": frame, "b": frame}, path=str(tmp_path / "out.csv"))


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "out.parquet")


def test_a_write_that_fails_half_way_leaves_the_previous_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.parquet"
    formats.write_frame(pd.DataFrame({"v": ["old"]}), target)
    before = target.read_bytes()

    def crash(frame: pd.DataFrame, out: Path) -> None:
        out.write_bytes(b"PAR1 half of a new file")
        raise OSError("disk full")

    monkeypatch.setattr(formats, "write_parquet", crash)
    with pytest.raises(OSError, match="disk full"):
        steps.write({"frame": pd.DataFrame({"v": ["new"]})}, path=str(target))

    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_write_refused_for_its_data_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out.avro"
    formats.write_frame(pd.DataFrame({"v": [1]}), target)
    before = target.read_bytes()

    with pytest.raises(DataError, match="column 'span'"):
        formats.write_frame(pd.DataFrame({"span": pd.to_timedelta([1], unit="s")}), target)

    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.avro"]


def test_a_pipeline_reads_and_writes_through_the_kernel(tmp_path: Path) -> None:
    (tmp_path / "devices.json").write_text('[{"device_id": "d1", "installed_at": "2024-01-01T00:00:00"}]')
    (tmp_path / "pipeline.yaml").write_text(
        "name: copy\n"
        "steps:\n"
        "  - name: load\n"
        "    uses: io.read\n"
        "    settings: {path: '${pipeline.dir}/devices.json', parse_dates: [installed_at]}\n"
        "  - name: save\n"
        "    uses: io.write\n"
        "    needs: {frame: load}\n"
        "    settings: {path: '${pipeline.dir}/gold/devices.parquet'}\n"
    )
    result = Kernel(plugins=[("io", plugin)], entry_points=False).run(tmp_path / "pipeline.yaml",
                                                                      run_dir=tmp_path / "run")

    assert result.record.status == "succeeded"
    written = pd.read_parquet(tmp_path / "gold" / "devices.parquet")
    assert written["installed_at"].tolist() == [pd.Timestamp("2024-01-01", tz="UTC")]


def test_an_unknown_setting_stops_the_pipeline_before_it_runs(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "name: bad\nsteps:\n  - name: load\n    uses: io.read\n    settings: {path: x.avro, colums: [a]}\n"
    )
    kernel = Kernel(plugins=[("io", plugin)], entry_points=False)

    with pytest.raises(StepSettingsError, match=r"step 'load': field 'settings.colums': unknown setting"):
        kernel.plan(kernel.load(tmp_path / "pipeline.yaml"))
