"""The plugin manager factory: entry points are found when a kernel is made, never at import."""

from __future__ import annotations

import contextlib
import importlib.metadata as md
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType

import pluggy

from kernel import hookspecs
from kernel.config import Pipeline, StepSpec
from kernel.errors import PluginError
from kernel.executors import BUILT_IN, ExecutorType
from kernel.fields import Place, RegisteredField, check_declared
from kernel.graph import RegisteredStep
from kernel.hooks import per_plugin, refuse_wrapper
from kernel.markers import ENTRY_POINT_GROUP, PROJECT
from kernel.showcases import Showcase
from kernel.steps import as_step_type

# The kernel's own hooks: none may be a wrapper (see ``kernel.hooks``).
KERNEL_HOOKS = tuple(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{PROJECT}_spec"))


# The keys of the pipeline file that are the kernel's own, by place: no plugin field may take one.
KERNEL_KEYS: dict[Place, tuple[str, ...]] = {
    "pipeline": tuple(name for name in Pipeline.model_fields if name != "source"),
    "step": tuple(StepSpec.model_fields),
}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A plugin the kernel registered (or could not): its name, module, and the distribution it came from."""

    name: str
    module: str
    source: md.Distribution | None = field(default=None, repr=False, compare=False)  # None: given in code
    error: str | None = None  # why an installed plugin could not be loaded (it is then skipped)

    # Read when asked: each reads the distribution's METADATA, 4 ms for the built-in plugins at every start.
    @property
    def distribution(self) -> str | None:
        return None if self.source is None else str(self.source.name)

    @property
    def version(self) -> str | None:
        return None if self.source is None else str(self.source.version)


def make_plugin_manager(
    *,
    disable: Iterable[str] = (),
    plugins: Sequence[tuple[str, object]] = (),
    entry_points: bool = True,
    disabled: list[tuple[str, object]] | None = None,
    broken: list[PluginInfo] | None = None,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """A fresh plugin manager with the entry-point plugins (less ``disable``) and ``plugins``.

    The disabled plugins that can be loaded are appended to ``disabled`` (when given), unregistered: what
    they declare (step types, pipeline fields) is read apart (:func:`disabled_declarations`). An
    entry-point plugin that cannot be loaded or registered raises a :class:`PluginError` naming it, or,
    when ``broken`` is given, is appended to it (with the error) and left out.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.add_hookspecs.call_historic(kwargs={"plugin_manager": pm})
    blocked = set(disable)
    infos: list[PluginInfo] = []
    found: list[str] = []
    if entry_points:
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            found.append(ep.name)
            if ep.name in blocked:
                pm.set_blocked(ep.name)
                if disabled is not None:
                    with contextlib.suppress(Exception):  # a plugin may be disabled because it is broken
                        disabled.append((ep.name, ep.load()))
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            info = PluginInfo(ep.name, ep.value, ep.dist)
            try:
                try:
                    obj = ep.load()
                except Exception as exc:
                    raise PluginError(ep.name, f"cannot be loaded from '{ep.value}': {exc}") from None
                _register(pm, ep.name, obj)
            except PluginError as exc:
                if broken is None:
                    raise
                if pm.get_plugin(ep.name) is not None:
                    pm.unregister(name=ep.name)
                broken.append(replace(info, error=_one_line(exc.message.removeprefix(f"plugin '{ep.name}': "))))
                continue
            infos.append(info)
    for name, obj in plugins:
        found.append(name)
        if name in blocked:
            pm.set_blocked(name)
            if disabled is not None:
                disabled.append((name, obj))
            continue
        _register(pm, name, obj)
        module = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__qualname__
        infos.append(PluginInfo(name, module))
    unknown = sorted(blocked - set(found))
    if unknown:
        raise PluginError(unknown[0], f"cannot be disabled: no such plugin (installed: {', '.join(found) or 'none'})")
    while True:  # once every plugin has added its hook specs: a hook no spec declares is a plugin's mistake
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or "?"
            owner = next((i for i in infos if i.name == name and i.source is not None), None)
            if broken is None or owner is None:  # a plugin given in code is the caller's: always an error
                raise PluginError(name, str(exc)) from None
            pm.unregister(name=name)
            infos.remove(owner)
            broken.append(replace(owner, error=_one_line(str(exc))))
    for name in KERNEL_HOOKS:
        for impl in getattr(pm.hook, name).get_hookimpls():
            refuse_wrapper(impl, name)
    return pm, infos


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _register(pm: pluggy.PluginManager, name: str, obj: object) -> None:
    try:
        pm.register(obj, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(name, str(exc)) from None
    except ValueError as exc:
        raise PluginError(name, str(exc)) from None


def declared(pm: pluggy.PluginManager, hook_name: str) -> Iterator[tuple[str, object]]:
    """``(plugin, item)`` for every item each plugin returns from the registering hook ``hook_name``,
    in pluggy's order; a hook that raises or returns something else than a list names the plugin."""
    for hook in per_plugin(pm, hook_name):
        try:
            returned: object = hook()
        except Exception as exc:
            raise PluginError(hook.plugin, f"{hook_name} failed: {exc}") from None
        if returned is None:
            continue
        if not isinstance(returned, Iterable) or isinstance(returned, str | bytes | Mapping):
            raise PluginError(hook.plugin, f"{hook_name} must return a list, not {type(returned).__name__}")
        for item in returned:
            yield hook.plugin, item


def collect_steps(pm: pluggy.PluginManager) -> dict[str, RegisteredStep]:
    """Call every ``register_steps`` implementation and check what each returns."""
    registry: dict[str, RegisteredStep] = {}
    for plugin, item in declared(pm, "register_steps"):
        spec = as_step_type(item)
        if spec is None:
            raise PluginError(
                plugin, f"register_steps returned {item!r}, which is neither a StepType nor an @step function"
            )
        if spec.name in registry:
            raise PluginError(
                plugin, f"step type '{spec.name}' is already registered by plugin '{registry[spec.name].plugin}'"
            )
        registry[spec.name] = RegisteredStep(type=spec, plugin=plugin)
    return dict(sorted(registry.items()))


def collect_showcases(pm: pluggy.PluginManager) -> dict[str, tuple[Showcase, str]]:
    found: dict[str, tuple[Showcase, str]] = {}
    for plugin, item in declared(pm, "register_showcases"):
        if not isinstance(item, Showcase):
            raise PluginError(plugin, f"register_showcases returned {item!r}, not a Showcase")
        if item.name in found:
            raise PluginError(plugin, f"showcase '{item.name}' is already contributed by '{found[item.name][1]}'")
        found[item.name] = (item, plugin)
    return dict(sorted(found.items()))


def collect_fields(
    pm: pluggy.PluginManager, taken: Mapping[Place, Iterable[str]]
) -> dict[tuple[Place, str], RegisteredField]:
    """Call every ``register_fields`` implementation; ``taken``: the kernel's own keys, by place."""
    fields: dict[tuple[Place, str], RegisteredField] = {}
    for plugin, item in declared(pm, "register_fields"):
        check_declared((item,), plugin, taken, fields)
    return dict(sorted(fields.items()))


def collect_executors(pm: pluggy.PluginManager) -> dict[str, ExecutorType]:
    """The kernel's executors and those plugins add through ``register_executors``."""
    found = dict(BUILT_IN)
    owner = dict.fromkeys(BUILT_IN, "the kernel")
    for plugin, item in declared(pm, "register_executors"):
        if not isinstance(item, ExecutorType):
            raise PluginError(plugin, f"register_executors returned {item!r}, not an ExecutorType")
        if item.name in found:
            raise PluginError(plugin, f"executor '{item.name}' is already added by {owner[item.name]}")
        found[item.name], owner[item.name] = item, f"plugin '{plugin}'"
    return found


def disabled_declarations(
    disabled: Sequence[tuple[str, object]], taken: Mapping[Place, Iterable[str]]
) -> tuple[dict[str, str], dict[tuple[Place, str], RegisteredField]]:
    """The step types (type -> plugin) and pipeline fields of disabled plugins, each read in a plugin
    manager of its own so that nothing else of it runs; a plugin that cannot say declares nothing."""
    steps: dict[str, str] = {}
    fields: dict[tuple[Place, str], RegisteredField] = {}
    for name, obj in disabled:
        try:
            pm, _ = make_plugin_manager(plugins=[(name, obj)], entry_points=False)
            steps.update((step, name) for step in collect_steps(pm))
            for key, entry in collect_fields(pm, taken).items():
                fields.setdefault(key, entry)
        except PluginError:
            continue
    return steps, fields
