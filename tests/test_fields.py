"""Fields plugins add to the pipeline file (register_fields): validated when planned, a typo anywhere is
an error naming it, a disabled plugin's fields pass unread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import write_pipeline
from pydantic import BaseModel, ConfigDict

from kernel import Kernel, PipelineError, PipelineField, PluginError, Run, hookimpl, step
from kernel.fields import Place


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str
    email: str = ""


@step("f.numbers", outputs=("out",))
def numbers(inputs: Any) -> Any:
    import pandas as pd

    return pd.DataFrame({"x": [1, 2]})


class Steps:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [numbers]


def fields_plugin(*declared: PipelineField) -> object:
    seen: dict[str, Any] = {}

    class Fields:
        @hookimpl
        def register_fields(self) -> list[PipelineField]:
            return list(declared)

        @hookimpl
        def after_run(self, run: Run) -> None:
            seen["pipeline"] = dict(run.plan.fields)
            seen["steps"] = {name: dict(p.fields) for name, p in run.plan.steps.items()}

    plugin = Fields()
    plugin.seen = seen  # type: ignore[attr-defined]
    return plugin


OWNER = PipelineField("owner", on="pipeline", type=Owner, default=None)
SLA = PipelineField("sla_minutes", on="step", type=int, default=60)


def kernel_with(*plugins: tuple[str, object], disable: tuple[str, ...] = ()) -> Kernel:
    return Kernel(entry_points=False, plugins=[("steps", Steps()), *plugins], disable=disable)


def test_a_plugins_fields_are_validated_and_reach_plugins_with_defaults(tmp_path: Path) -> None:
    plugin = fields_plugin(OWNER, SLA)
    kernel = kernel_with(("fields", plugin))
    steps = [{"name": "a", "uses": "f.numbers", "sla_minutes": "${params.sla}"}, {"name": "b", "uses": "f.numbers"}]
    path = write_pipeline(tmp_path, steps, owner={"team": "data"}, params={"sla": 15})
    assert kernel.run(path, runs_root=tmp_path).ok
    seen = plugin.seen  # type: ignore[attr-defined]
    assert seen["pipeline"] == {"owner": Owner(team="data")}
    assert seen["steps"] == {"a": {"sla_minutes": 15}, "b": {"sla_minutes": 60}}  # substituted, then validated


@pytest.mark.parametrize(
    ("extra", "steps", "message"),
    [
        ({"ownr": {"team": "x"}}, [{"name": "a", "uses": "f.numbers"}],
         "field 'ownr': unknown field; did you mean 'owner'?"),
        ({}, [{"name": "a", "uses": "f.numbers", "sla_minute": 5}],
         "step 'a': field 'sla_minute': unknown field; did you mean 'sla_minutes'?"),
        ({}, [{"name": "a", "uses": "f.numbers", "need": ["b"]}],
         "step 'a': field 'need': unknown field; did you mean 'needs'?"),
        ({"colour": "red"}, [{"name": "a", "uses": "f.numbers"}], "field 'colour': unknown field"),
        ({"owner": {"tem": "x"}}, [{"name": "a", "uses": "f.numbers"}], "field 'owner.tem': unknown field"),
        ({}, [{"name": "a", "uses": "f.numbers", "sla_minutes": "soon"}],
         "step 'a': field 'sla_minutes': Input should be"),
        ({"plugins": {"settings": {"fieldz": {}}}}, [{"name": "a", "uses": "f.numbers"}],
         "field 'plugins.settings.fieldz': no plugin is named 'fieldz'; did you mean 'fields'?"),
    ],
)
def test_a_typo_anywhere_stops_planning_with_one_line_naming_it(
    tmp_path: Path, extra: dict[str, Any], steps: list[dict[str, Any]], message: str
) -> None:
    kernel = kernel_with(("fields", fields_plugin(OWNER, SLA)))
    path = write_pipeline(tmp_path, steps, **extra)
    with pytest.raises(PipelineError) as info:
        kernel.plan(kernel.load(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "demo").exists()  # nothing ran


@pytest.mark.parametrize("how", ["pipeline", "kernel"])
def test_a_disabled_plugins_fields_pass_unread(tmp_path: Path, how: str) -> None:
    plugin = fields_plugin(OWNER, SLA)
    steps = [{"name": "a", "uses": "f.numbers", "sla_minutes": "not even an int"}]
    if how == "pipeline":
        kernel = kernel_with(("fields", plugin))
        path = write_pipeline(tmp_path, steps, owner={"team": "x"}, plugins={"disable": ["fields"]})
    else:  # -p no:fields
        kernel = kernel_with(("fields", plugin), disable=("fields",))
        path = write_pipeline(tmp_path, steps, owner={"team": "x"})
    result = kernel.run(path, runs_root=tmp_path)
    assert result.ok
    assert "fields" not in result.record.plugins
    assert plugin.seen == {}  # type: ignore[attr-defined]
    # A typo is still one, the disabled plugin's names help find it.
    bad = write_pipeline(tmp_path, [{"name": "a", "uses": "f.numbers", "sla_minuts": 1}], filename="bad.yaml")
    with pytest.raises(PipelineError, match="did you mean 'sla_minutes'"):
        kernel.plan(kernel.load(bad))


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ([PipelineField("steps", on="pipeline", type=str)], "field 'steps' of a pipeline is the kernel's own"),
        ([PipelineField("needs", on="step", type=str)], "field 'needs' of a step is the kernel's own"),
        (["owner"], "register_fields returned 'owner', not a PipelineField"),
    ],
)
def test_a_plugin_may_not_take_a_kernel_key_or_return_something_else(declared: list[Any], message: str) -> None:
    with pytest.raises(PluginError, match=f"plugin 'fields': {message}"):
        kernel_with(("fields", fields_plugin(*declared)))


def test_two_plugins_adding_one_field_are_refused_naming_both() -> None:
    # pluggy asks the last registered first
    with pytest.raises(PluginError, match="plugin 'one': field 'owner' of a pipeline is already added by 'two'"):
        kernel_with(("one", fields_plugin(OWNER)), ("two", fields_plugin(OWNER)))


def test_one_name_may_be_a_pipeline_field_of_one_plugin_and_a_step_field_of_another() -> None:
    places: set[tuple[Place, str]] = set(
        kernel_with(("one", fields_plugin(OWNER)), ("two", fields_plugin(PipelineField("owner", "step", str)))).fields
    )
    assert places == {("pipeline", "owner"), ("step", "owner")}


def test_the_built_in_plugins_add_checks_and_the_business_context() -> None:
    fields = {key: entry.plugin for key, entry in Kernel().fields.items()}
    assert fields[("step", "checks")] == "validator"
    assert {fields[("pipeline", n)] for n in ("domain", "archetype", "kpis")} == {"report"}
