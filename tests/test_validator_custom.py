"""Check types other plugins register through the validator's ``register_checks`` hook."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline
from kernel_validator.checktype import CheckType, FrameResult
from pydantic import BaseModel, ConfigDict
from validator_support import StepsPlugin, by_id, make_kernel, run, source

from kernel import Kernel, PipelineError, PluginError, hookimpl


class AtLeast(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    value: float


def at_least(frame: pd.DataFrame, settings: AtLeast) -> pd.Series[Any]:
    values = frame[settings.column]
    return (values >= settings.value).astype("boolean").mask(values.isna())  # nulls are not checked


class Devices(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int


def distinct_devices(frame: pd.DataFrame, settings: Devices) -> FrameResult:
    found = int(frame["device_id"].nunique())
    return FrameResult(found == settings.count, f"{found} devices", {"devices": found}, rows_checked=len(frame))


class ChecksPlugin:
    """A third-party plugin adding two check types."""

    @hookimpl(optionalhook=True)
    def register_checks(self) -> list[CheckType]:
        return [
            CheckType("acme.at_least", AtLeast, at_least, reason=lambda s: f"{s.column} below {s.value:g}"),
            CheckType("acme.devices", Devices, distinct_devices, per_row=False),
        ]


def test_a_custom_row_check_counts_failing_rows_and_reports_values(tmp_path: Path) -> None:
    check = {"check": "acme.at_least", "column": "uptime", "value": 0.4, "severity": "warn"}
    result, validation = run(tmp_path, [source([check])], kernel=make_kernel(("acme", ChecksPlugin())))
    assert result.ok and validation is not None
    (got,) = validation["checks"]
    assert (got["id"], got["rows_checked"], got["rows_failed"], got["failing_values"]) == (
        "src.out.acme.at_least(uptime)", 3, 1, [-0.1],
    )
    assert got["message"] == "1 of 3 rows failed (33.33%): uptime below 0.4"


def test_a_custom_check_can_quarantine_and_gate(tmp_path: Path) -> None:
    checks = [
        {"check": "acme.at_least", "column": "uptime", "value": 0, "on_fail": "quarantine"},
        {"check": "acme.devices", "count": 3},
    ]
    result, validation = run(tmp_path, [source(checks)], kernel=make_kernel(("acme", ChecksPlugin())))
    assert validation is not None
    results = by_id(validation)
    assert results["src.out.acme.devices"]["observed"] == {"devices": 2}
    assert result.record.error == (
        "step 'src' blocked: check 'src.out.acme.devices' failed: failed acme.devices: 2 devices"
    )
    quarantined = pd.read_parquet(result.run.run_dir / "quarantine" / "src.out.parquet")
    assert quarantined["reason"].tolist() == ["uptime below 0"]


def test_a_plugin_can_register_a_check_without_importing_the_validator(tmp_path: Path) -> None:
    class Plain:
        @hookimpl(optionalhook=True)
        def register_checks(self) -> list[object]:
            return [SimpleNamespace(name="plain.positive", settings=AtLeast, func=at_least)]

    check = {"check": "plain.positive", "column": "uptime", "value": 0, "severity": "warn"}
    _, validation = run(tmp_path, [source([check])], kernel=make_kernel(("plain", Plain())))
    assert validation is not None and validation["checks"][0]["rows_failed"] == 1


def test_custom_settings_are_validated_with_the_plan(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [source([{"check": "acme.at_least", "column": "uptime", "valu": 1}])])
    kernel = make_kernel(("acme", ChecksPlugin()))
    with pytest.raises(PipelineError, match=r"field 'checks.0.valu': unknown field; did you mean 'value'\?"):
        kernel.plan(kernel.load(path))


def test_the_checks_of_a_disabled_plugin_are_unknown(tmp_path: Path) -> None:
    steps = [source([{"check": "acme.at_least", "column": "uptime", "value": 1}])]
    path = write_pipeline(tmp_path, steps, plugins={"disable": ["acme"]})
    kernel = make_kernel(("acme", ChecksPlugin()))
    with pytest.raises(PipelineError, match=r"unknown check 'acme.at_least'"):
        kernel.plan(kernel.load(path))


def test_a_kernel_without_the_validator_still_loads_a_check_plugin(tmp_path: Path) -> None:
    kernel = Kernel(entry_points=False, plugins=[("vt", StepsPlugin()), ("acme", ChecksPlugin())])
    plain = {k: v for k, v in source([]).items() if k != "checks"}
    result, validation = run(tmp_path, [plain], kernel=kernel)
    assert result.ok and validation is None
    # Without the validator nobody adds `checks`: declared checks are refused, never silently not run.
    steps = [source([{"check": "acme.at_least", "column": "uptime", "value": 1}])]
    with pytest.raises(PipelineError, match="field 'checks': unknown field"):
        run(tmp_path, steps, kernel=kernel)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (["not a check"], "plugin 'bad': register_checks returned 'not a check', not a CheckType"),
        ([CheckType("unique", AtLeast, at_least)], "plugin 'bad': check type 'unique' is already registered by"),
        ([CheckType("Bad Name", AtLeast, at_least)], "plugin 'bad': check type name 'Bad Name' is not lower_case"),
    ],
)
def test_a_bad_registration_is_an_error_naming_the_plugin(tmp_path: Path, returned: list[Any], message: str) -> None:
    class Bad:
        @hookimpl(optionalhook=True)
        def register_checks(self) -> list[Any]:
            return returned

    path = write_pipeline(tmp_path, [source([])])
    kernel = make_kernel(("bad", Bad()))
    with pytest.raises(PluginError, match=message):
        kernel.plan(kernel.load(path))


def test_a_custom_check_that_raises_fails_with_the_error(tmp_path: Path) -> None:
    def broken(frame: pd.DataFrame, settings: AtLeast) -> pd.Series[Any]:
        raise ZeroDivisionError("no rows to divide by")

    class Broken:
        @hookimpl(optionalhook=True)
        def register_checks(self) -> list[CheckType]:
            return [CheckType("acme.broken", AtLeast, broken)]

    check = {"check": "acme.broken", "column": "uptime", "value": 1, "severity": "warn"}
    result, validation = run(tmp_path, [source([check])], kernel=make_kernel(("acme", Broken())))
    assert result.ok and validation is not None
    (got,) = validation["checks"]
    assert got["passed"] is False and got["rows_checked"] is None
    assert got["message"] == (
        "failed acme.broken: not evaluated: the check raised ZeroDivisionError: no rows to divide by"
    )
