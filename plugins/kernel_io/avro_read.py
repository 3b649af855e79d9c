"""Read Avro object container files into compact pandas columns.

fastavro reads the header (the writer's schema decides the dtypes, and a file that is not Avro is named
as what it looks like). The blocks are decoded by polars' columnar reader (Rust) when every wanted field
becomes a plain column, twenty times faster than a record at a time; its columns go to pandas through
Arrow, one at a time, with the dtypes the schema gives. Files with fields that stay Python objects (dates,
decimals, records, arrays, unions of several types) are decoded by fastavro a record at a time, turned into
columns in C (pyarrow) a chunk of records at a time: no list of all the dicts ever exists.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, cast

import fastavro
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from kernel import DataError
from kernel_io.errors import describe

MAGIC = b"Obj\x01"
HEADER_SCHEMA = fastavro.parse_schema({
    "type": "record",
    "name": "org.apache.avro.file.Header",
    "fields": [
        {"name": "magic", "type": {"type": "fixed", "name": "magic", "size": 4}},
        {"name": "meta", "type": {"type": "map", "values": "bytes"}},
        {"name": "sync", "type": {"type": "fixed", "name": "sync", "size": 16}},
    ],
})
# logical type -> (unit, time zone) of the datetime64 column it becomes
TIMESTAMPS: dict[str, tuple[str, str | None]] = {
    "timestamp-millis": ("ms", "UTC"),
    "timestamp-micros": ("us", "UTC"),
    "local-timestamp-millis": ("ms", None),
    "local-timestamp-micros": ("us", None),
}
_ARROW_TYPES = {"boolean": pa.bool_(), "long": pa.int64(), "double": pa.float64(), "string": pa.string(),
                "bytes": pa.binary(), "enum": pa.string(), "timestamp": pa.int64()}
_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class Column:
    """How one top-level field of the record becomes a column."""

    name: str
    kind: str  # a key of _ARROW_TYPES, or "object": kept as the Python values fastavro gives
    nullable: bool
    symbols: tuple[str, ...] = ()
    unit: str = ""
    tz: str | None = None


def read_avro(path: Path, columns: Sequence[str] | None = None, *, columnar: bool = True) -> pd.DataFrame:
    """Read one Avro file; its schema alone decides the dtypes, so an empty file has them too.

    ``columnar=False`` decodes a record at a time (fastavro) whatever the schema: the same frame, slower.
    """
    with path.open("rb") as fo:
        header = _read_header(fo, path)
        try:
            schema = json.loads(header["meta"]["avro.schema"])
            fields = schema_columns(schema)
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"unusable Avro schema in the header: {exc}", file=path) from None
        wanted = fields if columns is None else [c for c in fields if c.name in set(columns)]
        if columnar and wanted and all(c.kind != "object" for c in wanted) and _columnar_reads(schema):
            frame = _read_columnar(fo, wanted)
            if frame is not None:
                return frame
            fo.seek(0)
            header = _read_header(fo, path)
        # fastavro turns each timestamp into a datetime object, which costs more than the rest of
        # the record; handing it the schema without those logical types yields the plain longs.
        header["meta"]["avro.schema"] = json.dumps(_without_timestamp_types(schema, fields)).encode()
        with io.BufferedReader(_Spliced(_encode_header(header), fo)) as spliced:
            try:
                table, objects, count = _decode(iter(fastavro.reader(spliced)), wanted)
            except Exception as exc:  # fastavro reports a damaged file with many exception types
                problem = f"{type(exc).__name__}: {describe(exc)}"
                where = _offset(fo)
                raise DataError(f"corrupt or truncated Avro file{where}: {problem}", file=path) from None
    data: dict[str, Any] = {}
    for column in wanted:
        data[column.name] = (pd.Series(objects[column.name], dtype=object) if column.kind == "object"
                             else _to_pandas(table.column(column.name), column))
    return pd.DataFrame(data, index=pd.RangeIndex(count), copy=False)


_SIMPLE = frozenset({"boolean", "int", "long", "float", "double", "string", "bytes"})


def _columnar_reads(schema: dict[str, Any]) -> bool:
    """Whether every field of the record is of a shape the columnar reader decodes as fastavro would: a
    primitive, a timestamp, an enum defined in place, or a union of null (first) and one of those but an
    enum."""

    def simple(avro_type: Any) -> bool:
        if isinstance(avro_type, str):
            return avro_type in _SIMPLE
        if isinstance(avro_type, dict):
            kind, logical = avro_type.get("type"), avro_type.get("logicalType")
            if kind == "enum":
                return isinstance(avro_type.get("symbols"), list)
            if logical is not None:
                return kind == "long" and logical in ("timestamp-millis", "timestamp-micros")
            return isinstance(kind, str) and kind in _SIMPLE
        return False

    for field in schema["fields"]:
        avro_type = field["type"]
        if isinstance(avro_type, list):  # a nullable enum makes polars panic: fastavro reads those
            if len(avro_type) != 2 or avro_type[0] != "null" or not simple(avro_type[1]) or (
                    isinstance(avro_type[1], dict) and avro_type[1].get("type") == "enum"):
                return False
        elif not simple(avro_type):
            return False
    return True


def _read_columnar(fo: BinaryIO, columns: list[Column]) -> pd.DataFrame | None:
    """The file (``fo`` just past its header) decoded by polars a few megabytes of blocks at a time, each
    column as the schema says; ``None`` when fastavro's path must read it: a file without records (that
    path gives it its dtypes), or one whose blocks do not add up or that polars refuses (that path names
    what is wrong with it, and where)."""
    pieces: dict[str, list[Any]] = {column.name: [] for column in columns}
    count = 0
    try:
        for rows, batch in _batches(fo, columns):
            count += rows
            for name, values in batch.items():
                pieces[name].append(values)
    except Exception:  # a damaged file, or a codec polars does not read: fastavro says which
        return None
    if count == 0:
        return None
    data: dict[str, Any] = {}
    for column in columns:  # one column at a time, its Arrow pieces released as it goes to pandas
        if column.kind == "enum":
            data[column.name] = _categorical(np.concatenate(pieces.pop(column.name)), column)
            continue
        chunks = pa.chunked_array(pieces.pop(column.name), type=_columnar_type(column))
        data[column.name] = _to_pandas(chunks, column)
        del chunks
    return pd.DataFrame(data, index=pd.RangeIndex(count), copy=False)


def avro_batches(path: Path, columns: Sequence[Column]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's records decoded by polars about a megabyte of blocks at a time: each batch's number of
    records and its ``columns`` (the file's own, from ``schema_columns`` of its schema): an enum as a numpy
    array of positions in its symbols (-1: none), a timestamp as Arrow int64 in its unit (null where null),
    any other as an Arrow array of its kind. For a reader that puts each batch where it belongs, so that no
    column of the whole file is ever built. Raises ``DataError`` for a file that is not Avro, ``ValueError``
    for one polars does not decode as fastavro would (``read_avro`` reads those, or says what is wrong), and
    polars' own exceptions for damaged blocks."""
    with path.open("rb") as fo:
        header = _read_header(fo, path)
        try:
            schema = json.loads(header["meta"]["avro.schema"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"unusable Avro schema in the header: {exc}") from None
        if any(c.kind == "object" for c in columns) or not _columnar_reads(schema):
            raise ValueError("fields that polars does not decode as fastavro does")
        yield from _batches(fo, list(columns))


def avro_record_count(path: Path) -> int | None:
    """How many records an Avro file holds, from its blocks' first bytes alone; ``None`` when it is not an
    Avro file or its blocks do not add up (reading it says what is wrong)."""
    try:
        with path.open("rb") as fo:
            _read_header(fo, path)
            return sum(records for _, _, records in _block_runs(fo))
    except (DataError, OSError, ValueError):
        return None


def _batches(fo: BinaryIO, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``fo`` (just past its header) decoded by polars, a few megabytes of blocks at a time."""
    import polars as pl  # only when an Avro file is read: it costs every command's start-up otherwise

    start = fo.tell()
    fo.seek(0)
    head = fo.read(start)
    names = [c.name for c in columns]
    for first, last, records in _block_runs(fo):
        fo.seek(first)
        blocks = fo.read(last - first)
        if len(blocks) != last - first:
            raise ValueError("the last block is cut short")
        # One copy of the blocks behind the header: polars reads the whole of what it is given.
        table = pl.read_avro(io.BytesIO(b"".join((head, blocks))), columns=names)
        del blocks
        if table.height != records:
            raise ValueError("the blocks hold another number of records than their headers say")
        batch = {}
        for column in columns:  # as Arrow, in the schema's types; polars' buffers go with the batch
            values = table.drop_in_place(column.name).to_arrow()
            batch[column.name] = (_enum_codes(values, column) if column.kind == "enum"
                                  else _as_arrow_type(values, column))
        del table
        yield records, batch


_BATCH_BYTES = 1 << 20  # encoded blocks decoded at once: polars' working memory stays small
_BLOCK_HEAD = 20  # a block starts with two Avro longs, ten bytes each at most
# polars gives text as Arrow's large_string, which pandas' str dtype keeps: no round trip through string
_COLUMNAR_TYPES = {"string": pa.large_string()}


def _columnar_type(column: Column) -> Any:
    return _COLUMNAR_TYPES.get(column.kind, _ARROW_TYPES[column.kind])


def _block_runs(fo: BinaryIO) -> Iterator[tuple[int, int, int]]:
    """The byte ranges of the data blocks after the header (``fo`` just past it), a few megabytes of whole
    blocks each (each block: a count and a size as Avro longs, the data, the 16-byte sync marker), and the
    records in each range. Only the blocks' first bytes are read here. Raises ValueError where they do not add
    up (a truncated file)."""
    first = position = fo.tell()
    records = 0
    while True:
        fo.seek(position)
        head = fo.read(_BLOCK_HEAD)
        if not head:
            break
        count, at = _long_in(head, 0)
        size, at = _long_in(head, at)
        if size < 0 or count < 0:
            raise ValueError("negative block size or count")
        records += count
        position += at + size + 16
        if position - first >= _BATCH_BYTES:
            yield first, position, records
            first, records = position, 0
    if position > first:
        yield first, position, records


def _long_in(data: bytes, at: int) -> tuple[int, int]:
    """The Avro long (a zig-zag varint) at ``data[at:]``, and where it ends."""
    shift = result = 0
    while True:
        if at >= len(data):
            raise ValueError("the file ends inside a block header")
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), at
        shift += 7
        if shift > 63:
            raise ValueError("a block header is not an Avro long")


def _enum_codes(values: Any, column: Column) -> Any:
    """An enum's codes (positions in the schema's symbols, -1 where none) from its text, or from polars'
    categorical column: its dictionary mapped to the symbols, then its indices looked up, without spelling
    out each value."""
    symbols = pa.array(column.symbols, pa.string())
    if pa.types.is_dictionary(values.type):
        if values.null_count == 0:
            positions = pc.fill_null(pc.index_in(values.dictionary.cast(pa.string()), value_set=symbols), -1)
            return positions.to_numpy()[values.indices.to_numpy()]
        values = values.dictionary_decode()
    return pc.fill_null(pc.index_in(values.cast(pa.string()), value_set=symbols), -1).to_numpy()


def _categorical(codes: Any, column: Column) -> Any:
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(column.symbols)))


def _as_arrow_type(values: Any, column: Column) -> Any:
    """An Arrow array from polars in the type the columnar path gives its kind (``_columnar_type``)."""
    if column.kind == "timestamp":
        if pa.types.is_timestamp(values.type) and values.type.unit != column.unit:
            values = values.cast(pa.timestamp(column.unit, tz=values.type.tz))
        return values.cast(pa.int64())
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.cast(_columnar_type(column))


def schema_columns(schema: Any) -> list[Column]:
    """The columns a record schema's top-level fields become (see docs/io.md for the mapping)."""
    if not isinstance(schema, dict) or schema.get("type") != "record" or not isinstance(schema.get("fields"), list):
        raise ValueError("the top-level schema is not a record with a list of fields")
    named: dict[str, Any] = {}
    try:
        fastavro.parse_schema(schema, named_schemas=named)  # fills `named` so references resolve
    except Exception as exc:  # fastavro rejects a schema with several exception types
        raise ValueError(f"not a valid Avro schema: {type(exc).__name__}: {describe(exc)}") from None
    return [_column(field["name"], field["type"], named, schema.get("namespace", "")) for field in
            schema["fields"]]


def _column(name: str, avro_type: Any, named: dict[str, Any], namespace: str) -> Column:
    nullable = False
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        nullable = len(branches) < len(avro_type)
        if len(branches) != 1:
            return Column(name, "object", nullable)
        avro_type = branches[0]
    avro_type = _resolve(avro_type, named, namespace)
    base = avro_type.get("type") if isinstance(avro_type, dict) else avro_type
    logical = avro_type.get("logicalType") if isinstance(avro_type, dict) else None
    if base == "long" and logical in TIMESTAMPS:
        unit, tz = TIMESTAMPS[logical]
        return Column(name, "timestamp", nullable, unit=unit, tz=tz)
    if logical is not None:  # dates, decimals, uuids...: the Python values fastavro makes
        return Column(name, "object", nullable)
    if base == "enum":
        return Column(name, "enum", nullable, symbols=tuple(avro_type["symbols"]))
    kind = {"int": "long", "long": "long", "float": "double", "double": "double", "boolean": "boolean",
            "string": "string", "bytes": "bytes"}.get(base) if isinstance(base, str) else None
    return Column(name, kind or "object", nullable)


def _resolve(avro_type: Any, named: dict[str, Any], namespace: str) -> Any:
    """Follow a reference to a named type, and unwrap ``{"type": {...}}``."""
    while True:
        if isinstance(avro_type, str) and avro_type not in _PRIMITIVES:
            avro_type = named.get(avro_type) or named.get(f"{namespace}.{avro_type}", avro_type)
            if isinstance(avro_type, str):
                return avro_type
        elif isinstance(avro_type, dict) and isinstance(avro_type.get("type"), (dict, list)):
            avro_type = avro_type["type"]
        else:
            return avro_type


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def _without_timestamp_types(schema: dict[str, Any], columns: list[Column]) -> dict[str, Any]:
    fields = []
    for field, column in zip(schema["fields"], columns, strict=True):
        if column.kind == "timestamp":
            # Keep each union branch where it is: the data refers to branches by position.
            avro_type = field["type"]
            if isinstance(avro_type, list):
                field = {**field, "type": [t if t == "null" else "long" for t in avro_type]}
            else:
                field = {**field, "type": "long"}
        fields.append(field)
    return {**schema, "fields": fields}


def _decode(records: Iterator[Any], columns: list[Column]) -> tuple[Any, dict[str, list[Any]], int]:
    arrow_schema = pa.schema([(c.name, _ARROW_TYPES[c.kind]) for c in columns if c.kind != "object"])
    objects: dict[str, list[Any]] = {c.name: [] for c in columns if c.kind == "object"}
    batches = []
    count = 0
    while chunk := list(islice(records, _CHUNK)):
        batches.append(pa.RecordBatch.from_pylist(chunk, schema=arrow_schema))
        for name, values in objects.items():
            values.extend(record[name] for record in chunk)
        count += len(chunk)
    return pa.Table.from_batches(batches, schema=arrow_schema), objects, count


def _to_pandas(values: Any, column: Column) -> Any:
    if column.kind == "timestamp":
        return values.cast(pa.timestamp(column.unit, tz=column.tz)).to_pandas()
    if column.kind == "enum":
        return _categorical(_enum_codes(values, column), column)
    if column.nullable and column.kind in ("long", "boolean"):
        nullable_dtype = pd.Int64Dtype() if column.kind == "long" else pd.BooleanDtype()
        return values.to_pandas(types_mapper=lambda _: nullable_dtype)
    return values.to_pandas()


def looks_like(start: bytes) -> str:
    """What a file that is not Avro seems to be, from its first bytes: for an error message."""
    if not start:
        return "it is empty"
    if start.startswith(b"\x1f\x8b"):
        return "it looks like gzip: decompress it first"
    if start.startswith((b"PAR1",)):
        return "it looks like Parquet"
    if start.startswith((b"PK\x03\x04",)):
        return "it looks like a zip archive"
    if start.lstrip().startswith((b"{", b"[")):
        return "it looks like JSON"
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError:
        return "it does not start with the Avro magic bytes"
    return "it looks like CSV or other text" if text.isprintable() or "\n" in text else (
        "it does not start with the Avro magic bytes")


def _offset(fo: BinaryIO) -> str:
    """Where decoding stopped, as far as the file was read (decoding reads ahead by up to a block)."""
    try:
        return f" (decoding stopped by byte {fo.tell():,} of {os.fstat(fo.fileno()).st_size:,})"
    except (OSError, ValueError):
        return ""


def _read_header(fo: BinaryIO, path: Path) -> dict[str, Any]:
    start = fo.read(64)
    if start[: len(MAGIC)] != MAGIC:
        raise DataError(f"not an Avro file ({looks_like(start)})", file=path)
    fo.seek(0)
    try:
        return cast(dict[str, Any], fastavro.schemaless_reader(fo, HEADER_SCHEMA, None))
    except Exception as exc:  # a short or damaged header fails in fastavro's own ways
        problem = f"{type(exc).__name__}: {describe(exc)}"
        raise DataError(f"truncated or corrupt Avro header: {problem}", file=path) from None


def _encode_header(header: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, HEADER_SCHEMA, header)
    return out.getvalue()


class _Spliced(io.RawIOBase):
    """A stream that yields ``head`` and then the rest of ``body``."""

    def __init__(self, head: bytes, body: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(target), len(self._head))
            target[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._body.read(len(target))
        target[: len(data)] = data
        return len(data)
