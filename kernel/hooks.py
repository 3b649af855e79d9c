"""Calling a hook one plugin at a time, through pluggy.

Most hooks are called so that each plugin's answer is checked, and its failure reported, on its own (a
step type registered twice names both plugins; a broken ``after_run`` does not stop the next one).
:func:`per_plugin` gives one caller per implementing plugin; each call goes through pluggy, so its
tracing and monitoring see it. A hook wrapper has no single call to wrap there, so it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pluggy

from kernel.errors import PluginError


@dataclass(frozen=True, slots=True)
class PluginHook:
    """One plugin's implementation of a hook: call it with keyword arguments, get what it returned."""

    plugin: str
    hook: str
    _caller: pluggy.HookCaller
    _first: bool

    def __call__(self, **kwargs: Any) -> Any:
        result = self._caller(**kwargs)
        if self._first:
            return result
        return result[0] if result else None  # pluggy leaves out None results


def refuse_wrapper(impl: pluggy.HookImpl, hook: str) -> None:
    if impl.hookwrapper or impl.wrapper:
        raise PluginError(
            impl.plugin_name,
            f"implements hook '{hook}' as a wrapper; the kernel calls it once per plugin, so a wrapper "
            "has nothing to wrap",
        )


def per_plugin(pm: pluggy.PluginManager, hook: str) -> list[PluginHook]:
    """A caller for each plugin that implements ``hook``, in the order pluggy would call them (the last
    registered first, ``tryfirst``/``trylast`` respected); ``[]`` when no plugin declares the hook."""
    caller: pluggy.HookCaller | None = getattr(pm.hook, hook, None)
    if caller is None:
        return []
    impls = caller.get_hookimpls()
    for impl in impls:
        refuse_wrapper(impl, hook)
    first = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
    plugins = [impl.plugin for impl in impls]

    def alone(impl: pluggy.HookImpl) -> pluggy.HookCaller:
        return pm.subset_hook_caller(hook, [p for p in plugins if p is not impl.plugin])

    return [PluginHook(impl.plugin_name, hook, alone(impl), first) for impl in reversed(impls)]
