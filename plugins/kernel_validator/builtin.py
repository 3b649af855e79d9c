"""The built-in checks as pipeline files declare them: not_null, unique, in_range, in_set, matches, row_count,
freshness, and the settings of foreign_key and reconcile. Their functions (:mod:`kernel_validator.checks`,
:mod:`kernel_validator.crossstep`) are imported where checks run: declaring and checking a pipeline's checks
needs neither pandas nor pandera.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel import parse_duration
from kernel_validator.checktype import CheckType
from kernel_validator.refs import parse_ref, parse_term

Scalar = int | float | str | datetime | date
_CHECKS = "kernel_validator.checks:"


class Settings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class ColumnsSettings(Settings):
    """``columns: [a, b]``, or ``column: a`` for one."""

    columns: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_column(cls, data: Any) -> Any:
        if isinstance(data, dict) and "column" in data:
            if "columns" in data:
                raise ValueError("give either 'column' or 'columns', not both")
            data = {**data, "columns": [data["column"]]}
            del data["column"]
        return data


class NotNull(ColumnsSettings):
    pass


class Unique(ColumnsSettings):
    keep: Literal["none", "first", "last"] = Field("none", description="which copy of a duplicate passes")


class InRange(Settings):
    column: str
    min: Scalar | None = None
    max: Scalar | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @field_validator("min", "max", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a bound is a number or a timestamp, not a boolean")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> InRange:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        numbers = (int, float)
        if isinstance(self.min, numbers) and isinstance(self.max, numbers) and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class InSet(Settings):
    column: str
    values: tuple[Any, ...] = Field(min_length=1)


class Matches(Settings):
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class RowCount(Settings):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCount:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Freshness(Settings):
    column: str
    max_age: str
    now: str | datetime | date | None = Field(None, description="the reference time; default: when the check runs")

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        ns = parse_duration(value)
        if ns is None:
            raise ValueError(f"not a duration: {value!r} (write e.g. '2d', '36h', '15min')")
        if ns <= 0:
            raise ValueError(f"the duration must be positive, got {value!r}")
        return value

    @field_validator("now")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"not a timestamp: {value!r} (ISO 8601, such as '2024-05-01T12:00:00Z')") from None
        return value


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


PANDERA_CHECKS = frozenset({"in_range", "in_set", "matches"})


def load_pandera() -> None:
    """Import pandera ahead of the first check that uses it, so the import is not timed as a check."""
    import pandera.backends.pandas.builtin_checks  # noqa: F401


class ForeignKey(Settings):
    column: str
    ref: str = Field(description="the referenced output: step or step.output, upstream of the checked step")
    ref_column: str | None = Field(None, description="the referenced column; default: the same name as column")

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        parse_ref(value)
        return value

    @property
    def target_column(self) -> str:
        return self.ref_column or self.column


class Reconcile(Settings):
    left: tuple[str, ...] = Field(min_length=1)
    right: tuple[str, ...] = Field(min_length=1)
    tolerance: float = Field(0.0, ge=0, description="largest allowed absolute difference of the two sums")

    @field_validator("left", "right", mode="before")
    @classmethod
    def _one_term(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("left", "right")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for term in value:
            parse_term(term)
        return value




def _range_reason(s: InRange) -> str:
    if s.min is not None and s.max is not None:
        low, high = "[" if s.min_inclusive else "(", "]" if s.max_inclusive else ")"
        return f"{s.column} outside {low}{_show(s.min)}, {_show(s.max)}{high}"
    if s.min is not None:
        return f"{s.column} {'below' if s.min_inclusive else 'at or below'} {_show(s.min)}"
    return f"{s.column} {'above' if s.max_inclusive else 'at or above'} {_show(s.max)}"


def _set_reason(s: InSet) -> str:
    shown = ", ".join(_show(v) for v in s.values[:10]) + (", ..." if len(s.values) > 10 else "")
    return f"{s.column} not in {{{shown}}}"


def _count_reason(s: RowCount) -> str:
    low = "0" if s.min is None else str(s.min)
    high = "inf" if s.max is None else str(s.max)
    return f"row count outside [{low}, {high}]"


BUILTIN: tuple[CheckType, ...] = (
    CheckType("not_null", NotNull, _CHECKS + "not_null", reason=lambda s: f"null in {' or '.join(s.columns)}",
              description="no null in the columns"),
    CheckType("unique", Unique, _CHECKS + "unique", reason=lambda s: f"duplicate ({', '.join(s.columns)})",
              description="no two rows share the values of the columns"),
    CheckType("in_range", InRange, _CHECKS + "in_range", reason=_range_reason,
              description="values between min and max"),
    CheckType("in_set", InSet, _CHECKS + "in_set", reason=_set_reason, description="values among the listed ones"),
    CheckType("matches", Matches, _CHECKS + "matches", reason=lambda s: f"{s.column} does not match '{s.pattern}'",
              description="text values match a regular expression (at their start; anchor with $)"),
    CheckType("row_count", RowCount, _CHECKS + "row_count", per_row=False, reason=_count_reason,
              description="the output's row count between min and max"),
    CheckType("freshness", Freshness, _CHECKS + "freshness", per_row=False,
              reason=lambda s: f"{s.column} not fresh",
              description="the newest timestamp within max_age before now"),
)
