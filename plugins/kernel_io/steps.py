"""The step functions of the ``io`` plugin, imported when a run needs them (``kernel_io.plugin`` declares them)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kernel import Inputs, Outputs, StepContext, StepSettingsError
from kernel_io import publish as results
from kernel_io.formats import read_found, write_frame
from kernel_io.paths import EXTENSIONS, Format, format_for
from kernel_io.plugin import PUBLISH


def read(inputs: Inputs, *, path: str, format: Format | None = None, columns: list[str] | None = None,
         file_column: str | None = None, parse_dates: Sequence[str] = (), text: Sequence[str] = (),
         ctx: StepContext | None = None) -> Outputs:
    """Read a file, a directory of files or a glob (Avro, JSON, CSV, Parquet), local or at a URL, into one table."""
    found, frame = read_found(path, format, columns=columns, file_column=file_column, parse_dates=parse_dates,
                              text=text)
    if ctx is not None:
        ctx.read(path, found, rows=len(frame), columns=_dtypes(frame))
    return {"out": frame}


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


def publish(inputs: Inputs, *, path: str, format: Format = "parquet", documents: Sequence[str] = (),
            ctx: StepContext | None = None) -> Outputs:
    """Write every input into the results directory path, one file each, replacing the previous results whole."""
    unknown = [name for name in documents if name not in inputs]
    if unknown:
        raise StepSettingsError(f"documents names '{unknown[0]}', which is not an input", field="settings.documents")
    extension = next(ext for ext, fmt in EXTENSIONS.items() if fmt == format)
    files = {name: f"{name}.json" if name in documents else f"{name}{extension}" for name in inputs}

    def write_all(directory: Path) -> None:
        for name, frame in inputs.items():
            if name in documents:
                results.write_document(frame, directory / files[name], name)
            else:
                write_frame(frame, directory / files[name], format)

    if ctx is None:  # called on its own: publish at once
        results.publish_directory(path, write_all, pipeline="", run_id=None)
        return {}
    staging = results.stage(path, write_all, pipeline=ctx.pipeline, run_id=ctx.run_id)
    ctx.stage(PUBLISH, path=path, staging=str(staging))
    target = Path(path)
    for name, frame in inputs.items():  # what a reader of path finds once the run has committed
        kind: str = "json" if name in documents else format
        ctx.wrote(target / files[name], kind, rows=len(frame), columns=_dtypes(frame),
                  content_hash=_hash(staging / files[name]))
    return {}


def _hash(path: Path) -> str:
    with path.open("rb") as fo:
        return "sha256:" + hashlib.file_digest(fo, "sha256").hexdigest()


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
