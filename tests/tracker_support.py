"""Helpers for the tracker tests: a kernel with the demo steps, the tracker and a few step types of our own."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import kernel_tracker.plugin
import pandas as pd
from helpers import write_pipeline

from kernel import Inputs, Kernel, Outputs, RunResult, StepContext, hookimpl, step


@step("tt.reshape")
def reshape(inputs: Inputs) -> pd.DataFrame:
    """Add column y, drop column x, turn column keep into strings."""
    (frame,) = inputs.values()
    return frame.assign(y=frame["x"] * 2, keep=frame["keep"].astype(str)).drop(columns=["x"])


@step("tt.table")
def table(inputs: Inputs) -> pd.DataFrame:
    """A small frame of mixed dtypes with missing values."""
    return pd.DataFrame({
        "x": [1, 2, 3, 4],
        "keep": [0.5, None, 2.5, None],
        "name": ["a", None, "c", "d"],
        "at": pd.to_datetime(["2024-01-01 10:00", None, "2024-01-03 00:00", "2024-01-04 00:00"]).tz_localize("UTC"),
        "kind": pd.Categorical(["u", "v", None, "u"]),
    })


@step("tt.reader")
def reader(inputs: Inputs, *, path: str, ctx: StepContext) -> pd.DataFrame:
    """Read a CSV file and say so."""
    frame = pd.read_csv(path)
    ctx.read(path, "csv", rows=len(frame), columns={c: str(t) for c, t in frame.dtypes.items()},
             content_hash="sha256:" + "0" * 64)
    return frame


@step("tt.writer", outputs=())
def writer(inputs: Inputs, *, path: str, ctx: StepContext) -> Outputs:
    """Write the only input to a CSV file and say so."""
    (frame,) = inputs.values()
    frame.to_csv(path, index=False)
    ctx.wrote(path, "csv", rows=len(frame))
    return {}


@step("tt.read_then_fail")
def read_then_fail(inputs: Inputs, *, path: str, ctx: StepContext) -> pd.DataFrame:
    """Read a CSV file, say so, then fail."""
    frame = pd.read_csv(path)
    ctx.read(path, "csv", rows=len(frame))
    raise ValueError("read it, then gave up")


class SupportSteps:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [reshape, table, reader, writer, read_then_fail]


def tracked_kernel(*, disable: tuple[str, ...] = (), report_fields: bool = False) -> Kernel:
    """The demo steps and the tracker; with ``report_fields``, a plugin adding the report writer's fields."""
    demo = importlib.import_module("kernel_demo_steps")  # the demo distribution (fixture demo_installed)
    plugins: list[tuple[str, object]] = [("demo", demo), ("tt", SupportSteps()), ("tracker", kernel_tracker.plugin)]
    if report_fields:
        plugins.append(("context", _ReportFields()))
    return Kernel(entry_points=False, disable=disable, plugins=plugins)


class _ReportFields:
    @hookimpl
    def register_fields(self) -> list[Any]:
        from kernel_report.settings import FIELDS

        return FIELDS


def run_pipeline(tmp_path: Path, steps: list[dict[str, Any]], *, kernel: Kernel | None = None,
                 tracker: dict[str, Any] | None = None, **options: Any) -> RunResult:
    extra: dict[str, Any] = {}
    if tracker is not None:
        extra["plugins"] = {"settings": {"tracker": tracker}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_pipeline(tmp_path, steps, **extra)
    return (kernel or tracked_kernel()).run(path, runs_root=tmp_path / "runs", **options)


def read_json(result: RunResult, name: str) -> Any:
    return json.loads((result.run.run_dir / name).read_text())


def events(result: RunResult) -> list[dict[str, Any]]:
    lines = (result.run.run_dir / "openlineage.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
