"""A frame's records in Avro's binary encoding, a block at a time, with array operations.

fastavro's ``writer`` takes a dict per record and spends microseconds on each field of each. Avro's binary
encoding is simple and canonical (zig-zag varints, length-prefixed bytes, little-endian floats, a byte for a
boolean, a varint branch index before a union's value), so each field is encoded here for a block of records
at once, as one Arrow binary value per record, and Arrow joins the fields of each record
(``binary_join_element_wise``): the joined values, one after another, are the block. fastavro still writes
the file's header and frames each block with its sync marker (``Writer.write_block``).

Only the fields this knows are encoded so (a type or a union of ``null`` and one type: ``long``, ``int``,
``double``, ``float``, ``boolean``, ``string``, an enum, a ``timestamp-*`` long), from columns whose dtype
is that kind's own; for any other, :func:`encoders` answers ``None`` and the file is written record by record.
tests/test_io_avro_write.py compares the two ways on random frames.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

BLOCK = 65_536  # records per Avro block
_TIMESTAMPS = {"timestamp-millis": "ms", "timestamp-micros": "us", "timestamp-nanos": "ns",
               "local-timestamp-millis": "ms", "local-timestamp-micros": "us", "local-timestamp-nanos": "ns"}
_INT32 = (-(2**31), 2**31 - 1)
_EMPTY = pa.scalar(b"", pa.large_binary())

class AvroBlock:
    """Records already encoded, as fastavro's ``Writer.write_block`` reads a block: their bytes, uncompressed,
    and their number (the writer compresses them with its codec and adds its sync marker)."""

    def __init__(self, data: bytes, num_records: int) -> None:
        self.bytes_ = io.BytesIO(data)
        self.num_records = num_records


# One field of a block of records: the Arrow binary values (one per record) its encoding makes.
Encoder = Callable[[slice], list[Any]]


def encoders(frame: pd.DataFrame, schema: Mapping[str, Any]) -> list[Encoder] | None:
    """An encoder per field of ``schema`` (a record), or ``None`` when a field is not one this encodes."""
    found: list[Encoder] = []
    for field in schema["fields"]:
        encoder = _field(frame[field["name"]], field["type"])
        if encoder is None:
            return None
        found.append(encoder)
    return found


def block(fields: Sequence[Encoder], rows: slice) -> bytes:
    """The records of ``rows``, encoded one after another."""
    pieces = [piece for encode in fields for piece in encode(rows)]
    joined = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, _EMPTY)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset:joined.offset + len(joined) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    return bytes(joined.buffers()[2].slice(start, end - start).to_pybytes())


def _field(series: pd.Series, avro_type: Any) -> Encoder | None:
    null_branch: int | None = None
    value_branch = 0
    if isinstance(avro_type, list):
        if len(avro_type) != 2 or "null" not in avro_type:
            return None
        null_branch = avro_type.index("null")
        value_branch = 1 - null_branch
        avro_type = avro_type[value_branch]
    missing = series.isna().to_numpy()
    if missing.any() and null_branch is None:
        return None  # fastavro says what is wrong
    value = _value(series, avro_type, missing)
    if value is None:
        return None
    if null_branch is None:
        return value

    branch = np.where(missing, 2 * null_branch, 2 * value_branch).astype(np.uint8)  # zig-zag of 0 or 1

    def with_branch(rows: slice) -> list[Any]:
        return [_fixed(branch[rows].reshape(-1, 1), None), *value(rows)]

    return with_branch


def _value(series: pd.Series, avro_type: Any, missing: np.ndarray[Any, Any]) -> Encoder | None:
    dtype = series.dtype
    if isinstance(avro_type, dict):
        kind = avro_type.get("type")
        if kind == "long" and avro_type.get("logicalType") in _TIMESTAMPS:
            if not pd.api.types.is_datetime64_any_dtype(dtype):
                return None
            if getattr(dtype, "tz", None) is not None:
                series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            unit = _TIMESTAMPS[avro_type["logicalType"]]
            ticks = series.to_numpy(dtype=f"datetime64[{unit}]").view(np.int64)  # as the record path converts
            return _varints(ticks, missing)
        if kind == "enum" and "symbols" in avro_type:
            return _enum(series, list(avro_type["symbols"]), missing)
        return None
    if avro_type in ("long", "int"):
        if not pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_unsigned_integer_dtype(dtype):
            return None
        values = series.to_numpy(dtype=np.int64, na_value=0)
        if avro_type == "int" and len(values) and (values.min() < _INT32[0] or values.max() > _INT32[1]):
            return None
        return _varints(values, missing)
    if avro_type in ("double", "float"):
        if not pd.api.types.is_float_dtype(dtype):
            return None
        width = "<f8" if avro_type == "double" else "<f4"
        floats = series.to_numpy(dtype=np.float64, na_value=np.nan).astype(width)
        matrix = floats.view(np.uint8).reshape(-1, floats.itemsize)
        return lambda rows: [_fixed(matrix[rows], missing[rows])]
    if avro_type == "boolean":
        if not pd.api.types.is_bool_dtype(dtype):
            return None
        flags = series.to_numpy(dtype=np.uint8, na_value=0).reshape(-1, 1)
        return lambda rows: [_fixed(flags[rows], missing[rows])]
    if avro_type == "string":
        return _strings(series, missing)
    return None


def _strings(series: pd.Series, missing: np.ndarray[Any, Any]) -> Encoder | None:
    if isinstance(series.dtype, pd.CategoricalDtype):  # the categories' text at the codes
        categories = series.dtype.categories
        if pd.api.types.infer_dtype(categories, skipna=False) not in ("string", "empty"):
            return None
        codes = np.where(missing, 0, series.cat.codes.to_numpy()).astype(np.int64)
        values = pa.array(list(categories) or [""], type=pa.large_string()).take(pa.array(codes))
        return _text(values, missing)
    text_dtype = isinstance(series.dtype, pd.StringDtype)  # text by its dtype: no need to look at the values
    if not (text_dtype or (series.dtype == object and pd.api.types.infer_dtype(series, skipna=True)
                           in ("string", "empty"))):
        return None
    if series.dtype == object:
        objects = series.to_numpy(dtype=object, copy=True)
        objects[missing] = None
        text = pa.array(objects, type=pa.large_string())
    else:
        arrow = pa.array(series.array)  # Arrow-backed text as it is (Python-backed text converted)
        text = (arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow).cast(pa.large_string())
    return _text(text, missing)


def _text(text: Any, missing: np.ndarray[Any, Any]) -> Encoder:
    data = text.cast(pa.large_binary())
    lengths = pc.binary_length(data).to_numpy(zero_copy_only=False)
    lengths = np.where(missing, 0, lengths).astype(np.int64)
    prefix = _varints(lengths, missing)

    def encode(rows: slice) -> list[Any]:
        values = data.slice(rows.start, rows.stop - rows.start)
        return [*prefix(rows), pc.if_else(pa.array(missing[rows]), _EMPTY, values)]

    return encode


def _enum(series: pd.Series, symbols: list[str], missing: np.ndarray[Any, Any]) -> Encoder | None:
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = list(series.dtype.categories)
        if not all(isinstance(c, str) for c in categories):
            return None
        place = {symbol: i for i, symbol in enumerate(symbols)}
        if any(c not in place for c in categories):
            return None
        to_index = np.array([place[c] for c in categories] + [0], dtype=np.int64)
        indices = to_index[series.cat.codes.to_numpy()]  # code -1 (missing) takes the last: 0
        return _varints(indices, missing)
    return None


def _varints(values: np.ndarray[Any, Any], missing: np.ndarray[Any, Any] | None) -> Encoder:
    def encode(rows: slice) -> list[Any]:
        return [_varint_array(values[rows], None if missing is None else missing[rows])]

    return encode


def zigzag_varints(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Avro's zig-zag varints of integers (an int, long, length or enum index): row i of the matrix holds
    value i's bytes, the first ``length[i]`` of the row."""
    v = values.astype(np.int64, copy=False)
    u = ((v << 1) ^ (v >> 63)).view(np.uint64)
    length = np.ones(v.size, np.int64)
    for k in range(1, 10):
        length += u >= np.uint64(1 << (7 * k))
    width = int(length.max(initial=1))
    matrix = np.empty((v.size, width), np.uint8)
    for k in range(width):
        low = ((u >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        matrix[:, k] = low | np.where(length > k + 1, 0x80, 0).astype(np.uint8)
    return matrix, length


def _varint_array(values: np.ndarray[Any, Any], missing: np.ndarray[Any, Any] | None) -> Any:
    """Avro's zig-zag varints of ``values`` as Arrow binary values; empty where ``missing``."""
    matrix, length = zigzag_varints(values)
    if missing is not None:
        length[missing] = 0
    return _ragged(matrix, length)


def _fixed(matrix: np.ndarray[Any, Any], missing: np.ndarray[Any, Any] | None) -> Any:
    length = np.full(len(matrix), matrix.shape[1], np.int64)
    if missing is not None:
        length[missing] = 0
    return _ragged(matrix, length)


def _ragged(matrix: np.ndarray[Any, Any], length: np.ndarray[Any, Any]) -> Any:
    """Row i's first ``length[i]`` bytes of ``matrix`` as Arrow binary values."""
    keep = np.arange(matrix.shape[1])[None, :] < length[:, None]
    data = np.ascontiguousarray(matrix)[keep]
    offsets = np.zeros(len(length) + 1, np.int64)
    np.cumsum(length, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), len(length), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
