"""A table's rows into files: one file, or one per day of arrival; each file written atomically, in its format.

Parquet with pyarrow, CSV with pyarrow's writer (the header written here), JSON lines with polars' writer,
Avro with :mod:`kernel_datagen.avro`. Times are ``timestamp-millis`` in Avro, UTC milliseconds in Parquet,
and ``YYYY-MM-DDTHH:MM:SS.mmmZ`` text in CSV and JSON. The same rows give the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kernel import atomic_path
from kernel_datagen import avro
from kernel_datagen.defects import Built
from kernel_datagen.rules import Resolved
from kernel_datagen.values import Bools, Col, as_text, iso_text, rng_for

EXTENSIONS = {"avro": "avro", "json": "jsonl", "csv": "csv", "parquet": "parquet"}
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Written:
    path: str  # below the data set's directory, with /
    rows: int
    columns: dict[str, str]  # name -> type, as written


@dataclass(frozen=True, slots=True)
class Drifted:
    column: str
    rename: str | None
    type: str | None
    files: list[str]


def parts(table: Resolved, built: Built) -> list[tuple[str, slice]]:
    """Each file's path and rows: ``NAME.EXT``, or ``NAME/date=YYYY-MM-DD/part-00000.EXT`` per day of arrival."""
    ext = EXTENSIONS[table.spec.format]
    rows = next(iter(built.columns.values())).data.size
    if table.spec.layout == "single":
        return [(f"{table.name}.{ext}", slice(0, rows))]
    assert built.arrival is not None
    day = built.arrival // DAY_MS  # arrival never decreases in file order: each day is one run of rows
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]]) if rows else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], rows]
    names = iso_text(day[starts] * DAY_MS)
    return [(f"{table.name}/date={names[i][:10].decode()}/part-00000.{ext}", slice(int(s), int(e)))
            for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


def write_table(out_dir: Path, table: Resolved, built: Built, seed: int,
                wrote: Callable[[int], None] | None = None) -> tuple[list[Written], list[Drifted]]:
    """Write ``built`` into its files; what each holds, and which files a schema drift changed. ``wrote`` is
    told each file's rows once it is written."""
    files = parts(table, built)
    drifts = []
    changed: dict[int, list[int]] = {}
    for i, drift in enumerate(table.spec.defects.schema_drift):
        rng = rng_for(seed, table.name, "schema_drift", str(i))
        count = min(len(files), max(1, int(drift.share * len(files) + 0.5)))
        chosen = sorted(int(f) for f in rng.choice(len(files), size=count, replace=False))
        for f in chosen:
            changed.setdefault(f, []).append(i)
        drifts.append(Drifted(drift.column, drift.rename, drift.type, [files[f][0] for f in chosen]))
    nullable = set(table.spec.defects.nulls)
    written = []
    for number, (path, rows) in enumerate(files):
        columns = {name: Col(col.type, col.data[rows], col.null[rows]) for name, col in built.columns.items()}
        allowed = set(nullable)
        for i in changed.get(number, []):
            drift = table.spec.defects.schema_drift[i]
            col = columns[drift.column]
            if drift.type == "string":
                col = as_text(col)
            elif drift.type == "float":
                col = Col("float", col.data.astype(np.float64), col.null)
            name = drift.rename or drift.column
            columns = {(name if k == drift.column else k): (col if k == drift.column else c)
                       for k, c in columns.items()}  # in its place: the column order stays
            if drift.column in allowed:
                allowed.add(name)
        write_file(out_dir / path, table.spec.format, table.name, columns, allowed,
                   hashlib.sha256(f"{seed}:{path}".encode()).digest()[:16])
        written.append(Written(path, rows.stop - rows.start, {k: c.type for k, c in columns.items()}))
        if wrote is not None:
            wrote(rows.stop - rows.start)
    return written, drifts


def write_file(path: Path, format: str, name: str, columns: Mapping[str, Col], nullable: set[str],
               sync_marker: bytes) -> None:
    if format == "avro":
        avro.write(path, name, columns, nullable, sync_marker)
        return
    table = arrow_table(columns, text_times=format in ("csv", "json"))
    with atomic_path(path) as tmp:
        if format == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            pq.write_table(table, tmp)
        elif format == "csv":
            import pyarrow.csv as pcsv  # type: ignore[import-untyped]

            with tmp.open("wb") as fo:
                fo.write((",".join(columns) + "\n").encode())
                pcsv.write_csv(table, fo, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
        else:
            import polars as pl

            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame.write_ndjson(tmp)


def arrow_table(columns: Mapping[str, Col], *, text_times: bool) -> Any:
    import pyarrow as pa

    arrays = []
    for col in columns.values():
        if col.type == "string" or (col.type == "timestamp" and text_times):
            arrays.append(arrow_text(col.data if col.type == "string" else iso_text(col.data), col.null))
        elif col.type == "timestamp":
            arrays.append(pa.array(col.data, pa.timestamp("ms", tz="UTC"), mask=col.null))
        else:
            kind = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}[col.type]
            arrays.append(pa.array(col.data, kind, mask=col.null))
    return pa.Table.from_arrays(arrays, names=list(columns))


def arrow_text(values: np.ndarray[Any, Any], null: Bools) -> Any:
    """UTF-8 bytes (fixed width, padded) as an Arrow string array, from its buffers at once."""
    import pyarrow as pa

    n = values.size
    width = values.dtype.itemsize
    grid = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    lengths = np.char.str_len(values).astype(np.int64) if n else np.zeros(0, np.int64)
    lengths[null] = 0
    large = int(lengths.sum()) >= 2**31
    offsets = np.zeros(n + 1, np.int64 if large else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = grid[np.arange(width)[None, :] < lengths[:, None]]
    validity = pa.py_buffer(np.packbits(~null, bitorder="little")) if null.any() else None
    kind = pa.LargeStringArray if large else pa.StringArray
    array = kind.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), validity)
    array.validate(full=True)  # text that is not UTF-8 is an error here, not in a reader
    return array
