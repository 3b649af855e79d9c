"""The shape of a ``data.yaml`` (docs/datagen.md): pydantic models, every one refusing unknown fields.

Only the shape is checked here; what the fields mean together (a reference to a table that exists, a
defect on a column that can have it) is checked by :mod:`kernel_datagen.rules`. Nothing here imports
numpy, so a showcase list stays cheap.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from kernel import parse_duration

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a table or column name: a valid Avro name
FORMATS = ("avro", "json", "csv", "parquet")
TYPES = ("int", "float", "string", "bool", "timestamp")
KINDS = ("uniform", "normal", "lognormal", "categorical", "sequence", "timestamps", "pattern", "constant",
         "reference")

ColumnType = Literal["int", "float", "string", "bool", "timestamp"]


def to_instant(value: Any) -> datetime:
    """A time as YAML gives it (a datetime, a date, ISO-8601 text) as an aware UTC datetime; naive is UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a time; write ISO-8601 such as 2026-01-05T00:00:00Z") from None
    else:
        raise ValueError(f"{value!r} is not a time; write ISO-8601 such as 2026-01-05T00:00:00Z")
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not 1000 <= moment.year <= 9000:  # the text forms written for CSV and JSON have four-digit years
        raise ValueError(f"'{value}' is outside the years 1000 to 9000")
    return moment


def to_duration_ms(value: Any) -> int:
    """A duration written as text (``15min``, ``1h30min``, ``2d``) in whole milliseconds, at least one."""
    found = parse_duration(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a duration; write one such as 30s, 15min, 1h or 2d")
    if found < 1_000_000:
        raise ValueError(f"'{value}' is less than a millisecond")
    return found // 1_000_000


def to_bound(value: Any) -> int | float | datetime:
    """A bound of a range: a number, or a time for a timestamp column."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number or a time")
    if isinstance(value, int | float):
        return value
    try:
        return to_instant(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number or a time") from None


Instant = Annotated[datetime, BeforeValidator(to_instant)]
Duration = Annotated[int, BeforeValidator(to_duration_ms)]
Bound = Annotated[int | float | datetime, BeforeValidator(to_bound)]
Rate = Annotated[float, Field(ge=0, lt=1)]
Value = str | bool | int | float


class Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class Uniform(Strict):
    """Every value in [low, high] equally likely (an int column includes high; a float one excludes it)."""

    kind: Literal["uniform"]
    low: Bound
    high: Bound


class Normal(Strict):
    kind: Literal["normal"]
    mean: float
    std: float = Field(ge=0)


class Lognormal(Strict):
    """``exp`` of a normal value of ``mean`` and ``sigma`` (the median is ``exp(mean)``), as numpy's."""

    kind: Literal["lognormal"]
    mean: float
    sigma: float = Field(ge=0)


class Categorical(Strict):
    kind: Literal["categorical"]
    values: list[Value | Instant] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0)]] | None = None


class Sequence(Strict):
    """start, start + step, start + 2 step, ... in row order: unique, so a key may be one."""

    kind: Literal["sequence"]
    start: int = 1
    step: int = 1


class Timestamps(Strict):
    """Times in row order: ``start`` plus ``every`` per row (plus a delay in [0, jitter)), or sorted
    uniform times in [start, end)."""

    kind: Literal["timestamps"]
    start: Instant
    every: Duration | None = None
    jitter: Duration | None = None
    end: Instant | None = None


class Pattern(Strict):
    """Text from a template: literal text, ``{seq}``/``{seq:06d}`` (the row number from ``start``) and
    ``[A-Z]{3}``-like character classes."""

    kind: Literal["pattern"]
    pattern: str = Field(min_length=1)
    start: int = Field(1, ge=0)


class Constant(Strict):
    kind: Literal["constant"]
    value: Value | Instant


class Reference(Strict):
    """A foreign key: each value one of the keys of ``to`` (``table.column``), except ``orphans`` of them."""

    kind: Literal["reference"]
    to: str
    orphans: Rate = 0.0


Distribution = Annotated[Uniform | Normal | Lognormal | Categorical | Sequence | Timestamps | Pattern | Constant
                         | Reference, Field(discriminator="kind")]


class Column(Strict):
    type: ColumnType | None = None
    distribution: Distribution
    range: tuple[Bound, Bound] | None = None
    decimals: int | None = Field(None, ge=0, le=12)

    @field_validator("distribution", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        # pydantic's own message lists every tag; this one names the closest.
        if isinstance(value, dict) and isinstance(value.get("kind"), str) and value["kind"] not in KINDS:
            import difflib

            close = difflib.get_close_matches(value["kind"], KINDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"kinds: {', '.join(KINDS)}"
            raise ValueError(f"unknown kind '{value['kind']}'; {hint}")
        return value


class Series(Strict):
    """``count`` rows per key of ``per`` (``table.column``), ``every`` apart from ``start``."""

    per: str
    count: int = Field(ge=1)
    every: Duration
    start: Instant
    time: str
    jitter: Duration | None = None
    column: str | None = None


class Late(Strict):
    rate: Rate
    delay: tuple[Duration, Duration]


class Drift(Strict):
    column: str
    share: float = Field(gt=0, le=1)
    rename: str | None = None
    type: Literal["string", "float"] | None = None


class Defects(Strict):
    duplicates: Rate = 0.0
    nulls: dict[str, Rate] = Field(default_factory=dict)
    out_of_range: dict[str, Rate] = Field(default_factory=dict)
    malformed: dict[str, Rate] = Field(default_factory=dict)
    late: Late | None = None
    out_of_order: Rate = 0.0
    schema_drift: list[Drift] = Field(default_factory=list)


class Table(Strict):
    format: Literal["avro", "json", "csv", "parquet"]
    rows: int | None = Field(None, ge=1)
    fixed: bool = False
    layout: Literal["single", "daily"] = "single"
    key: str | None = None
    time: str | None = None
    arrival: str | None = Field(None, description="a column of when each row arrived (its time, later for a late row)")
    series: Series | None = None
    columns: dict[str, Column] = Field(default_factory=dict)
    defects: Defects = Field(default_factory=Defects)


class DataSpec(Strict):
    description: str = ""
    tables: dict[str, Table] = Field(min_length=1)
