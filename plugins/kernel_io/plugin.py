"""The built-in ``io`` plugin: the ``io.read`` and ``io.write`` step types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from kernel import Inputs, Outputs, StepContext, StepSettingsError, hookimpl, step
from kernel_io.formats import read_sources, write_frame
from kernel_io.paths import Format, format_for, resolve
from kernel_io.settings import ReadSettings, WriteSettings


@step("io.read", inputs=(), outputs=("out",), settings=ReadSettings)
def read(inputs: Inputs, *, path: str, format: Format | None = None, columns: list[str] | None = None,
         file_column: str | None = None, parse_dates: Sequence[str] = (),
         ctx: StepContext | None = None) -> Outputs:
    """Read a file, a directory of files or a glob (Avro, JSON, CSV, Parquet) into one table."""
    found, sources = resolve(path, format)
    frame = read_sources(sources, found, columns=columns, file_column=file_column, parse_dates=parse_dates)
    if ctx is not None:
        ctx.read(path, found, rows=len(frame), columns=_dtypes(frame))
    return {"out": frame}


@step("io.write", outputs=(), settings=WriteSettings)
def write(inputs: Inputs, *, path: str, format: Format | None = None, lines: bool = False,
          avro_schema: dict[str, Any] | None = None, ctx: StepContext | None = None) -> Outputs:
    """Write the step's one input to a file (Avro, JSON, CSV, Parquet), atomically."""
    if len(inputs) != 1:
        names = ", ".join(inputs) or "none"
        raise StepSettingsError(f"io.write takes exactly one input, got {len(inputs)} ({names})",
                                field="needs")
    (frame,) = inputs.values()
    found = format_for(path, format)
    write_frame(frame, path, found, lines=lines, avro_schema=avro_schema)
    if ctx is not None:
        ctx.wrote(path, found, rows=len(frame), columns=_dtypes(frame))
    return {}


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


@hookimpl
def register_steps() -> list[Callable[..., Outputs]]:
    return [read, write]
