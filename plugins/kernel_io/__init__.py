"""The built-in I/O plugin: ``io.read``, ``io.write`` and ``io.publish``, and the functions behind them,
which other plugins use to find, read and publish files."""

from __future__ import annotations

from kernel_io.avro_read import Column, read_avro, schema_columns
from kernel_io.avro_write import derive_schema
from kernel_io.errors import describe
from kernel_io.formats import read_frame, write_frame
from kernel_io.json_records import read_json
from kernel_io.paths import EXTENSIONS, FORMATS, Format, Source, infer_format, resolve
from kernel_io.publish import publish_directory

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Column",
    "Format",
    "Source",
    "derive_schema",
    "describe",
    "infer_format",
    "publish_directory",
    "read_avro",
    "read_frame",
    "read_json",
    "resolve",
    "schema_columns",
    "write_frame",
]
