"""The settings of the ``transform`` step types: pydantic models the kernel checks a pipeline against before
anything runs (docs/transform.md is the reference). Light on purpose: planning a pipeline imports this module,
never pandas or DuckDB."""

from __future__ import annotations

import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# What ``select``'s ``cast`` converts to: pandas dtypes, by the names users write.
CASTS = ("int64", "Int64", "float64", "string", "bool", "boolean", "category", "timestamp", "date")
Cast = Literal["int64", "Int64", "float64", "string", "bool", "boolean", "category", "timestamp", "date"]
Names = list[str]


class _Settings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} names '{name}' twice")
        seen.add(name)


class SelectSettings(_Settings):
    """Keep, drop, rename and cast columns. Applied in that order: ``columns`` (keep these, in this order),
    ``drop``, ``rename`` (old: new), ``cast`` (new name: type)."""

    columns: Names | None = Field(None, description="the columns to keep, in this order (default: all)")
    drop: Names = Field(default_factory=list, description="columns to leave out")
    rename: dict[str, str] = Field(default_factory=dict, description="old name: new name")
    cast: dict[str, Cast] = Field(default_factory=dict, description=f"column: one of {', '.join(CASTS)}")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.columns is not None:
            _unique(self.columns, "columns")
        targets = list(self.rename.values())
        _unique(targets, "rename")
        return self


class FilterSettings(_Settings):
    """Keep the rows where ``where`` is true; ``rest`` gets the others (false or null)."""

    where: str = Field(min_length=1, description="a SQL expression (DuckDB) that is true for the rows to keep")


class DeriveSettings(_Settings):
    """New columns (or replaced ones) from SQL expressions, computed in order."""

    columns: dict[str, str] = Field(min_length=1, description="name: SQL expression")


Order = Literal["asc", "desc"]


class SortSettings(_Settings):
    """Order the rows by columns; rows that tie keep their input order."""

    by: Names = Field(min_length=1)
    descending: bool | list[bool] = False
    nulls: Literal["first", "last"] = "last"

    @model_validator(mode="after")
    def _check(self) -> Self:
        if isinstance(self.descending, list) and len(self.descending) != len(self.by):
            raise ValueError(f"descending has {len(self.descending)} entries for {len(self.by)} columns in by")
        return self


class DedupeSettings(_Settings):
    """One row per key: the first or last by ``order_by`` (input order without it); the others go to
    ``duplicates`` with a reason."""

    keys: Names | None = Field(None, description="the columns that identify a row (default: all)")
    order_by: Names = Field(default_factory=list, description="which row is first (default: input order)")
    descending: bool = False
    keep: Literal["first", "last"] = "first"
    state_dir: str | None = Field(None, description="remember the keys let through, so that a later run sets "
                                  "their repeats aside too (a stream's batches, incremental loads)")
    time_column: str | None = Field(None, description="each row's time, for remember")
    remember: str | None = Field(None, description="forget keys whose time lies this long behind the newest "
                                 "(e.g. '7d'); default: remember every key")

    @model_validator(mode="after")
    def _state(self) -> Self:
        if self.state_dir is not None and self.keep == "last":
            raise ValueError("keep: last cannot hold across runs (an earlier run let the first through): "
                             "use keep: first with state_dir")
        if self.remember is not None:
            from kernel import parse_duration

            if self.state_dir is None or self.time_column is None:
                raise ValueError("remember needs state_dir and time_column")
            if not parse_duration(self.remember):
                raise ValueError(f"remember: '{self.remember}' is not a duration (such as '7d')")
        return self


class UnionSettings(_Settings):
    """All inputs' rows, one input after another (in ``needs`` order), columns matched by name."""

    missing: Literal["refuse", "null"] = Field(
        "refuse", description="a column some input lacks: an error, or null in that input's rows")
    source_column: str | None = Field(None, description="a column naming the input each row came from")


class SampleSettings(_Settings):
    """A random, seeded sample of rows, kept in input order."""

    rows: int | None = Field(None, ge=0)
    fraction: float | None = Field(None, ge=0, le=1)
    seed: int = 0

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.rows is None) == (self.fraction is None):
            raise ValueError("give either rows or fraction")
        return self


