"""Plugins found through entry points: a third-party distribution installed with pip, and broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import Kernel, PipelineError, PluginError, hookimpl, step


def test_an_installed_distribution_registers_its_step_types(demo_installed: Path) -> None:
    kernel = Kernel()
    info = kernel.plugin("demo")
    assert info is not None
    assert (info.distribution, info.version, info.module) == ("kernel-demo-steps", "1.2.3", "kernel_demo_steps")
    assert kernel.steps["demo.split"].plugin == "demo"
    assert kernel.steps["demo.split"].type.outputs == ("even", "odd")
    assert kernel.steps["demo.numbers"].type.description == "Make a frame with a column x = start .. start+n-1."


def test_without_the_distribution_its_step_types_are_absent() -> None:
    assert "demo.numbers" not in Kernel().steps


def test_a_disabled_plugin_registers_nothing(demo_installed: Path) -> None:
    kernel = Kernel(disable=["demo"])
    assert "demo" not in kernel.plugin_names
    assert not any(name.startswith("demo.") for name in kernel.steps)


def test_disabling_an_unknown_plugin_is_an_error(demo_installed: Path) -> None:
    with pytest.raises(PluginError, match="plugin 'demoo': cannot be disabled: no such plugin"):
        Kernel(disable=["demoo"])


def test_a_plugin_with_a_wrong_hook_fails_at_start_naming_it(bad_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(bad_site))
    with pytest.raises(PluginError) as info:
        Kernel()
    assert str(info.value).startswith("plugin 'broken': ")
    assert "colour" in str(info.value)


def test_a_hook_with_a_typo_in_its_name_fails_at_start() -> None:
    class Typo:
        @hookimpl
        def register_stepz(self) -> list[object]:
            return []

    with pytest.raises(PluginError, match=r"plugin 'typo': .*register_stepz"):
        Kernel(entry_points=False, plugins=[("typo", Typo())])


def test_two_plugins_registering_one_name_are_refused() -> None:
    @step("same.name")
    def one(inputs: object) -> object:
        raise AssertionError

    class A:
        @hookimpl
        def register_steps(self) -> list[object]:
            return [one]

    with pytest.raises(PluginError, match=r"step type 'same\.name' is already registered by plugin"):
        Kernel(entry_points=False, plugins=[("a", A()), ("b", A())])


def test_register_steps_must_return_step_types() -> None:
    class Wrong:
        @hookimpl
        def register_steps(self) -> list[object]:
            return ["not a step"]

    with pytest.raises(PluginError, match="plugin 'wrong': register_steps returned 'not a step'"):
        Kernel(entry_points=False, plugins=[("wrong", Wrong())])


def test_a_pipeline_may_disable_a_plugin_for_its_runs(demo_installed: Path, tmp_path: Path) -> None:
    from helpers import write_pipeline

    seen: list[str] = []

    class Watcher:
        @hookimpl
        def after_step_run(self, step: object) -> None:
            seen.append("called")

    kernel = Kernel(plugins=[("watcher", Watcher())])
    steps = [{"name": "a", "uses": "demo.numbers"}]
    assert kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path).ok
    assert seen == ["called"]
    path = write_pipeline(tmp_path, steps, plugins={"disable": ["watcher"]})
    assert kernel.run(path, runs_root=tmp_path).ok
    assert seen == ["called"]
    with pytest.raises(PipelineError, match="comes from plugin 'demo', which is disabled"):
        kernel.run(write_pipeline(tmp_path, steps, plugins={"disable": ["demo"]}), runs_root=tmp_path)
    with pytest.raises(PipelineError, match="cannot disable plugin 'nobody'"):
        kernel.run(write_pipeline(tmp_path, steps, plugins={"disable": ["nobody"]}), runs_root=tmp_path)
