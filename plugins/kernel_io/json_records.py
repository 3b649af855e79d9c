"""JSON files of records: a JSON array of objects, or JSON lines (one object a line)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from kernel import DataError
from kernel_io.stamps import json_text, with_text


def read_json(path: Path) -> pd.DataFrame:
    """Read an array of objects or JSON lines, told apart by the first non-blank character.

    JSON lines go through Arrow's columnar reader first (about 14 times faster on a million records); where
    it would give anything else than the reading below (nested values, mixed kinds, a repeated key, a bad
    line), the reading below decides, errors included (tests/test_io_json_columnar.py compares the two).
    """
    fast = _read_lines_columnar(path)
    if fast is not None:
        return fast
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    first = text.lstrip()[:1]
    if first == "[":
        records = _parse_array(text, path)
    elif first in ("{", ""):
        records = _parse_lines(text, path)
    else:
        line = text[: len(text) - len(text.lstrip())].count("\n") + 1
        raise DataError(f"not JSON: line {line} starts with {first!r}, expected '[' or '{{'", file=path)
    return _frame_from_records(records)


def _parse_array(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", file=path) from None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataError(f"item {index} of the array is {_json_kind(item)}, not an object", file=path)
    return list(items)


def _parse_lines(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    # Lines end at "\n" only (JSON lines): str.splitlines would also split inside a string holding U+2028.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"not JSON: line {number} column {exc.colno}: {exc.msg}", file=path) from None
        if not isinstance(item, dict):
            raise DataError(f"line {number} is {_json_kind(item)}, not an object", file=path)
        records.append(item)
    return records


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return kinds.get(type(value), "null")


def _frame_from_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with one column per key (in first-seen order) and a dtype per column's values.

    pandas would turn integers with nulls into floats; here they stay integers (``Int64``).
    """
    names = list(dict.fromkeys(key for record in records for key in record))
    return pd.DataFrame({name: _column([r.get(name) for r in records]) for name in names},
                        index=pd.RangeIndex(len(records)))


def _column(values: list[Any]) -> pd.Series:
    kinds = {type(v) for v in values if v is not None}
    nullable = any(v is None for v in values)
    if kinds == {bool}:
        return pd.Series(values, dtype="boolean" if nullable else bool)
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in values if v is not None):
        return pd.Series(values, dtype="Int64" if nullable else "int64")
    if kinds and kinds <= {int, float}:
        return pd.Series(values, dtype="float64")
    if kinds == {str}:
        return pd.Series(values, dtype="str")
    # Nested objects, arrays, mixed kinds or only nulls: keep the values as they are.
    return pd.Series(values, dtype=object)


def write_json(frame: pd.DataFrame, out: Path, *, lines: bool) -> None:
    """Write records as a JSON array (or JSON lines); dates as ISO-8601 in UTC, to their precision."""
    unit = _date_unit(frame.dtypes)
    frame = with_text(frame, lambda column: json_text(column, unit))
    # A piece of the records at a time: pandas makes the whole text in memory first (for JSON lines, twice),
    # and on a machine where fresh memory is slow that took longer than the encoding (7-10 s against 3 s for
    # a million records). The pieces' text, joined, is the whole's.
    with out.open("w", encoding="utf-8", newline="") as fo:
        pieces = range(0, len(frame), _JSON_PIECE) if len(frame) else range(1)
        for number, start in enumerate(pieces):
            text = frame.iloc[start:start + _JSON_PIECE].to_json(
                orient="records", lines=lines, date_format="iso", date_unit=unit, force_ascii=False)
            if not lines and len(pieces) > 1:  # one array: each piece's records without its brackets
                text = ("[" if number == 0 else ",") + text[1:-1] + ("]" if number == len(pieces) - 1 else "")
            fo.write(text)


_JSON_PIECE = 65_536


def _date_unit(dtypes: Iterable[Any]) -> Literal["ms", "us", "ns"]:
    # a naive column's numpy dtype has no ``unit`` (until 2026-12-05 its digits were cut to milliseconds)
    units = {dtype.unit if isinstance(dtype, pd.DatetimeTZDtype) else
             np.datetime_data(dtype)[0] if isinstance(dtype, np.dtype) else getattr(dtype, "unit", "s")
             for dtype in dtypes if pd.api.types.is_datetime64_any_dtype(dtype)}
    return "ns" if "ns" in units else "us" if "us" in units else "ms"


def _read_lines_columnar(path: Path) -> pd.DataFrame | None:
    """JSON lines read by Arrow and converted as :func:`_column` would; ``None`` when the file is not JSON
    lines, or Arrow refuses it, or it holds a kind of value this conversion does not make the same way."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.json as pj  # type: ignore[import-untyped]

    with path.open("rb") as fo:
        start = fo.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start.startswith(b"{"):
        return None
    try:
        table = pj.read_json(path)
        stamps = [f for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if stamps:  # Arrow reads ISO text as times; the reading below keeps text as text
            schema = pa.schema([f.with_type(pa.string()) if f in stamps else f for f in table.schema])
            table = pj.read_json(path, parse_options=pj.ParseOptions(explicit_schema=schema))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OSError):
        return None
    columns: dict[str, pd.Series] = {}
    for field, chunked in zip(table.schema, table.columns, strict=True):
        column = _arrow_column(field.type, chunked, table.num_rows)
        if column is None:
            return None
        columns[field.name] = column
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _arrow_column(kind: Any, chunked: Any, rows: int) -> pd.Series | None:
    import pyarrow as pa

    nulls = chunked.null_count > 0
    if pa.types.is_boolean(kind):
        return _as(chunked, pd.BooleanDtype()) if nulls else pd.Series(chunked.to_numpy())
    if pa.types.is_int64(kind):
        return _as(chunked, pd.Int64Dtype()) if nulls else pd.Series(chunked.to_numpy())
    if pa.types.is_float64(kind):
        return pd.Series(chunked.to_numpy(zero_copy_only=False), dtype="float64")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _as(chunked, pd.StringDtype(na_value=float("nan")))
    if pa.types.is_null(kind):
        return pd.Series([None] * rows, dtype=object)
    return None  # nested values and anything else: the reading record by record keeps them as they are


def _as(chunked: Any, dtype: Any) -> pd.Series:
    converted: pd.Series = chunked.to_pandas(types_mapper=lambda _: dtype)
    return converted
