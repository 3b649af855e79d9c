"""Telemetry columns to Avro: encoded with numpy a block at a time, framed and compressed by fastavro.

fastavro's ``writer`` wants a dict per record and spends 18 to 33 µs on each on the benchmark machine (it
finds union branches by validating the value), so ten million records would take minutes. Avro's
binary encoding is simple and canonical (zig-zag varints, length-prefixed strings, little-endian
doubles, a varint branch index before a union's value), so the records of a block are encoded here from
the columns at once, and fastavro's :class:`~fastavro.write.Writer` writes the header, each block
(``write_block``, the API fastavro offers for copying blocks), its codec and its sync marker. The bytes
are those fastavro itself would write; ``tests/test_iot_generate.py`` checks it record by record against
:func:`records`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import fastavro
import numpy as np
from fastavro.write import Writer
from kernel_datagen import assemble_records, encode_branches, encode_varints
from kernel_io import AvroBlock
from numpy.typing import NDArray

from kernel_iot.gen_telemetry import Columns
from kernel_iot.schemas import STATUS_SYMBOLS, TELEMETRY

U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]
Piece = tuple[U8, I64]  # one field of each record: bytes (padded to a width) and each record's length


class TelemetryWriter:
    """Appends telemetry columns to one Avro file, a block per call."""

    def __init__(self, fo: BinaryIO, device_ids: Sequence[str], *, codec: str, sync_marker: bytes) -> None:
        # deflate at level 1: nearly the size of the default level 6 (33 MB against 29 MB a day of 1,000
        # devices) in little more than half its time.
        level = 1 if codec == "deflate" else None
        self._writer = Writer(fo, fastavro.parse_schema(TELEMETRY), codec=codec, sync_marker=sync_marker,
                              compression_level=level)
        self._ids = _string_table(device_ids)

    def write(self, c: Columns, versions: Sequence[str]) -> None:
        if c["dev"].size:
            self._writer.write_block(AvroBlock(encode(c, self._ids, _string_table(versions)), int(c["dev"].size)))

    def close(self) -> None:
        self._writer.flush()


def encode(c: Columns, ids: Piece, versions: Piece) -> bytes:
    """The Avro binary encoding of the records, one after another, in the field order of TELEMETRY."""
    event_null, rssi_null = c["event_null"], c["rssi_null"]
    temp_null, battery_null = np.isnan(c["temp"]), np.isnan(c["battery"])
    pieces = [
        _lookup(ids, c["dev"]),
        encode_varints(c["seq"]),
        encode_branches(event_null), encode_varints(c["event"], event_null),
        encode_varints(c["ingest"]),
        encode_varints(c["status"].astype(np.int64)),
        _lookup(versions, c["fw"]),
        encode_branches(temp_null), _double(c["temp"], temp_null),
        encode_branches(battery_null), _double(c["battery"], battery_null),
        encode_branches(rssi_null), encode_varints(c["rssi"], rssi_null),
    ]
    return assemble_records(pieces)


def _double(values: NDArray[np.float64], null: NDArray[np.bool_]) -> Piece:
    data = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(-1, 8)
    return data, np.where(null, 0, 8).astype(np.int64)


def _string_table(strings: Sequence[str]) -> Piece:
    encoded = [_varint_bytes(len(raw)) + raw for raw in (text.encode() for text in strings)]
    width = max((len(e) for e in encoded), default=1)
    table = np.zeros((len(encoded), width), np.uint8)
    for i, e in enumerate(encoded):
        table[i, : len(e)] = np.frombuffer(e, np.uint8)
    return table, np.array([len(e) for e in encoded], np.int64)


def _varint_bytes(value: int) -> bytes:
    """A non-negative value's zig-zag varint."""
    u, out = value << 1, bytearray()
    while u >= 0x80:
        out.append(u & 0x7F | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def _lookup(table: Piece, codes: I64) -> Piece:
    return table[0][codes], table[1][codes]


def records(c: Columns, device_ids: Sequence[str], versions: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The same records as dicts, as ``fastavro.writer`` takes them (slow; for tests and small data)."""
    for i in range(c["dev"].size):
        yield {
            "device_id": device_ids[int(c["dev"][i])],
            "seq": int(c["seq"][i]),
            "event_time": None if c["event_null"][i] else int(c["event"][i]),
            "ingest_time": int(c["ingest"][i]),
            "status": STATUS_SYMBOLS[int(c["status"][i])],
            "firmware_version": versions[int(c["fw"][i])],
            "temperature_c": None if np.isnan(c["temp"][i]) else float(c["temp"][i]),
            "battery_pct": None if np.isnan(c["battery"][i]) else float(c["battery"][i]),
            "rssi_dbm": None if c["rssi_null"][i] else int(c["rssi"][i]),
        }
