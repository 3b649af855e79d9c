"""Pipeline files: loading, parameters and the one-line errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel import PipelineError, load_pipeline
from kernel.config import parse_param

GOOD = """
name: sales
description: Daily sales
domain: retail
archetype: star-schema
kpis: [revenue, {name: margin, description: gross margin}]
params:
  n: 3
  label: total
  targets: {default: {a: "1.0.0"}, description: per model}
steps:
  - name: src
    uses: demo.numbers
    tags: [source]
    settings:
      n: ${params.n}
      where: ${pipeline.dir}/data
      note: run ${run.id} of ${params.label}
  - name: scaled
    uses: demo.scale
    needs: [src]
    retries: 2
  - name: parts
    uses: demo.split
    needs: {frame: scaled}
    retries: {attempts: 1, delay: 0, backoff: 1}
    checks:
      - check: row_count
        max: ${params.n}
"""


def test_a_pipeline_file_loads_with_defaults_overrides_and_references(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD)
    pipeline = load_pipeline(path, {"n": 7})
    src, scaled, parts = pipeline.steps
    assert pipeline.values == {"n": 7, "label": "total", "targets": {"a": "1.0.0"}}
    assert src.settings["n"] == 7  # a whole-string reference keeps the value's type
    assert src.settings["where"] == f"{tmp_path.resolve()}/data"
    assert src.settings["note"] == "run ${run.id} of total"  # run values wait for a run
    # Plugin fields are kept as written (checked when planned), a step's with its references substituted.
    assert pipeline.steps[2].plugin_fields == {"checks": [{"check": "row_count", "max": 7}]}
    assert pipeline.plugin_fields["kpis"] == ["revenue", {"name": "margin", "description": "gross margin"}]
    assert scaled.needs["src"].step == "src" and scaled.retries.attempts == 2
    assert parts.needs["frame"].step == "scaled"
    assert parts.retries.wait_before(1) == 0


def test_json_pipeline_files_load_too(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "j", "steps": [{"name": "a", "uses": "demo.numbers"}]}))
    assert load_pipeline(path).steps[0].uses == "demo.numbers"


def test_retry_backoff_grows_and_is_capped() -> None:
    from kernel.config import RetryPolicy

    policy = RetryPolicy(attempts=5, delay=0.5, backoff=2, max_delay=3)
    assert [policy.wait_before(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("text", "value"),
    [("n=5", 5), ("ratio=0.5", 0.5), ("window=1min", "1min"), ("m={a: 1}", {"a": 1}), ("s=", "")],
)
def test_command_line_params_are_read_as_yaml_values(text: str, value: object) -> None:
    assert parse_param(text)[1] == value


@pytest.mark.parametrize(
    ("content", "params", "expected"),
    [
        ("name: p\nsteps: [\n", {}, "invalid YAML at line"),
        ("- a\n- b\n", {}, "a pipeline file holds a mapping"),
        ("name: p\nsteps:\n  - {name: a, uses: x}\n  - {name: a, uses: y}\n", {}, "step 'a': duplicate step name"),
        ("name: p\nsteps:\n  - {name: a}\n", {}, "step 'a': field 'uses': required field is missing"),
        ("name: p\nparams: {n: 1}\nsteps: []\n", {"m": 2}, "unknown parameter 'm' (parameters: n)"),
        (
            "name: p\nsteps:\n  - name: a\n    uses: x\n    settings: {v: '${params.nope}'}\n",
            {},
            "step 'a': field 'settings': unknown reference ${params.nope}",
        ),
        ("name: p\nparams: {k: {required: true}}\nsteps: []\n", {}, "parameter 'k' is required"),
        ("name: p\nsteps:\n  - name: a\n    uses: x\n    checks: [{now: '${params.end}'}]\n", {},
         "step 'a': field 'checks': unknown reference ${params.end}"),
    ],
)
def test_bad_pipeline_files_get_one_line_naming_file_step_and_field(
    tmp_path: Path, content: str, params: dict[str, object], expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(PipelineError) as info:
        load_pipeline(path, params)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_file_and_invalid_json_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"nope\.yaml: no such file"):
        load_pipeline(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(PipelineError, match=r"bad\.json: invalid JSON at line 1"):
        load_pipeline(bad)
