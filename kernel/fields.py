"""Fields plugins add to the pipeline file (``register_fields``), as pytest's ``addini`` adds ini keys.

The kernel's models know steps, params and plugins; a key they do not know is kept aside when the file
is read and checked when the plan is built: a plugin's field is validated with the type it declared,
a field of a disabled plugin is let through unread, and anything else is an error naming the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from kernel.errors import PipelineError, PluginError, validation_problem

Place = Literal["pipeline", "step"]


@dataclass(frozen=True)
class PipelineField:
    """A key a plugin adds to the pipeline file: at the top (``on="pipeline"``) or in each step
    (``on="step"``). ``type`` is any type pydantic validates (a model, ``list[str]``, ...); a step's
    value gets ``${params.*}`` and ``${pipeline.dir}`` substituted before it is validated."""

    name: str
    on: Place
    type: Any
    default: Any = None
    description: str = ""
    # Built when a pipeline first gives the field: every plugin declares its fields as it is loaded, and
    # pydantic's schema for a type took up to 3 ms of every command's start.
    _adapter: TypeAdapter[Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.on not in ("pipeline", "step"):
            raise ValueError(f"field '{self.name}': on is 'pipeline' or 'step', not {self.on!r}")

    def validate(self, value: Any) -> Any:
        adapter = self._adapter
        if adapter is None:
            adapter = TypeAdapter(self.type)
            object.__setattr__(self, "_adapter", adapter)
        return adapter.validate_python(value)


@dataclass(frozen=True, slots=True)
class RegisteredField:
    field: PipelineField
    plugin: str


Fields = Mapping[tuple[Place, str], RegisteredField]


def check_declared(found: Iterable[object], plugin: str, taken: Mapping[Place, Iterable[str]],
                   fields: dict[tuple[Place, str], RegisteredField]) -> None:
    """Add a plugin's declarations to ``fields``; a name the kernel or another plugin has is an error."""
    for item in found:
        if not isinstance(item, PipelineField):
            raise PluginError(plugin, f"register_fields returned {item!r}, not a PipelineField")
        key = (item.on, item.name)
        if item.name in taken[item.on]:
            raise PluginError(plugin, f"field '{item.name}' of a {item.on} is the kernel's own")
        if key in fields:
            raise PluginError(plugin, f"field '{item.name}' of a {item.on} is already added by '{fields[key].plugin}'")
        fields[key] = RegisteredField(item, plugin)


def resolve(
    given: Mapping[str, Any],
    on: Place,
    fields: Fields,
    disabled: Fields,
    own: Iterable[str],
    *,
    file: Path | None,
    step: str | None = None,
) -> dict[str, Any]:
    """The plugin fields of a pipeline (or of one step): each declared one validated, or its default.

    ``given`` holds the keys the kernel's model did not know; ``own`` the keys it knows (for hints).
    """
    values = {name: entry.field.default for (place, name), entry in fields.items() if place == on}
    for name, raw in given.items():
        entry = fields.get((on, name))
        if entry is None:
            if (on, name) in disabled:
                continue
            known = [*own, *(n for p, n in fields if p == on), *(n for p, n in disabled if p == on)]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PipelineError(f"unknown field{hint}", file=file, step=step, field=name)
        try:
            values[name] = entry.field.validate(raw)
        except ValidationError as exc:
            where, message = validation_problem(exc)
            raise PipelineError(message, file=file, step=step, field=".".join(filter(None, [name, where]))) from None
    return values
