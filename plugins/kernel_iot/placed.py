"""Avro files read straight into the columns of the one frame they make up.

The blocks' headers say how many records each file holds, so each column of the whole frame is made once,
before any file is decoded, and every file's records are written into their own rows of it, a few megabytes
of blocks at a time. No file's frame is ever built, nor a copy of the files' frames joined: at 1,000 devices
x 7 days the telemetry's read took 220,000 page faults where reading each file into a frame, conforming it
and joining the frames took 370,000 to 400,000, and its peak fell by about 250 MB (docs/io.md#performance).

Text kept as categories (``categorical``) is coded batch by batch against one table of the words seen; a
file polars cannot decode goes through ``read_avro`` and ``conform_columns`` as before, and its frame is
copied into its rows. The frame is the one those make and ``concat_columns`` joins:
``tests/test_iot_ingest_placed.py`` holds them equal on random files.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from kernel_io import Column, avro_batches

from kernel import DataError

NAT = np.iinfo(np.int64).min  # how NaT is stored
_NUMBERS = {"long": np.int64, "double": np.float64, "boolean": np.bool_, "timestamp": np.int64}


def can_place(declared: Sequence[Column], categorical: Sequence[str]) -> bool:
    """Whether every declared column can be made before reading: numbers, times, enums and categorical text."""
    return all(c.kind in _NUMBERS or c.kind == "enum" or (c.kind == "string" and c.name in categorical)
               for c in declared)


class Placed(ABC):
    """One declared column of ``rows`` rows, filled a file's batch at a time (threads write disjoint rows)."""

    def __init__(self, column: Column) -> None:
        self.column = column

    @abstractmethod
    def put(self, at: int, values: Any, found: Column) -> int:
        """Batch ``values`` (from ``avro_batches``, as the file's own column ``found``) at row ``at``; returns
        how many of them are missing, as ``conform_columns`` counts them."""

    @abstractmethod
    def put_series(self, at: int, values: pd.Series) -> None:
        """A file's column conformed by ``conform_columns`` at row ``at``."""

    @abstractmethod
    def put_missing(self, at: int, rows: int) -> None:
        """A nullable field the file does not have: missing in its rows."""

    @abstractmethod
    def array(self) -> Any:
        """The column's pandas array, once every row is in place."""


