"""The built-in checks on one output: not_null, unique, in_range, in_set, matches, row_count, freshness.

Value checks (in_range, in_set, matches) run pandera's built-in check functions (those behind
``pa.Check.in_range``, ``isin`` and ``str_matches``) on the column alone, which gives the outcome
per row; counts and failing values follow from it. Neither ``DataFrameSchema.validate`` nor
``Check.__call__`` is used: they build failure-case tables this plugin does not need and cost several
times the check itself on small frames, once per check and step (figures in docs/validator.md).
not_null and unique are plain pandas (``notna``, ``duplicated``): in pandera they are schema
properties, reported only through a schema validation. pandera is imported when a run first needs
it, so pipelines without these checks never pay for the import.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel_validator.checktype import CheckType, FrameResult, RowMask
from kernel_validator.timestamps import like_column, parse_duration, parse_timestamp, utc_column

Scalar = int | float | str | datetime | date


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        parse_duration(value)
        return value

    @field_validator("now")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        if value is not None:
            parse_timestamp(value)
        return value


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


PANDERA_CHECKS = frozenset({"in_range", "in_set", "matches"})


def load_pandera() -> None:
    """Import pandera ahead of the first check that uses it, so the import is not timed as a check."""
    import pandera.backends.pandas.builtin_checks  # noqa: F401


def _values_check(series: pd.Series[Any], outcome: Any) -> RowMask:
    """A value check's outcome; a null is not checked (as pandera's ``ignore_na``)."""
    present = series.notna().to_numpy()
    passed = np.asarray(outcome.to_numpy(dtype=bool, na_value=False)) | ~present
    return RowMask(passed, present)


def not_null(frame: pd.DataFrame, settings: NotNull) -> RowMask:
    present = [frame[c].notna().to_numpy() for c in settings.columns]
    return RowMask(np.logical_and.reduce(present) if len(present) > 1 else present[0])


def unique(frame: pd.DataFrame, settings: Unique) -> RowMask:
    keep: Literal["first", "last", False] = False if settings.keep == "none" else settings.keep
    columns = list(settings.columns)
    copies = frame[columns[0]].duplicated(keep=keep) if len(columns) == 1 else frame.duplicated(columns, keep=keep)
    return RowMask(~copies.to_numpy())


def in_range(frame: pd.DataFrame, settings: InRange) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    low = None if settings.min is None else like_column(settings.min, series)
    high = None if settings.max is None else like_column(settings.max, series)
    if low is not None and high is not None:
        outcome = pa.in_range(series, low, high, settings.min_inclusive, settings.max_inclusive)
    elif low is not None:
        outcome = (pa.greater_than_or_equal_to if settings.min_inclusive else pa.greater_than)(series, low)
    else:
        outcome = (pa.less_than_or_equal_to if settings.max_inclusive else pa.less_than)(series, high)
    return _values_check(series, outcome)


def in_set(frame: pd.DataFrame, settings: InSet) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    return _values_check(series, pa.isin(series, list(settings.values)))


def matches(frame: pd.DataFrame, settings: Matches) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    text = series if pd.api.types.is_string_dtype(series.dtype) else series.astype("string")  # numbers as text
    return _values_check(series, pa.str_matches(text, settings.pattern))


def row_count(frame: pd.DataFrame, settings: RowCount) -> FrameResult:
    rows = len(frame)
    passed = (settings.min is None or rows >= settings.min) and (settings.max is None or rows <= settings.max)
    return FrameResult(
        passed=passed,
        message=f"{rows} rows",
        observed={"rows": rows},
        failing_values=() if passed else (rows,),
        rows_checked=rows,
    )


def freshness(frame: pd.DataFrame, settings: Freshness) -> FrameResult:
    stamps = utc_column(frame[settings.column]).dropna()
    now = parse_timestamp(settings.now) if settings.now is not None else pd.Timestamp.now(tz="UTC")
    oldest_allowed = now - parse_duration(settings.max_age)
    observed: dict[str, Any] = {"now": now.isoformat(), "oldest_allowed": oldest_allowed.isoformat()}
    if stamps.empty:
        return FrameResult(False, f"no {settings.column} values", observed, rows_checked=0)
    newest = stamps.max()
    observed["newest"] = newest.isoformat()
    if newest < oldest_allowed:
        message = f"newest {settings.column} {newest.isoformat()} is older than {oldest_allowed.isoformat()}"
    elif newest > now:
        message = f"newest {settings.column} {newest.isoformat()} is after {now.isoformat()}"
    else:
        return FrameResult(True, f"newest {settings.column} {newest.isoformat()}", observed, rows_checked=len(stamps))
    return FrameResult(False, message, observed, (newest.isoformat(),), rows_checked=len(stamps))


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
    CheckType("not_null", NotNull, not_null, reason=lambda s: f"null in {' or '.join(s.columns)}",
              description="no null in the columns"),
    CheckType("unique", Unique, unique, reason=lambda s: f"duplicate ({', '.join(s.columns)})",
              description="no two rows share the values of the columns"),
    CheckType("in_range", InRange, in_range, reason=_range_reason, description="values between min and max"),
    CheckType("in_set", InSet, in_set, reason=_set_reason, description="values among the listed ones"),
    CheckType("matches", Matches, matches, reason=lambda s: f"{s.column} does not match '{s.pattern}'",
              description="text values match a regular expression (at their start; anchor with $)"),
    CheckType("row_count", RowCount, row_count, per_row=False, reason=_count_reason,
              description="the output's row count between min and max"),
    CheckType("freshness", Freshness, freshness, per_row=False,
              reason=lambda s: f"{s.column} not fresh",
              description="the newest timestamp within max_age before now"),
)
