"""The built-in I/O plugin: ``io.read``, ``io.write`` and ``io.publish``, and the functions behind them,
which other plugins use to find, read and publish files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_io.avro_encode import AvroBlock, zigzag_varints
    from kernel_io.avro_read import Column, avro_batches, avro_record_count, read_avro, schema_columns
    from kernel_io.avro_write import derive_schema
    from kernel_io.errors import describe
    from kernel_io.formats import read_frame, write_frame
    from kernel_io.json_records import read_json
    from kernel_io.paths import EXTENSIONS, FORMATS, Format, Source, infer_format, resolve
    from kernel_io.publish import publish_directory

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "AvroBlock",
    "Column",
    "Format",
    "Source",
    "avro_batches",
    "avro_record_count",
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
    "zigzag_varints",
]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "AvroBlock": "kernel_io.avro_encode",
    "zigzag_varints": "kernel_io.avro_encode",
    "Column": "kernel_io.avro_read",
    "avro_batches": "kernel_io.avro_read",
    "avro_record_count": "kernel_io.avro_read",
    "read_avro": "kernel_io.avro_read",
    "schema_columns": "kernel_io.avro_read",
    "derive_schema": "kernel_io.avro_write",
    "describe": "kernel_io.errors",
    "read_frame": "kernel_io.formats",
    "write_frame": "kernel_io.formats",
    "read_json": "kernel_io.json_records",
    "EXTENSIONS": "kernel_io.paths",
    "FORMATS": "kernel_io.paths",
    "Format": "kernel_io.paths",
    "Source": "kernel_io.paths",
    "infer_format": "kernel_io.paths",
    "resolve": "kernel_io.paths",
    "publish_directory": "kernel_io.publish",
})