def _check_keys(keys: Names | None, left: Names | None, right: Names | None) -> None:
    # Not "on": YAML reads a bare on as true.
    if keys is not None and (left is not None or right is not None):
        raise ValueError("give keys, or left_keys and right_keys, not both")
    if keys is None and (left is None or right is None):
        raise ValueError("give keys, or both left_keys and right_keys")
    if keys is not None and not keys:
        raise ValueError("keys names no column")
    if left is not None and right is not None and len(left) != len(right):
        raise ValueError(f"left_keys has {len(left)} columns, right_keys {len(right)}")


def _sides(keys: Names | None, left: Names | None, right: Names | None) -> tuple[list[str], list[str]]:
    if keys is not None:
        return list(keys), list(keys)
    assert left is not None and right is not None
    return list(left), list(right)


class _Keyed(_Settings):
    """Settings of a step that matches two inputs' rows by key columns."""

    keys: Names | None = Field(None, description="key columns of both inputs")
    left_keys: Names | None = None
    right_keys: Names | None = None

    @model_validator(mode="after")
    def _keys(self) -> Self:
        _check_keys(self.keys, self.left_keys, self.right_keys)
        return self

    def sides(self) -> tuple[list[str], list[str]]:
        return _sides(self.keys, self.left_keys, self.right_keys)


Relationship = Literal["one_to_one", "one_to_many", "many_to_one", "many_to_many"]


class JoinSettings(_Keyed):
    """Join inputs ``left`` and ``right`` on key columns; optionally check the keys' relationship and that
    rows match, refusing the run or moving the offending rows to ``quarantine``."""

    how: Literal["inner", "left", "right", "outer", "anti", "semi"] = "inner"
    relationship: Relationship = Field(
        "many_to_many", description="what the keys must be: one_to_one, one_to_many, many_to_one or many_to_many")
    require_match: Literal["none", "left", "right", "both"] = Field(
        "none", description="whose rows must all find a partner")
    on_violation: Literal["refuse", "quarantine"] = Field(
        "refuse", description="a broken relationship or an unmatched row: stop the run, or quarantine the rows")
    suffix: str = Field("_right", description="added to a right column whose name the left has")


class LookupSettings(_Keyed):
    """Enrich ``records`` with columns of ``dimension`` (unique on its keys); a record without a match gets
    ``default`` values. Row count and order of ``records`` are kept."""

    columns: Names | None = Field(None, description="dimension columns to bring (default: all but the keys)")
    default: dict[str, Any] = Field(default_factory=dict, description="column: value for records without a match")
    matched_column: str | None = Field(None, description="a true/false column saying whether the record matched")


class AggregateSettings(_Settings):
    """One row per group: SQL aggregate expressions (DuckDB) per group of ``by``, ordered by ``by``."""

    by: Names = Field(default_factory=list, description="group columns (none: one row over all)")
    aggregations: dict[str, str] = Field(min_length=1, description="name: SQL aggregate expression")
    having: str | None = Field(None, description="a SQL condition on the groups to keep")


class PivotSettings(_Settings):
    """Long to wide: one row per ``index``, one column per value of ``columns``."""

    index: Names = Field(min_length=1)
    columns: str
    values: str
    aggregate: Literal["refuse", "sum", "mean", "count", "min", "max", "first", "last"] = Field(
        "refuse", description="how to combine rows with the same index and column (refuse: an error)")
    fill: Any = Field(None, description="the value of a missing cell")
    prefix: str = ""


class UnpivotSettings(_Settings):
    """Wide to long: one row per input row and value column."""

    index: Names = Field(min_length=1, description="columns that identify a row, kept as they are")
    values: Names | None = Field(None, description="columns to unpivot (default: all others)")
    variable: str = "variable"
    value: str = "value"
    drop_nulls: bool = False


