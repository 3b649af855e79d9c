"""CSV (through pandas) and Parquet (through pyarrow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from kernel import DataError
from kernel_io.stamps import csv_text, with_text


def read_csv(path: Path, columns: Sequence[str] | None, text: Sequence[str] = ()) -> pd.DataFrame:
    wanted = set(columns) if columns is not None else None
    try:
        # A callable lets a missing column be reported by name below instead of by pandas' own words.
        return pd.read_csv(path, usecols=(lambda name: name in wanted) if wanted is not None else None,
                           dtype=dict.fromkeys(text, "str") if text else None)
    except pd.errors.EmptyDataError:
        raise DataError("empty CSV file (no header line)", file=path) from None


def write_csv(frame: pd.DataFrame, out: Path) -> None:
    with_text(frame, csv_text).to_csv(out, index=False)


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
