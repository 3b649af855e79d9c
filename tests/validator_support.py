"""Helpers for the validator tests: small step types, a kernel with the validator, and a runner that
returns the run with its ``validation.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kernel_validator.plugin as validator_plugin
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from helpers import write_pipeline

from kernel import Inputs, Kernel, Outputs, RunResult, StepContext, hookimpl, step

ROWS: list[dict[str, Any]] = [
    {"device_id": "d1", "ts": "2024-01-01T00:00:00Z", "uptime": 0.5, "status": "ONLINE", "fw": "1.2.3"},
    {"device_id": "d1", "ts": "2024-01-01T00:00:00Z", "uptime": 1.5, "status": "BROKEN", "fw": "v1.2"},
    {"device_id": "d2", "ts": "2024-01-01T00:01:00Z", "uptime": -0.1, "status": "OFFLINE", "fw": "1.10.0"},
    {"device_id": None, "ts": "2024-01-01T00:02:00Z", "uptime": None, "status": "DEGRADED", "fw": "2.0"},
]


@step("vt.rows")
def rows(
    inputs: Inputs, *, rows: list[dict[str, Any]], timestamps: list[str] | None = None,
    dates: list[str] | None = None, arrow_dates: bool = False,
) -> pd.DataFrame:
    """A frame from literal rows; the columns named in timestamps are parsed as UTC times, those in dates as
    calendar dates (Python dates, as pandas reads Parquet's date32, or Arrow's date32 with arrow_dates)."""
    frame = pd.DataFrame(rows)
    for column in timestamps or []:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in dates or []:
        parsed = pd.to_datetime(frame[column]).dt.date.astype(object).where(frame[column].notna(), None)
        frame[column] = parsed.astype(pd.ArrowDtype(pa.date32())) if arrow_dates else parsed
    return frame


@step("vt.pass")
def passthrough(inputs: Inputs) -> pd.DataFrame:
    """The only input, unchanged."""
    (frame,) = inputs.values()
    return frame


@step("vt.pick")
def pick(inputs: Inputs, *, take: str) -> pd.DataFrame:
    """The input named take (the others only order the steps)."""
    return inputs[take]


@step("vt.window", outputs=("windows", "late"))
def window(inputs: Inputs, *, late_before: str) -> Outputs:
    """Rows with ts before late_before are late; the rest are counted per device (column records)."""
    (frame,) = inputs.values()
    stamps = pd.to_datetime(frame["ts"], utc=True)
    late = stamps < pd.Timestamp(late_before)
    windows = frame[~late].groupby("device_id", as_index=False).size().rename(columns={"size": "records"})
    return {"windows": windows, "late": frame[late]}


@step("vt.publish", outputs=())
def publish(inputs: Inputs, *, ctx: StepContext) -> None:
    """Write the only input to gold/out.csv in the run directory, like a gold-layer writer."""
    (frame,) = inputs.values()
    target = ctx.run_dir / "gold" / "out.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)


class StepsPlugin:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [rows, passthrough, pick, window, publish]


def make_kernel(*extra: tuple[str, object], disable: tuple[str, ...] = ()) -> Kernel:
    plugins = [("vt", StepsPlugin()), ("validator", validator_plugin), *extra]
    return Kernel(entry_points=False, plugins=plugins, disable=disable)


def source(checks: list[Any], data: list[dict[str, Any]] | None = None, name: str = "src") -> dict[str, Any]:
    """A step of the test rows (ts parsed as timestamps) with the given checks."""
    return {"name": name, "uses": "vt.rows", "settings": {"rows": data or ROWS, "timestamps": ["ts"]}, "checks": checks}


def run(
    tmp_path: Path, steps: list[dict[str, Any]], kernel: Kernel | None = None, **options: Any
) -> tuple[RunResult, dict[str, Any] | None]:
    """Run the steps; return the result and validation.json (None when the validator wrote none)."""
    extra = {k: options.pop(k) for k in ("params", "plugins") if k in options}
    path = write_pipeline(tmp_path, steps, **extra)
    result = (kernel or make_kernel()).run(path, runs_root=tmp_path / "runs", **options)
    written = result.run.run_dir / "validation.json"
    return result, json.loads(written.read_text()) if written.exists() else None


def by_id(validation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in validation["checks"]}
