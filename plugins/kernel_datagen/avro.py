"""Columns to Avro: the records of a block encoded with numpy at once; fastavro writes the header and frames
each block (``Writer.write_block``) with its sync marker.

fastavro's ``writer`` takes a dict per record and spends tens of microseconds on each; Avro's binary
encoding is simple and canonical (zig-zag varints, length-prefixed strings, little-endian doubles, a byte
for a boolean, a varint branch index before a union's value), so the bytes here are those fastavro would
write (tests/test_datagen_formats.py compares the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
from fastavro.write import Writer
from kernel_io import AvroBlock, zigzag_varints
from numpy.typing import NDArray

from kernel import atomic_path
from kernel_datagen.values import Bools, Col, Longs

BLOCK = 65_536  # records per Avro block
Piece = tuple[NDArray[np.uint8], Longs]  # one field of each record: bytes (padded to a width) and their length

_TYPES: dict[str, Any] = {
    "int": "long",
    "float": "double",
    "string": "string",
    "bool": "boolean",
    "timestamp": {"type": "long", "logicalType": "timestamp-millis"},
}


def schema(name: str, columns: Mapping[str, Col], nullable: set[str]) -> dict[str, Any]:
    """A record schema with a field per column; ``["null", T]`` for the columns that may hold nulls."""
    fields = []
    for column, col in columns.items():
        kind = _TYPES[col.type]
        if column in nullable:
            fields.append({"name": column, "type": ["null", kind], "default": None})
        else:
            fields.append({"name": column, "type": kind})
    return {"type": "record", "name": name, "fields": fields}


def write(path: Path, name: str, columns: Mapping[str, Col], nullable: set[str], sync_marker: bytes) -> None:
    """One Avro file (codec null) of ``columns``, written atomically."""
    parsed = fastavro.parse_schema(schema(name, columns, nullable))
    n = next(iter(columns.values())).data.size
    with atomic_path(path) as tmp, tmp.open("wb") as fo:
        writer = Writer(fo, parsed, codec="null", sync_marker=sync_marker)
        for at in range(0, n, BLOCK):
            end = min(at + BLOCK, n)
            part = {k: Col(col.type, col.data[at:end], col.null[at:end]) for k, col in columns.items()}
            writer.write_block(AvroBlock(encode(part, nullable), min(BLOCK, n - at)))
        writer.flush()


def encode(columns: Mapping[str, Col], nullable: set[str]) -> bytes:
    """The records' binary encoding, one after another, fields in column order."""
    pieces: list[Piece] = []
    for name, col in columns.items():
        null = col.null if name in nullable else None
        if null is not None:
            pieces.append(encode_branches(null))
        if col.type in ("int", "timestamp"):
            pieces.append(encode_varints(col.data, null))
        elif col.type == "float":
            data = np.ascontiguousarray(col.data, dtype="<f8").view(np.uint8).reshape(-1, 8)
            pieces.append((data, _lengths(8, col.data.size, null)))
        elif col.type == "bool":
            pieces.append((col.data.astype(np.uint8).reshape(-1, 1), _lengths(1, col.data.size, null)))
        else:
            pieces.extend(_string(col.data, null))
    return assemble_records(pieces)


def _lengths(width: int, n: int, null: Bools | None) -> Longs:
    length = np.full(n, width, np.int64)
    if null is not None:
        length[null] = 0
    return length


def encode_varints(values: NDArray[Any], null: Bools | None = None) -> Piece:
    """Avro's zig-zag varints of integers (an Avro int, long or length), one per record; none where ``null``."""
    out, length = zigzag_varints(values)
    if null is not None:
        length[null] = 0
    return out, length


def encode_branches(null: Bools) -> Piece:
    """The union index of ``["null", T]``: 0 (byte 0x00) or 1 (byte 0x02)."""
    return np.where(null, 0, 2).astype(np.uint8).reshape(-1, 1), np.ones(null.size, np.int64)


def _string(values: NDArray[np.bytes_], null: Bools | None) -> list[Piece]:
    n = values.size
    width = max(values.dtype.itemsize, 1)
    data = np.ascontiguousarray(values).view(np.uint8).reshape(n, values.dtype.itemsize) if n else \
        np.zeros((0, width), np.uint8)
    length = np.char.str_len(values).astype(np.int64) if n else np.zeros(0, np.int64)
    if null is not None:
        length[null] = 0
    return [encode_varints(length, null), (data, length)]


def assemble_records(pieces: list[Piece]) -> bytes:
    """The records' Avro encodings, one after another, from each field's piece in schema order."""
    # Side by side, each field padded to its width, the pieces make one row of bytes per record; the
    # row-major selection of the valid bytes is then the records' encodings, one after another.
    data = np.hstack([d for d, _ in pieces])
    valid = np.hstack([np.arange(d.shape[1])[None, :] < length[:, None] for d, length in pieces])
    return bytes(data[valid].tobytes())