class WindowColumn(_Settings):
    """A window function column: ``expression`` over the step's partitions and order, within a frame."""

    expression: str = Field(min_length=1)
    rows: int | None = Field(None, ge=1, description="the last N rows up to this one (a rolling window)")
    range: str | None = Field(None, description="the order column's values within this duration back, e.g. '7d'")
    running: bool = Field(False, description="from the first row of the partition up to this one")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if sum([self.rows is not None, self.range is not None, self.running]) > 1:
            raise ValueError("give at most one of rows, range and running")
        return self


class WindowFunctionsSettings(_Settings):
    """Columns computed over partitions of rows, such as rank, row number, lag and lead, running and rolling
    sums; rows keep their input order."""

    partition_by: Names = Field(default_factory=list)
    order_by: Names = Field(default_factory=list)
    descending: bool = False
    columns: dict[str, str | WindowColumn] = Field(min_length=1, description="name: SQL window function call")


class Scd2Settings(_Settings):
    """A type-2 history from the latest ``snapshot`` and the previous ``history`` (none on the first run)."""

    keys: Names = Field(min_length=1, description="the natural key")
    tracked: Names | None = Field(None, description="columns whose change opens a new version (default: all)")
    as_of: str = Field(min_length=1, description="when the snapshot was taken (a timestamp, UTC)")
    deleted: Literal["close", "keep"] = Field(
        "close", description="a key missing from the snapshot: close its current version, or keep it open")
    valid_from: str = Field("valid_from", min_length=1)
    valid_to: str = Field("valid_to", min_length=1)
    is_current: str = Field("is_current", min_length=1)

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 2026-03-01 as a date: take it as that day's midnight, UTC.
        if isinstance(value, datetime.datetime | datetime.date):
            return value.isoformat()
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique(self.keys, "keys")
        if self.tracked is not None:
            _unique(self.tracked, "tracked")
        _unique([self.valid_from, self.valid_to, self.is_current], "valid_from, valid_to and is_current")
        return self


class SurrogateKeysSettings(_Settings):
    """A surrogate key per natural key, stable across runs when ``existing`` (the previous keyed dimension)
    is given; new keys follow the highest existing one in natural-key order; 0 is the unknown member."""

    keys: Names = Field(min_length=1, description="the natural key")
    name: str = Field(min_length=1, description="the surrogate key column")
    unknown: dict[str, Any] = Field(default_factory=dict, description="column values of the unknown member")
    vanished: Literal["keep", "drop"] = Field(
        "keep", description="a natural key of existing that the dimension no longer has: keep its row, or drop it")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique(self.keys, "keys")
        if self.name in self.keys:
            raise ValueError(f"name '{self.name}' is also a natural key column")
        return self


class StarDimension(_Settings):
    fact_keys: Names = Field(min_length=1, description="the fact columns that hold the dimension's natural key")
    keys: Names | None = Field(None, description="the dimension's natural key (default: the names in fact_keys)")
    key: str = Field(min_length=1, description="the dimension's surrogate key column")
    keep_natural: bool = Field(False, description="keep the fact's natural key columns beside the surrogate key")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique(self.fact_keys, "fact_keys")
        if self.keys is not None and len(self.keys) != len(self.fact_keys):
            raise ValueError(f"keys has {len(self.keys)} columns, fact_keys {len(self.fact_keys)}")
        return self

    def natural(self) -> list[str]:
        """The dimension's natural key columns."""
        return list(self.keys if self.keys is not None else self.fact_keys)


class StarSettings(_Settings):
    """A fact table whose natural keys are replaced by the dimensions' surrogate keys (0, the unknown member,
    where a dimension has no match; those rows are also listed in ``unmatched`` with a reason)."""

    dimensions: dict[str, StarDimension] = Field(min_length=1, description="input name: how facts reference it")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if "facts" in self.dimensions:
            raise ValueError("'facts' is the fact input's name, not a dimension's")
        _unique([d.key for d in self.dimensions.values()], "the dimensions' key")
        return self


class SqlSettings(_Settings):
    """One SELECT (DuckDB SQL) over the step's inputs, each a table named by its input name."""

    query: str = Field(min_length=1)
