"""Write a DataFrame as an Avro file, with a schema derived from its dtypes or given by the caller."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import repeat
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
from fastavro.write import Writer

from kernel_io.avro_encode import BLOCK, AvroBlock, block, encoders
from kernel_io.avro_read import Column, schema_columns

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def write_avro(frame: pd.DataFrame, out: Path, schema: Mapping[str, Any] | None = None, *,
               columnar: bool = True) -> None:
    """Write ``frame``'s rows as records; with ``schema``, only the columns it names, in its types.

    The records are encoded a block at a time with array operations where every field allows it
    (:mod:`kernel_io.avro_encode`); ``columnar=False`` hands fastavro one record at a time whatever the
    fields: the same records, slower."""
    schema = dict(schema) if schema is not None else derive_schema(frame)
    columns = schema_columns(schema)  # checks the schema, so parsing it below cannot fail
    parsed = fastavro.parse_schema(schema)
    missing = [c.name for c in columns if c.name not in frame.columns]
    if missing:
        raise ValueError(f"the Avro schema names column(s) the frame lacks: {', '.join(missing)}")
    for column in columns:
        _check(frame[column.name], column)
    fields = encoders(frame, schema) if columnar and len(frame) else None
    if fields is not None:
        with out.open("wb") as fo:
            writer = Writer(fo, parsed)
            for start in range(0, len(frame), BLOCK):
                rows = slice(start, min(start + BLOCK, len(frame)))
                writer.write_block(AvroBlock(block(fields, rows), rows.stop - rows.start))
            writer.flush()
        return
    values = [_values(frame[c.name], c.unit) if c.kind == "timestamp" else _values(frame[c.name])
              for c in columns]
    names = [c.name for c in columns]
    with out.open("wb") as fo:
        fastavro.writer(fo, parsed, _records(names, values))


def derive_schema(frame: pd.DataFrame, name: str = "Record") -> dict[str, Any]:
    """An Avro record schema for ``frame``: one field per column, ``["null", T]`` where it has nulls."""
    if not frame.columns.is_unique:
        raise ValueError("the frame has duplicate column names")
    fields = []
    for column in frame.columns:
        if not isinstance(column, str) or not _NAME.fullmatch(column):
            raise ValueError(f"column {column!r} is not a valid Avro field name ([A-Za-z_][A-Za-z0-9_]*)")
        series = frame[column]
        avro_type = _avro_type(series)
        if series.isna().any():
            fields.append({"name": column, "type": ["null", avro_type], "default": None})
        else:
            fields.append({"name": column, "type": avro_type})
    return {"type": "record", "name": name, "fields": fields}


def _avro_type(series: pd.Series) -> Any:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        symbols = list(dtype.categories)
        if all(isinstance(s, str) and _NAME.fullmatch(s) for s in symbols):
            return {"type": "enum", "name": f"{series.name}_enum", "symbols": symbols}
        # Categories that cannot be enum symbols are written as their values.
        return _avro_type(pd.Series(dtype.categories, name=series.name))
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        # Milliseconds unless that would drop digits the column has.
        ms = series.dropna().dt.as_unit("ms") if getattr(dtype, "unit", "ns") not in ("s", "ms") else None
        precise = ms is not None and (ms != series.dropna()).any()
        local = "" if getattr(dtype, "tz", None) is not None else "local-"
        return {"type": "long", "logicalType": f"{local}timestamp-{'micros' if precise else 'millis'}"}
    if pd.api.types.is_string_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in ("string", "empty"):
            return "string"
        if inferred == "bytes":
            return "bytes"
        raise ValueError(f"column '{series.name}' holds {inferred} values, which have no Avro type here; "
                         "cast it or pass an Avro schema")
    raise ValueError(f"column '{series.name}' has dtype {dtype}, which has no Avro type here; "
                     "cast it or pass an Avro schema")


def _check(series: pd.Series, column: Column) -> None:
    """Say which column is wrong in the user's terms, before fastavro says it in its own."""
    if not column.nullable and series.isna().any():
        raise ValueError(f"column '{column.name}' has nulls, but its Avro type has no null branch")
    if column.kind == "enum":
        unknown = set(series.dropna().unique()) - set(column.symbols)
        if unknown:
            shown = ", ".join(sorted(map(str, unknown))[:5])
            raise ValueError(f"column '{column.name}' holds values that are not symbols of its enum: {shown}")


def _values(series: pd.Series, unit: str | None = None) -> list[Any]:
    """The column as Python values fastavro writes fast: timestamps as integers, nulls as None."""
    if unit is not None and pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = series.to_numpy(dtype=f"datetime64[{unit}]")
        out: list[Any] = stamps.view(np.int64).tolist()
        for i in np.flatnonzero(np.isnat(stamps)):
            out[i] = None
        return out
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)  # the categories' own values (to_numpy would make 1 into 1.0)
    values = series.to_numpy(dtype=object, copy=True)  # a copy: pandas may hand out a read-only view
    values[series.isna().to_numpy()] = None
    return values.tolist()


def _records(names: list[str], columns: list[list[Any]]) -> Iterator[dict[str, Any]]:
    # Built by map/zip in C: a Python loop here costs as much as a third of fastavro's writing.
    return map(dict, map(zip, repeat(names), zip(*columns, strict=True)))
