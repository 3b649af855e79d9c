"""Settings of ``window.tumbling``: the pydantic model a pipeline file is checked against, and the
plain :class:`WindowConfig` the algorithm runs on (durations in nanoseconds, aggregations parsed).

Aggregations are written ``name: "fn(column)"``; ``fn`` is one of :data:`FUNCTIONS` and ``count``
alone counts records. See ``docs/windowing.md`` for the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kernel import parse_duration

FUNCTIONS = ("count", "sum", "mean", "min", "max", "first", "last")
# Columns of the ``windows`` output that the step adds itself: keys and aggregations may not use them.
WINDOW_COLUMNS = ("window_start", "window_end", "emit_batch", "emit_watermark", "emit_kind")
_EXPRESSION = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\(\s*(.*?)\s*\))?\s*$")


def _duration(value: Any) -> timedelta:
    # Numbers are refused: "120" could be seconds or minutes, and a wrong guess moves every window.
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("duration", "{value} is not a duration: give a unit, such as '2min' or '90s'",
                                  {"value": value})
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("duration", "a duration is a string such as '2min'")
    ns = parse_duration(value)
    if ns is None:
        raise PydanticCustomError("duration", "'{value}' is not a duration (examples: '90s', '2min', '1h', '1d')",
                                  {"value": value})
    if ns % 1_000:  # finer than a timedelta holds: pandas' Timedelta (a timedelta) keeps the nanoseconds
        import pandas as pd

        return pd.Timedelta(ns, unit="ns")
    return timedelta(microseconds=ns // 1_000)


Duration = Annotated[timedelta, BeforeValidator(_duration)]


@dataclass(frozen=True, slots=True)
class Aggregation:
    """One output column of a window: ``fn`` over ``column`` (``None``: ``count`` of records)."""

    name: str
    fn: str
    column: str | None

    @property
    def expression(self) -> str:
        return f"{self.fn}({self.column})" if self.column is not None else self.fn


def parse_aggregation(name: str, text: str) -> Aggregation:
    """Parse ``"mean(temperature_c)"``, ``"count"`` or ``"count(col)"``; a ValueError says what is wrong."""
    match = _EXPRESSION.match(text)
    if match is None or match.group(1) not in FUNCTIONS:
        raise ValueError(f"'{text}' is not an aggregation: write fn(column) with fn one of {', '.join(FUNCTIONS)}")
    fn, column = match.group(1), match.group(2) or None
    if column is None and fn != "count":
        raise ValueError(f"'{text}' needs a column: {fn}(column)")
    return Aggregation(name=name, fn=fn, column=column)


class TumblingSettings(BaseModel):
    """The settings of ``window.tumbling`` (the names and meanings of ``docs/windowing.md``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, arbitrary_types_allowed=True)

    time_column: str = Field(min_length=1, description="event time of a record (UTC)")
    keys: tuple[str, ...] = Field((), description="grouping columns; windows are per key")
    size: Duration = Field(description="window length; windows are epoch-aligned [start, start+size)")
    watermark: Duration = Field(description="how far the watermark trails the newest event time")
    aggregations: dict[str, str] = Field(description="output column -> 'fn(column)'")
    arrival_column: str | None = Field(None, min_length=1, description="arrival time; defines micro-batches")
    trigger: Duration | None = Field(None, description="micro-batch length over arrival_column; default size")
    allowed_lateness: Duration = Field(timedelta(0), description="how long a closed window still accepts records")
    order_by: tuple[str, ...] = Field((), description="tie-breaks after event time for first/last")
    mode: Literal["append", "update"] = "append"
    final: bool = Field(True, description="bounded input: flush every open window at the end")
    state_dir: Path | None = Field(None, description="directory of the state store")
    hold: str | None = Field(None, description="'newest', or an arrival time: the batches not complete by then "
                             "are kept in the state store for the next run")

    @field_validator("size", "trigger")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise PydanticCustomError("duration", "must be a positive duration, such as '1min'")
        return value

    @field_validator("watermark", "allowed_lateness")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise PydanticCustomError("duration", "must not be negative ('0s' or more)")
        return value

    @field_validator("hold")
    @classmethod
    def _hold(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("arrival_column") is None:
            raise PydanticCustomError("hold", "hold keeps batches of arrival_column back: set arrival_column")
        if info.data.get("final", True):
            raise PydanticCustomError("hold", "a final run processes every batch: hold needs final: false")
        if value != "newest":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise PydanticCustomError("hold", "'{value}' is neither 'newest' nor an arrival time (ISO 8601)",
                                          {"value": value}) from None
        return value

    @field_validator("keys", "order_by")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise PydanticCustomError("columns", "column '{name}' is listed twice", {"name": repeated[0]})
        return value

    @field_validator("aggregations")
    @classmethod
    def _aggregations(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise PydanticCustomError("aggregations", "name at least one aggregation, such as records: count")
        for name, text in value.items():
            if name in WINDOW_COLUMNS:
                raise PydanticCustomError("aggregations", "'{name}' is a column the step adds itself",
                                          {"name": name})
            try:
                parse_aggregation(name, text)
            except ValueError as exc:
                raise PydanticCustomError("aggregations", "{name}: {problem}",
                                          {"name": name, "problem": str(exc)}) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TumblingSettings:
        clash = sorted({*self.keys} & {*WINDOW_COLUMNS, *self.aggregations})
        if clash:
            raise PydanticCustomError("keys", "key '{name}' is also an output column of the step",
                                      {"name": clash[0]})
        if self.trigger is not None and self.arrival_column is None:
            raise PydanticCustomError("trigger", "trigger splits arrival_column into batches: set arrival_column")
        if not self.final and self.state_dir is None:
            raise PydanticCustomError("state_dir", "final: false keeps open windows for the next run: set state_dir")
        return self


def _ns(value: timedelta) -> int:
    exact = getattr(value, "value", None)  # a pandas Timedelta counts nanoseconds
    return int(exact) if isinstance(exact, int) else value // timedelta(microseconds=1) * 1_000


@dataclass(frozen=True, slots=True)
class WindowConfig:
    """What the algorithm needs, in plain values: every duration in nanoseconds."""

    time_column: str
    keys: tuple[str, ...]
    size: int
    delay: int
    aggregations: tuple[Aggregation, ...]
    arrival_column: str | None = None
    trigger: int | None = None
    lateness: int = 0
    order_by: tuple[str, ...] = ()
    mode: Literal["append", "update"] = "append"
    final: bool = True

    @classmethod
    def from_settings(cls, settings: TumblingSettings) -> WindowConfig:
        trigger = settings.trigger if settings.trigger is not None else settings.size
        return cls(
            time_column=settings.time_column,
            keys=settings.keys,
            size=_ns(settings.size),
            delay=_ns(settings.watermark),
            aggregations=tuple(parse_aggregation(n, t) for n, t in settings.aggregations.items()),
            arrival_column=settings.arrival_column,
            trigger=_ns(trigger) if settings.arrival_column is not None else None,
            lateness=_ns(settings.allowed_lateness),
            order_by=settings.order_by,
            mode=settings.mode,
            final=settings.final,
        )

    @property
    def by_batch(self) -> bool:
        """Whether a window can be emitted more than once, so partials are kept per batch."""
        return self.mode == "update" or self.lateness > 0

    def columns_of(self, *fns: str) -> tuple[str, ...]:
        """The distinct source columns of the aggregations using ``fns``, in declaration order."""
        seen = dict.fromkeys(a.column for a in self.aggregations if a.fn in fns and a.column is not None)
        return tuple(c for c in seen if c is not None)

    def fingerprint(self) -> dict[str, Any]:
        """What a saved state depends on; a state saved under a different fingerprint is refused."""
        import pandas as pd

        return {
            "keys": list(self.keys),
            "size": pd.Timedelta(self.size).isoformat(),
            "watermark": pd.Timedelta(self.delay).isoformat(),
            "allowed_lateness": pd.Timedelta(self.lateness).isoformat(),
            "batches": "arrival_column" if self.arrival_column is not None else "input frame",
            "trigger": pd.Timedelta(self.trigger).isoformat() if self.trigger is not None else None,
            "aggregations": {a.name: a.expression for a in self.aggregations},
            "order_by": list(self.order_by),
            "mode": self.mode,
        }
