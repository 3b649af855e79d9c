"""Checks that cannot run are refused when the pipeline is planned, in one line naming step and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import write_pipeline
from validator_support import make_kernel, source

from kernel import PipelineError


def refused(tmp_path: Path, steps: list[dict[str, Any]], **extra: Any) -> str:
    path = write_pipeline(tmp_path, steps, **extra)
    kernel = make_kernel()
    with pytest.raises(PipelineError) as caught:
        kernel.run(path, runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # refused before anything ran
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: plugin 'validator': ")
    return message.split("plugin 'validator': ", 1)[1]


def two_steps(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        source([], name="registry"),
        source([]),
        {"name": "window", "uses": "vt.window", "needs": ["src"], "settings": {"late_before": "2024-01-02"},
         "checks": checks},
    ]


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ({"check": "uniqe", "column": "x"}, "field 'checks.0.check': unknown check 'uniqe'; did you mean unique?"),
        ({"column": "x"}, "field 'checks.0.check': required: the kind of check (one of foreign_key, freshness,"),
        ({"check": "unique", "colums": ["x"]}, "field 'checks.0.colums': unknown field; did you mean 'columns'?"),
        ({"check": "unique"}, "field 'checks.0.columns': required field is missing"),
        ({"check": "not_null", "column": "x", "severity": "fatal"}, "field 'checks.0.severity': Input should be"),
        ({"check": "not_null", "column": "x", "mostly": 1.5}, "field 'checks.0.mostly': Input should be less than"),
        ({"check": "matches", "column": "fw", "pattern": "^[0-9+$"},
         "field 'checks.0.pattern': invalid regular expression: unterminated character set"),
        ({"check": "in_range", "column": "u"}, "field 'checks.0': give 'min', 'max' or both"),
        ({"check": "in_range", "column": "u", "min": 2, "max": 1}, "field 'checks.0': min 2 is greater than max 1"),
        ({"check": "row_count", "min": 1, "mostly": 0.9},
         "field 'checks.0.mostly': applies to row checks only; 'row_count' judges the whole output"),
        ({"check": "row_count", "min": 1, "on_fail": "quarantine"}, "field 'checks.0.on_fail': applies to row checks"),
        ({"check": "freshness", "column": "ts", "max_age": "soon"}, "field 'checks.0.max_age': not a duration: 'soon'"),
        ({"check": "freshness", "column": "ts", "max_age": "1d", "now": "yesterday"},
         "field 'checks.0.now': not a timestamp: 'yesterday'"),
        ({"check": "not_null", "column": "x", "output": "windws"},
         "field 'checks.0.output': the step has no output 'windws' (outputs: windows, late)"),
        ({"check": "not_null", "column": "x"}, "field 'checks.0.output': the step has outputs windows, late: name one"),
        ({"check": "foreign_key", "column": "d", "ref": "registy", "output": "windows"},
         "field 'checks.0.ref': 'registy': no step is named 'registy'; did you mean 'registry'?"),
        ({"check": "foreign_key", "column": "d", "ref": "registry", "output": "windows"},
         "field 'checks.0.ref': 'registry': step 'registry' is not upstream of 'window', so its output is not ready"),
        ({"check": "foreign_key", "column": "d", "ref": "window.late", "output": "windows"},
         "field 'checks.0.ref': 'window.late': step 'window' is not upstream of 'window'"),
        ({"check": "foreign_key", "column": "d", "ref": "src.nope", "output": "windows"},
         "field 'checks.0.ref': 'src.nope': step 'src' has no output 'nope' (outputs: out)"),
        ({"check": "reconcile", "left": ["src"], "right": ["window"]},
         "field 'checks.0.right.0': 'window': step 'window' has outputs windows, late: name one"),
        ({"check": "reconcile", "left": ["src"], "right": ["window.windows:"]},
         "field 'checks.0.right': 'window.windows:' names no column after ':'"),
        ({"check": "reconcile", "left": ["src"], "right": ["registry"]},
         "field 'checks.0.right.0': 'registry': step 'registry' is not upstream of 'window'"),
        ({"check": "reconcile", "left": ["src"], "right": ["quarantine/src"]},
         "field 'checks.0.right.0': 'quarantine/src.out': no check of output 'src.out' has on_fail: quarantine"),
        ({"check": "reconcile", "left": ["src"], "right": ["window.late"], "output": "late"},
         "field 'checks.0.output': a reconcile check names its outputs in 'left' and 'right'"),
    ],
    ids=lambda v: str(v)[:50],
)
def test_a_check_that_cannot_run_is_refused_naming_step_and_field(
    tmp_path: Path, check: dict[str, Any], expected: str
) -> None:
    assert refused(tmp_path, two_steps([check])).startswith(f"step 'window': {expected}")


def test_two_checks_with_the_same_id_are_refused(tmp_path: Path) -> None:
    checks = [{"check": "not_null", "column": "x"}, {"check": "not_null", "column": "x"}]
    assert refused(tmp_path, [source(checks)]) == (
        "step 'src': field 'checks.1.id': id 'src.out.not_null(x)' is taken by check 0 of step 'src'; set 'id'"
    )


def test_the_validator_settings_are_checked(tmp_path: Path) -> None:
    plugins = {"settings": {"validator": {"failing_value": 3}}}
    assert refused(tmp_path, [source([])], plugins=plugins) == (
        "field 'plugins.settings.validator.failing_value': unknown field"
    )


def test_a_disabled_validator_does_not_read_the_checks(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [source([{"check": "uniqe"}])], plugins={"disable": ["validator"]})
    kernel = make_kernel()
    assert kernel.plan(kernel.load(path)).order == ("src",)
