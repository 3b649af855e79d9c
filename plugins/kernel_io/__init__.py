"""The built-in I/O plugin: ``io.read`` and ``io.write``, and the functions behind them."""

from __future__ import annotations

from kernel_io.avro_write import derive_schema
from kernel_io.formats import read_frame, write_frame
from kernel_io.paths import EXTENSIONS, FORMATS, Format, infer_format

__all__ = ["EXTENSIONS", "FORMATS", "Format", "derive_schema", "infer_format", "read_frame", "write_frame"]
