"""Hooks are called through pluggy, one plugin at a time; a wrapper is refused; a plugin is disabled one way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy
import pytest
from helpers import write_pipeline

from kernel import Kernel, PluginError, Run, hookimpl, per_plugin
from kernel.plugins import KERNEL_HOOKS


def _monitored(kernel: Kernel) -> list[str]:
    called: list[str] = []

    def before(hook_name: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
        called.extend(f"{hook_name}:{impl.plugin_name}" for impl in impls)

    kernel.pm.add_hookcall_monitoring(before, lambda *_: None)
    return called


def test_every_kernel_hook_a_run_calls_goes_through_pluggy(tmp_path: Path) -> None:
    class Everything:
        @hookimpl
        def validate_plan(self) -> None: ...
        @hookimpl
        def before_run(self) -> None: ...
        @hookimpl
        def connect_listeners(self) -> None: ...
        @hookimpl
        def after_step_run(self) -> None: ...
        @hookimpl
        def after_run(self) -> None: ...

    kernel = Kernel(plugins=[("everything", Everything())])
    called = _monitored(kernel)
    steps = [{"name": "a", "uses": "io.read", "settings": {"path": str(_csv(tmp_path))}}]
    assert kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path).ok
    for hook in ("validate_plan", "before_run", "connect_listeners", "after_step_run", "after_run"):
        assert f"{hook}:everything" in called, hook
    # The built-in listeners are called the same way (a pluggy monitor sees the tracker's hooks too).
    assert "connect_listeners:tracker" in called


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("x\n1\n2\n")
    return path


@pytest.mark.parametrize("style", ["wrapper", "hookwrapper"])
def test_a_kernel_hook_implemented_as_a_wrapper_is_refused_naming_the_plugin(style: str) -> None:
    class Wrapping:
        @hookimpl(**{style: True})
        def after_run(self) -> Any:
            return (yield)

    with pytest.raises(PluginError, match="plugin 'wrapping': implements hook 'after_run' as a wrapper"):
        Kernel(plugins=[("wrapping", Wrapping())], entry_points=False)


def test_per_plugin_calls_in_pluggys_order_and_names_each_plugin() -> None:
    order: list[str] = []

    def plugin(name: str, **opts: bool) -> object:
        class P:
            @hookimpl(**opts)
            def register_steps(self) -> list[object]:
                order.append(name)
                return []

        return P()

    kernel = Kernel(
        plugins=[("one", plugin("one")), ("last", plugin("last", trylast=True)), ("two", plugin("two"))],
        entry_points=False,
    )
    order.clear()
    hooks = per_plugin(kernel.pm, "register_steps")
    assert [h.plugin for h in hooks] == ["two", "one", "last"]
    assert [h() for h in hooks] == [[], [], []]
    assert order == ["two", "one", "last"]
    kernel.pm.hook.register_steps()
    assert order == ["two", "one", "last"] * 2  # the order of one pluggy call
    assert per_plugin(kernel.pm, "no_such_hook") == []


def test_a_plugin_a_pipeline_disables_is_blocked_in_the_runs_plugin_manager(tmp_path: Path) -> None:
    seen: list[tuple[str, bool]] = []

    class Watcher:
        @hookimpl
        def after_run(self, run: Run) -> None:
            seen.append(("watcher", False))

    class Spy:
        @hookimpl
        def after_run(self, run: Run) -> None:
            pm = run.plugin_manager
            assert pm is not None
            seen.append(("spy", pm.is_blocked("watcher")))

    kernel = Kernel(plugins=[("watcher", Watcher()), ("spy", Spy())])
    steps = [{"name": "a", "uses": "io.read", "settings": {"path": str(_csv(tmp_path))}}]
    result = kernel.run(write_pipeline(tmp_path, steps, plugins={"disable": ["watcher"]}), runs_root=tmp_path)
    assert result.ok
    assert seen == [("spy", True)]
    assert "watcher" not in result.record.plugins
    assert kernel.pm.get_plugin("watcher") is not None  # the kernel itself is unchanged
    assert kernel.run(write_pipeline(tmp_path, steps), runs_root=tmp_path).ok
    assert seen == [("spy", True), ("spy", False), ("watcher", False)]


def test_no_kernel_hook_is_missing_from_the_list_wrappers_are_checked_against() -> None:
    pm = Kernel(entry_points=False).pm
    assert set(KERNEL_HOOKS) == {name for name in vars(pm.hook) if not name.startswith("_")}