class Numbers(Placed):
    """int64, float64, bool and UTC milliseconds; nullable integers and booleans keep a mask of the missing."""

    def __init__(self, column: Column, rows: int) -> None:
        super().__init__(column)
        self.values: np.ndarray = np.empty(rows, dtype=_NUMBERS[column.kind])
        masked = column.nullable and column.kind in ("long", "boolean")
        self.mask = np.empty(rows, dtype=np.bool_) if masked else None
        self.fill: Any = {"double": np.nan, "timestamp": NAT, "boolean": False}.get(column.kind, 0)

    def put(self, at: int, values: Any, found: Column) -> int:
        rows = len(values)
        where = slice(at, at + rows)
        missing = int(values.null_count)
        if self.mask is not None:
            self.mask[where] = values.is_null().to_numpy(zero_copy_only=False) if missing else False
        if missing:
            values = pc.fill_null(values, pa.scalar(self.fill, values.type))
        data = values.to_numpy(zero_copy_only=False)
        if self.column.kind == "timestamp" and found.unit == "us":
            data = np.where(data == NAT, NAT, data // 1000)  # as pandas' as_unit("ms"): floored
        self.values[where] = data
        if self.column.kind == "double":
            return int(np.isnan(self.values[where]).sum())
        if self.column.kind == "timestamp":
            return int((self.values[where] == NAT).sum())
        return missing

    def put_series(self, at: int, values: pd.Series) -> None:
        where = slice(at, at + len(values))
        if self.column.kind == "timestamp":
            self.values[where] = values.array.asi8
            return
        if self.mask is not None:
            self.mask[where] = values.isna().to_numpy()
            self.values[where] = values.to_numpy(dtype=self.values.dtype, na_value=self.fill)
            return
        self.values[where] = values.to_numpy()

    def put_missing(self, at: int, rows: int) -> None:
        self.values[at:at + rows] = self.fill
        if self.mask is not None:
            self.mask[at:at + rows] = True

    def array(self) -> Any:
        if self.column.kind == "timestamp":
            return pd.array(self.values.view("M8[ms]"), copy=False).view(pd.DatetimeTZDtype("ms", "UTC"))
        if self.mask is None:
            return self.values
        if self.column.kind == "long":
            return pd.arrays.IntegerArray(self.values, self.mask)
        return pd.arrays.BooleanArray(self.values, self.mask)


class Enum(Placed):
    """An enum's codes among the declared symbols."""

    def __init__(self, column: Column, rows: int) -> None:
        super().__init__(column)
        self.dtype = pd.CategoricalDtype(list(column.symbols))
        self.codes = np.empty(rows, dtype=_code_type(len(column.symbols)))
        self._lookups: dict[tuple[str, ...], np.ndarray] = {}

    def put(self, at: int, values: Any, found: Column) -> int:
        lookup = self._lookups.get(found.symbols)
        if lookup is None:  # the file's symbols' declared positions, then -1 for the file's -1
            lookup = np.array([self.column.symbols.index(s) if s in self.column.symbols else -1
                               for s in found.symbols] + [-1], dtype=self.codes.dtype)
            self._lookups[found.symbols] = lookup
        placed = self.codes[at:at + len(values)]
        np.take(lookup, values, out=placed, mode="wrap")  # -1, none: the lookup's last entry
        return int((placed < 0).sum())

    def put_series(self, at: int, values: pd.Series) -> None:
        self.codes[at:at + len(values)] = values.cat.codes.to_numpy()

    def put_missing(self, at: int, rows: int) -> None:
        self.codes[at:at + rows] = -1

    def array(self) -> Any:
        return pd.Categorical.from_codes(self.codes, dtype=self.dtype, validate=False)


class Words(Placed):
    """Text kept as categories: codes into one table of the words the files hold, threads sharing it; the
    categories are the words used, sorted, as ``astype("category")`` and ``union_categoricals`` give them."""

    def __init__(self, column: Column, rows: int) -> None:
        super().__init__(column)
        self.codes = np.empty(rows, dtype=np.int32)
        self.words: dict[str, int] = {}
        self._lock = threading.Lock()

    def _place(self, at: int, codes: np.ndarray, words: list[str]) -> None:
        with self._lock:
            known = self.words
            lookup = np.array([known.setdefault(word, len(known)) for word in words] + [-1], dtype=np.int32)
        np.take(lookup, codes, out=self.codes[at:at + len(codes)], mode="wrap")

    def put(self, at: int, values: Any, found: Column) -> int:
        coded = pc.dictionary_encode(values)
        indices = coded.indices
        codes = pc.fill_null(indices, -1).to_numpy() if indices.null_count else indices.to_numpy()
        self._place(at, codes, coded.dictionary.to_pylist())
        return int(values.null_count)

    def put_series(self, at: int, values: pd.Series) -> None:
        self._place(at, values.cat.codes.to_numpy(), list(values.cat.categories))

    def put_missing(self, at: int, rows: int) -> None:
        self.codes[at:at + rows] = -1

    def array(self) -> Any:
        words = np.array(list(self.words), dtype=object)
        used = np.bincount(self.codes + 1, minlength=len(words) + 1)[1:] > 0  # a batch read twice adds none
        order = np.argsort(words[used].astype(str), kind="stable") if used.any() else np.array([], dtype=np.intp)
        kept = np.flatnonzero(used)[order]
        position = np.full(len(words) + 1, -1, dtype=_code_type(len(kept)))
        position[kept] = np.arange(len(kept))
        codes = position[self.codes]  # -1 stays -1: the last entry
        categories = pd.Index(words[kept].tolist(), dtype="str")
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories), validate=False)


def _code_type(categories: int) -> Any:
    """The integer type pandas keeps the codes of so many categories in."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def placed_columns(declared: Sequence[Column], rows: int) -> dict[str, Placed]:
    return {c.name: (Numbers(c, rows) if c.kind in _NUMBERS else Enum(c, rows) if c.kind == "enum"
                     else Words(c, rows)) for c in declared}


def place_file(path: Path, found: dict[str, Column], columns: dict[str, Placed], at: int, rows: int,
               fallback: Callable[[], pd.DataFrame]) -> None:
    """Put one file's records in rows ``at`` to ``at + rows`` of ``columns``; ``fallback()`` (its conformed
    frame) where polars cannot decode it. Raises ``DataError`` as ``conform_columns`` would."""
    present = [found[name] for name in columns if name in found]
    missing = dict.fromkeys((c.name for c in present), 0)
    position = at
    for count, batch in _decoded(path, present):
        if batch is None:  # polars could not: read_avro reads the file, or says why
            frame = fallback()
            if len(frame) != rows:
                raise DataError(f"{len(frame)} records where the blocks' headers count {rows}", file=path)
            for name, placed in columns.items():
                placed.put_series(at, frame[name])
            return
        for name, values in batch.items():
            missing[name] += columns[name].put(position, values, found[name])
        position += count
    if position != at + rows:
        raise DataError(f"{position - at} records where the blocks' headers counted {rows}: the file changed "
                        "while it was read", file=path)
    for name, placed in columns.items():
        if name not in found:
            placed.put_missing(at, rows)
        elif missing[name] and not placed.column.nullable:
            raise DataError(f"field '{name}' has {missing[name]} null value(s) but is declared required",
                            file=path)


def _decoded(path: Path, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """``avro_batches``, with ``(0, None)`` in place of the rest where polars stops: only the decoding falls
    back, so that a fault in placing a batch is not hidden by a slower read that gets it right."""
    batches = avro_batches(path, columns)
    while True:
        try:
            item = next(batches, None)
        except DataError:
            raise
        except Exception:  # a codec or a field's shape polars does not read, or damaged blocks
            yield 0, None
            return
        if item is None:
            return
        yield item
