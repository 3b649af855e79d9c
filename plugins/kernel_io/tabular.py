"""CSV (through pandas) and Parquet (through pyarrow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from kernel import DataError


def read_csv(path: Path, columns: Sequence[str] | None, text: Sequence[str] = ()) -> pd.DataFrame:
    wanted = set(columns) if columns is not None else None
    try:
        # A callable lets a missing column be reported by name below instead of by pandas' own words.
        return pd.read_csv(path, usecols=(lambda name: name in wanted) if wanted is not None else None,
                           dtype=dict.fromkeys(text, "str") if text else None)
    except pd.errors.EmptyDataError:
        raise DataError("empty CSV file (no header line)", file=path) from None


def write_csv(frame: pd.DataFrame, out: Path) -> None:
    # pandas words a time-zone-aware timestamp one Timestamp object at a time (3 s a million): the same text
    # is made here with array operations, and pandas writes it as it would any text.
    worded = {position: text for position, (_, column) in enumerate(frame.items())
              if isinstance(column.dtype, pd.DatetimeTZDtype) and (text := zoned_text(column)) is not None}
    if worded:
        frame = frame.copy(deep=False)
        for position, text in worded.items():
            frame.isetitem(position, text)
    frame.to_csv(out, index=False)


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_FIRST_SECOND, _END_SECOND = -62_135_596_800, 253_402_300_800  # 0001-01-01 and 10000-01-01, in Unix seconds
_NAT = np.iinfo(np.int64).min


def zoned_text(column: pd.Series) -> np.ndarray[Any, np.dtype[np.object_]] | None:
    """A time-zone-aware column as pandas writes it to CSV: ``YYYY-MM-DD HH:MM:SS[.fff|.ffffff|.fffffffff]+HH:MM``,
    the wall time and offset of each value in its zone, with as many digits of a second as the column needs
    (the same for all of its values), missing values as ``None``. ``None`` for what this does not word as
    pandas would (a year outside 1-9999, an offset of whole seconds): pandas words that column itself."""
    dtype = column.dtype
    assert isinstance(dtype, pd.DatetimeTZDtype)
    per_second = _PER_SECOND[dtype.unit]
    local = column.dt.tz_localize(None).to_numpy().view(np.int64)
    utc = column.dt.tz_convert(None).to_numpy().view(np.int64)
    missing = local == _NAT
    seconds, fraction = np.divmod(np.where(missing, 0, local), per_second)
    offset = (np.where(missing, 0, local) - np.where(missing, 0, utc)) // per_second
    present = ~missing
    if present.any() and (seconds[present].min() < _FIRST_SECOND or seconds[present].max() >= _END_SECOND):
        return None
    if (offset % 60).any():
        return None
    nanos = fraction * (10**9 // per_second)
    digits = 0 if not nanos.any() else 3 if not (nanos % 10**6).any() else 6 if not (nanos % 10**3).any() else 9
    width = 19 + (digits + 1 if digits else 0) + 6
    # UCS-4 code points, a row per character (each written whole), viewed as text once transposed
    chars = np.empty((width, len(column)), dtype=np.uint32)
    days, second = np.divmod(seconds, 86_400)
    year, month, day = _civil(days)
    for at, value, places in ((0, year, 4), (5, month, 2), (8, day, 2), (11, second // 3600, 2),
                              (14, second // 60 % 60, 2), (17, second % 60, 2)):
        _digits(chars, at, value, places)
    chars[[4, 7]] = ord("-")
    chars[10] = ord(" ")
    chars[[13, 16]] = ord(":")
    at = 19
    if digits:
        chars[at] = ord(".")
        _digits(chars, at + 1, nanos // 10 ** (9 - digits), digits)
        at += digits + 1
    minutes = np.abs(offset) // 60
    chars[at] = np.where(offset < 0, ord("-"), ord("+"))
    _digits(chars, at + 1, minutes // 60, 2)
    chars[at + 3] = ord(":")
    _digits(chars, at + 4, minutes % 60, 2)
    text = np.ascontiguousarray(chars.T).view(np.dtype((np.str_, width))).reshape(-1).astype(object)
    text[missing] = None
    return text


def _digits(chars: np.ndarray[Any, Any], at: int, value: np.ndarray[Any, Any], places: int) -> None:
    rest = value.astype(np.int32)  # below 10**9 here: 32-bit division is the faster
    for place in reversed(range(places)):
        rest, digit = np.divmod(rest, 10)
        np.add(digit, ord("0"), out=chars[at + place], casting="unsafe")


def _civil(days: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """Year, month and day of days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
    ``civil_from_days``, on arrays)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def read_parquet(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [name for name in columns if name in present]
    return pd.read_parquet(path, engine="pyarrow", columns=columns)


# Arrow's writer updates a dictionary column's statistics once per batch of values written: 1,024 values
# by default, which made statistics most of the time a categorical column took to write.
_WRITE_BATCH = 8192
# A dictionary page holds 1 MB: a column of 8-byte values has at most 131,072 distinct values per row group
# before Arrow gives up on the dictionary and writes plainly. Below that many rows, nothing to decide.
_DICTIONARY_ROWS = (1 << 20) // 8
_PROBE = 1 << 16


def write_parquet(frame: pd.DataFrame, out: Path) -> None:
    # pyarrow keeps time zones and categories in the file's pandas metadata, so they round-trip.
    frame.to_parquet(out, engine="pyarrow", index=False, write_batch_size=_WRITE_BATCH,
                     use_dictionary=dictionary_columns(frame))


def dictionary_columns(frame: pd.DataFrame) -> list[str] | bool:
    """The columns worth a dictionary in Parquet: all but those whose first values are mostly distinct.

    Arrow tries a dictionary on every column of every row group and falls back to plain values once the
    dictionary is full: for a column of timestamps or ids that are nearly all distinct, that is a hash of
    131,072 values per row group thrown away (a third of such a column's write time), and a larger file."""
    if len(frame) <= _DICTIONARY_ROWS:
        return True
    wanted: list[str] = []
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype.kind == "b":
            wanted.append(str(name))
            continue
        probe = column.iloc[:_PROBE]
        try:
            distinct = probe.nunique(dropna=True)
        except TypeError:  # lists or dicts: nested, named by paths below the column; Arrow decides all
            return True
        if distinct <= len(probe) // 2:
            wanted.append(str(name))
    return wanted
