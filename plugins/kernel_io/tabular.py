"""CSV (through pandas) and Parquet (through pyarrow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
    frame.to_csv(out, index=False)


def read_parquet(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [name for name in columns if name in present]
    return pd.read_parquet(path, engine="pyarrow", columns=columns)


def write_parquet(frame: pd.DataFrame, out: Path) -> None:
    # pyarrow keeps time zones and categories in the file's pandas metadata, so they round-trip.
    frame.to_parquet(out, engine="pyarrow", index=False)
