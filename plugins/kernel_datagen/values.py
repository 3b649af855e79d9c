"""A column's values for all rows at once, from its distribution, with numpy.

Values are held as numpy arrays: ``int64`` (int), ``float64`` (float), ``bool``, fixed-width UTF-8 bytes
(string; never empty and never holding NUL, so the padding is not part of a value) and ``int64``
milliseconds since 1970 UTC (timestamp), with a mask of the nulls beside them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kernel_datagen import patterns
from kernel_datagen.rules import ms
from kernel_datagen.spec import (
    Categorical,
    Column,
    ColumnType,
    Constant,
    Lognormal,
    Normal,
    Pattern,
    Sequence,
    Timestamps,
    Uniform,
    to_instant,
)

Array = NDArray[Any]
Bools = NDArray[np.bool_]
Longs = NDArray[np.int64]


@dataclass(slots=True)
class Col:
    """A column's values and where they are null."""

    type: ColumnType
    data: Array
    null: Bools

    def take(self, index: Longs) -> Col:
        return Col(self.type, self.data[index], self.null[index])


@dataclass(frozen=True, slots=True)
class Keys:
    """A table's key values, and how to make more values of the same form that are none of them."""

    values: Array
    beyond: Callable[[Longs, np.random.Generator], Array]  # values at row numbers past the table's rows


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator of its own for each table, column and purpose: adding a column changes no other one."""
    codes = [int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little") for name in names]
    return np.random.default_rng([seed, *codes])


def rate_count(rate: float, n: int) -> int:
    """The number of rows ``rate`` of ``n`` stands for (rounded half up)."""
    return int(rate * n + 0.5)


def make(column: Column, kind: ColumnType, n: int, rng: np.random.Generator, *,
         parent: Keys | None = None) -> Col:
    """``n`` values of ``column`` (of type ``kind``), none null; ``parent``: the referenced keys."""
    d = column.distribution
    data: Array
    if isinstance(d, Uniform):
        data = _uniform(d, kind, n, rng)
    elif isinstance(d, Normal):
        data = rng.normal(d.mean, d.std, n)
    elif isinstance(d, Lognormal):
        data = rng.lognormal(d.mean, d.sigma, n)
    elif isinstance(d, Categorical):
        weights = np.asarray(d.weights if d.weights is not None else [1.0] * len(d.values), np.float64)
        codes = rng.choice(len(d.values), size=n, p=weights / weights.sum())
        data = scalars(d.values, kind)[codes]
    elif isinstance(d, Sequence):
        data = d.start + d.step * np.arange(n, dtype=np.int64)
    elif isinstance(d, Timestamps):
        data = timestamps(d, n, rng)
    elif isinstance(d, Pattern):
        data = patterns.generate(patterns.parse(d.pattern), d.start + np.arange(n, dtype=np.int64), rng)
    elif isinstance(d, Constant):
        data = np.repeat(scalars([d.value], kind), n)
    else:
        assert parent is not None
        data = parent.values[rng.integers(0, parent.values.size, n)]
    return Col(kind, _shaped(data, column, kind), np.zeros(n, np.bool_))


def _uniform(d: Uniform, kind: ColumnType, n: int, rng: np.random.Generator) -> Array:
    if kind == "timestamp":
        assert isinstance(d.low, datetime) and isinstance(d.high, datetime)
        return rng.integers(ms(d.low), ms(d.high), n, dtype=np.int64)
    low, high = float(d.low), float(d.high)  # type: ignore[arg-type]
    if kind == "int":
        return rng.integers(int(low), int(high), n, dtype=np.int64, endpoint=True)
    return rng.uniform(low, high, n)


def timestamps(d: Timestamps, n: int, rng: np.random.Generator) -> Longs:
    """Times in row order: ``every`` apart with a delay in [0, jitter), or sorted in [start, end)."""
    start = ms(d.start)
    if d.every is not None:
        times = start + d.every * np.arange(n, dtype=np.int64)
        if d.jitter:
            times += rng.integers(0, d.jitter, n, dtype=np.int64)
        return times
    assert d.end is not None
    return np.sort(rng.integers(start, ms(d.end), n, dtype=np.int64))


def scalars(values: list[Any], kind: ColumnType) -> Array:
    """Values from the spec as an array of the column's type."""
    if kind == "string":
        return np.array([str(v).encode() for v in values], dtype="S")
    if kind == "timestamp":
        return np.array([ms(to_instant(v)) for v in values], dtype=np.int64)
    dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}[kind]
    return np.array(values, dtype=dtype)


