"""The kinds of check a pipeline can declare: the built-ins, and those other plugins register.

Other plugins add check types through the validator's own hook, ``register_checks``, called on the
kernel's plugin manager (``validate_plan`` receives it; a run has it as ``run.plugin_manager``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import pluggy
from pydantic import BaseModel

from kernel import PluginError, per_plugin
from kernel_validator.builtin import BUILTIN, ForeignKey, Reconcile
from kernel_validator.checktype import CHECK_NAME, CheckFunction, CheckType

FOREIGN_KEY = "foreign_key"
RECONCILE = "reconcile"
BUILTIN_PLUGIN = "validator"


@dataclass(frozen=True, slots=True)
class Kind:
    """A check type as the validator uses it, with the plugin that registered it."""

    name: str
    settings: type[BaseModel]
    per_row: bool
    plugin: str
    describe: Callable[[Any], str]
    check: CheckType | None = None  # None for foreign_key and reconcile: they need other steps' figures

    def __reduce__(self) -> tuple[Any, ...]:
        # Shipped to where a step runs without ``describe``: reasons are phrased where checks are declared.
        return (Kind, (self.name, self.settings, self.per_row, self.plugin, described_where_declared, self.check))


def described_where_declared(settings: Any) -> str:
    """A shipped check kind's ``describe``: never needed where the check runs."""
    raise RuntimeError("a check's reason is phrased where it is declared")


def builtin_kinds() -> dict[str, Kind]:
    kinds = {t.name: Kind(t.name, t.settings, t.per_row, BUILTIN_PLUGIN, t.describe, t) for t in BUILTIN}
    kinds[FOREIGN_KEY] = Kind(
        FOREIGN_KEY,
        ForeignKey,
        True,
        BUILTIN_PLUGIN,
        lambda s: f"{s.column} not in {s.ref}.{s.target_column}",
    )
    kinds[RECONCILE] = Kind(
        RECONCILE,
        Reconcile,
        False,
        BUILTIN_PLUGIN,
        lambda s: "left and right totals differ",
    )
    return kinds


def as_check_type(item: object) -> CheckType | None:
    """A CheckType, or an object with the same attributes (so a plugin need not import the validator)."""
    if isinstance(item, CheckType):
        return item
    name, settings, func = (getattr(item, a, None) for a in ("name", "settings", "func"))
    usable = callable(func) or isinstance(func, str)  # a function, or a reference to one
    if isinstance(name, str) and isinstance(settings, type) and issubclass(settings, BaseModel) and usable:
        reason = getattr(item, "reason", None)
        return CheckType(
            name=name,
            settings=settings,
            func=cast(CheckFunction | str, func),
            per_row=bool(getattr(item, "per_row", True)),
            reason=reason if callable(reason) else None,
            description=str(getattr(item, "description", "") or ""),
        )
    return None


def collect_kinds(pm: pluggy.PluginManager | None) -> dict[str, Kind]:
    """The built-in kinds plus those of every plugin in ``pm`` (a run's: only its plugins) that implements
    ``register_checks``."""
    kinds = builtin_kinds()
    for hook in per_plugin(pm, "register_checks") if pm is not None else ():
        try:
            returned = cast(Iterable[object] | None, hook())
        except Exception as exc:
            raise PluginError(hook.plugin, f"register_checks failed: {type(exc).__name__}: {exc}") from None
        for item in returned or ():
            found = as_check_type(item)
            if found is None:
                raise PluginError(hook.plugin, f"register_checks returned {item!r}, not a CheckType")
            if not CHECK_NAME.match(found.name):
                raise PluginError(hook.plugin, f"check type name '{found.name}' is not lower_case words joined by '.'")
            if found.name in kinds:
                other = kinds[found.name].plugin
                raise PluginError(hook.plugin, f"check type '{found.name}' is already registered by '{other}'")
            kinds[found.name] = Kind(found.name, found.settings, found.per_row, hook.plugin, found.describe, found)
    return kinds
