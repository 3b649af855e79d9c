"""Read and write DataFrames in Avro, JSON, CSV and Parquet: the functions the io steps call.

Other plugins (a data generator, a publish step) call :func:`read_frame` and :func:`write_frame`
directly; both raise :class:`kernel.DataError` with the file's path for any problem with the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError, atomic_path
from kernel_io.errors import describe
from kernel_io.json_records import read_json, write_json
from kernel_io.paths import Format, Source, format_for, resolve
from kernel_io.remote import as_remote, fetched, is_url, uploading
from kernel_io.tabular import read_csv, read_parquet, write_csv, write_parquet


def _read_avro(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    from kernel_io.avro_read import read_avro  # fastavro and the Avro decoder only when a file is Avro

    return read_avro(path, columns)


_READERS: dict[Format, Callable[[Path, Sequence[str] | None], pd.DataFrame]] = {
    "avro": _read_avro,
    "json": lambda path, _columns: read_json(path),
    "csv": read_csv,
    "parquet": read_parquet,
}


def read_frame(path: str | Path, format: Format | None = None, *, columns: Sequence[str] | None = None,
               file_column: str | None = None, parse_dates: Sequence[str] = (),
               text: Sequence[str] = ()) -> pd.DataFrame:
    """Read a file, every file of the format in a directory, or every file a glob matches.

    Files are read in sorted name order and their rows concatenated in that order. ``format``
    defaults to the one the extension stands for. ``columns`` keeps those columns, in that order;
    ``file_column`` adds a column with each row's source file name; ``parse_dates`` turns
    ISO-8601 text columns into UTC datetimes (text without an offset is taken as UTC); ``text`` reads those
    CSV columns as the text written (a code's leading zeros kept).
    """
    return read_found(path, format, columns=columns, file_column=file_column, parse_dates=parse_dates,
                      text=text)[1]


def read_found(path: str | Path, format: Format | None = None, *, columns: Sequence[str] | None = None,
               file_column: str | None = None, parse_dates: Sequence[str] = (),
               text: Sequence[str] = ()) -> tuple[Format, pd.DataFrame]:
    """:func:`read_frame`, with the format it read: a local path, or a URL of any fsspec filesystem."""
    if is_url(path):
        with fetched(str(path), format) as (found, sources, where):
            try:
                return found, read_sources(sources, found, columns=columns, file_column=file_column,
                                           parse_dates=parse_dates, text=text)
            except DataError as exc:
                raise as_remote(exc, where) from None
    found, sources = resolve(path, format)
    return found, read_sources(sources, found, columns=columns, file_column=file_column, parse_dates=parse_dates,
                               text=text)


def read_sources(sources: Sequence[Source], format: Format, *, columns: Sequence[str] | None = None,
                 file_column: str | None = None, parse_dates: Sequence[str] = (),
                 text: Sequence[str] = ()) -> pd.DataFrame:
    """Read files that :func:`kernel_io.paths.resolve` found, in their order, as one frame."""
    if text and format != "csv":
        raise DataError(f"text applies to CSV files; {format} keeps the types it stores", field="settings.text")
    frames = _read_all(sources, format, columns, parse_dates, text)
    lengths = [len(part) for part in frames]
    frame = _concat(frames)
    if file_column is not None:
        if file_column in frame.columns:
            raise DataError(f"file_column '{file_column}' is already a column of the data",
                            file=sources[0].path)
        codes = np.repeat(np.arange(len(lengths)), lengths)
        names = pd.CategoricalDtype([source.name for source in sources])
        frame[file_column] = pd.Categorical.from_codes(codes, dtype=names)
    return frame


def write_frame(frame: pd.DataFrame, path: str | Path, format: Format | None = None, *, lines: bool = False,
                avro_schema: Mapping[str, Any] | None = None) -> None:
    """Write ``frame`` (without its index) to ``path`` atomically: readers see the old file or the new.

    ``lines`` writes JSON lines instead of a JSON array; ``avro_schema`` replaces the schema
    derived from the dtypes (the frame then needs every column it names; others are left out).
    """
    found = format_for(path, format)
    with uploading(str(path)) if is_url(path) else atomic_path(path) as tmp:
        try:
            if found == "avro":
                from kernel_io.avro_write import write_avro

                write_avro(frame, tmp, avro_schema)
            elif found == "json":
                write_json(frame, tmp, lines=lines)
            elif found == "csv":
                write_csv(frame, tmp)
            else:
                write_parquet(frame, tmp)
        except (ValueError, TypeError, OverflowError) as exc:
            # Problems with the data; an OSError (disk full, permissions) is not one and passes on.
            raise DataError(f"cannot write as {found}: {describe(exc)}", file=path) from None


def _read_all(sources: Sequence[Source], format: Format, columns: Sequence[str] | None,
              parse_dates: Sequence[str], text: Sequence[str]) -> list[pd.DataFrame]:
    """Each file's frame, in order. Several files are read side by side on a few threads (the Avro, Parquet
    and CSV decoders let go of the interpreter while they work); the first file in order that cannot be read
    is the one reported, as when they are read one after another."""
    if len(sources) == 1:
        return [_read_one(sources[0], format, columns, parse_dates, text)]
    threads = min(len(sources), os.cpu_count() or 1, _READ_THREADS)
    with ThreadPoolExecutor(threads, thread_name_prefix="kernel-io-read") as pool:
        return list(pool.map(lambda source: _read_one(source, format, columns, parse_dates, text), sources))


_READ_THREADS = 4


def _read_one(source: Source, format: Format, columns: Sequence[str] | None,
              parse_dates: Sequence[str], text: Sequence[str] = ()) -> pd.DataFrame:
    try:
        frame = read_csv(source.path, columns, text) if text else _READERS[format](source.path, columns)
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read as {format}: {describe(exc)}", file=source.path) from None
    if columns is not None:
        missing = [name for name in columns if name not in frame.columns]
        if missing:
            raise DataError(f"no column(s) {', '.join(missing)}", file=source.path)
        frame = frame[list(columns)]
    missing_text = [name for name in text if name not in frame.columns]
    if missing_text:
        raise DataError(f"no column '{missing_text[0]}' to read as text", file=source.path, field="settings.text")
    for name in parse_dates:
        frame[name] = _parse_dates(frame, name, source.path)
    return frame


def _parse_dates(frame: pd.DataFrame, name: str, path: Path) -> pd.Series:
    if name not in frame.columns:
        raise DataError(f"no column '{name}' to parse dates in", file=path)
    values = frame[name]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    try:
        return pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"column '{name}' is not ISO-8601 dates: {describe(exc)}", file=path) from None


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one after another (the list is emptied). Files of the same columns are joined a column at a
    time, each column's pieces let go once it is made, so that their memory can serve the next column."""
    if len(frames) == 1:
        return frames.pop()
    # An enum that gained symbols from one file to the next stays categorical, over all the symbols.
    for name in frames[0].columns:
        parts = [f[name] for f in frames if name in f.columns]
        dtypes = {part.dtype for part in parts}
        if len(dtypes) > 1 and all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
            union = list(dict.fromkeys(c for part in parts for c in part.cat.categories))
            for f in frames:
                if name in f.columns:
                    f[name] = f[name].cat.set_categories(union)
    columns = frames[0].columns
    if not columns.is_unique or not all(f.columns.equals(columns) and len(f) for f in frames):
        joined = pd.concat(frames, ignore_index=True)  # columns that differ, or empty files: pandas aligns
        frames.clear()
        return joined
    held: list[list[pd.Series | None]] = [[f.iloc[:, i] for i in range(len(columns))] for f in frames]
    frames.clear()
    out = {}
    for i, name in enumerate(columns):
        pieces = [file_columns[i] for file_columns in held]
        for file_columns in held:
            file_columns[i] = None
        out[name] = pd.concat(pieces, ignore_index=True)
        del pieces
    return pd.DataFrame(out, columns=columns, copy=False)