def _shaped(data: Array, column: Column, kind: ColumnType) -> Array:
    """Rounded to the column's decimals or to whole numbers, and kept within its range."""
    if kind == "float" and column.decimals is not None:
        data = np.round(data, column.decimals)
    if kind == "int" and data.dtype.kind == "f":
        data = np.rint(data)
    if column.range is not None:
        low, high = (float(ms(b)) if isinstance(b, datetime) else float(b) for b in column.range)
        if kind in ("int", "timestamp"):
            low, high = float(np.ceil(low)), float(np.floor(high))
        data = np.clip(data, low, high)
    if kind in ("int", "timestamp"):
        return data.astype(np.int64)
    return data


def key_maker(column: Column, values: Array) -> Keys:
    """A table's keys: its key column's values, and more of the same form past its rows."""
    d = column.distribution

    def beyond(rows_at: Longs, rng: np.random.Generator) -> Array:
        if isinstance(d, Sequence):
            return d.start + d.step * rows_at
        assert isinstance(d, Pattern)
        return patterns.generate(patterns.parse(d.pattern), d.start + rows_at, rng)

    return Keys(values, beyond)


def series(values: Array, count: int, start: int, every: int, jitter: int | None,
           rng: np.random.Generator) -> tuple[Array, Longs]:
    """``count`` times per key, ``every`` apart from ``start`` (plus a delay in [0, jitter)); the rows in time
    order, a time's keys in the parent's order."""
    keys = values.size
    step = np.repeat(np.arange(count, dtype=np.int64), keys)
    entity = np.tile(np.arange(keys, dtype=np.int64), count)
    times = start + every * step
    if jitter:
        times += rng.integers(0, jitter, times.size, dtype=np.int64)
    order = np.lexsort((entity, times))
    return values[entity[order]], times[order]


def as_text(col: Col) -> Col:
    """The column as text: numbers as Python writes them, times as ISO-8601, true/false."""
    if col.type == "string":
        return col
    if col.type == "timestamp":
        data: Array = iso_text(col.data)
    elif col.type == "bool":
        data = np.where(col.data, b"true", b"false")
    elif col.type == "float":
        data = col.data.astype("S32")  # numpy's shortest text that reads back as the same double
    else:
        data = col.data.astype("S")
    return Col("string", data, col.null)


def iso_text(millis: Longs) -> NDArray[np.bytes_]:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` for each time (UTC, years 1000 to 9999), made with integer arithmetic."""
    millis = np.asarray(millis, np.int64)
    days = millis.astype("datetime64[ms]").astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months).astype(np.int64) + 1
    within = millis - days.astype("datetime64[ms]").astype(np.int64)
    fields = [(year, 4), (b"-", 0), (month, 2), (b"-", 0), (day, 2), (b"T", 0), (within // 3_600_000, 2),
              (b":", 0), (within // 60_000 % 60, 2), (b":", 0), (within // 1000 % 60, 2), (b".", 0),
              (within % 1000, 3), (b"Z", 0)]
    out = np.empty((millis.size, 24), np.uint8)
    at = 0
    for value, width in fields:
        if isinstance(value, bytes):
            out[:, at] = value[0]
            at += 1
            continue
        for k in range(width):
            out[:, at + k] = 48 + value // 10 ** (width - 1 - k) % 10
        at += width
    return out.view("S24").reshape(millis.size)
