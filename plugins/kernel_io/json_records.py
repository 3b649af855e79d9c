"""JSON files of records: a JSON array of objects, or JSON lines (one object a line)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from kernel import DataError


def read_json(path: Path) -> pd.DataFrame:
    """Read an array of objects or JSON lines, told apart by the first non-blank character."""
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
    for number, line in enumerate(text.splitlines(), start=1):
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
    frame.to_json(out, orient="records", lines=lines, date_format="iso", date_unit=_date_unit(frame.dtypes),
                  force_ascii=False)


def _date_unit(dtypes: Iterable[Any]) -> Literal["ms", "us", "ns"]:
    units = {getattr(dtype, "unit", "s") for dtype in dtypes if pd.api.types.is_datetime64_any_dtype(dtype)}
    return "ns" if "ns" in units else "us" if "us" in units else "ms"
