"""Helpers for the report writer's tests: read the Markdown report back, and stand-ins for the
tracker and the validator that write their files as the contract in docs/report.md says."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import kernel_tracker.report
import kernel_validator.report

from kernel import Listener, Run, hookimpl, signals, write_text_atomic
from kernel.events import PipelineCompleted, PipelineErrored, StepCompleted, StepStarted

_PIPE = re.compile(r"(?<!\\)\|")
_ESCAPE = re.compile(r"\\(.)")


def md_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def split_row(line: str) -> list[str]:
    """The cells of a Markdown table row, unescaped; a pipe escaped with a backslash is text."""
    cells = _PIPE.split(line.strip())[1:-1]
    return [_ESCAPE.sub(r"\1", cell.strip()) for cell in cells]


def md_tables(section: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every table of a section: (header, rows)."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = split_row(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(split_row(lines[i]))
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def md_table(section: str, first_column: str) -> list[dict[str, str]]:
    """The table of ``section`` whose first column is ``first_column``, as dicts."""
    for header, rows in md_tables(section):
        if header[0] == first_column:
            return [dict(zip(header, row, strict=True)) for row in rows]
    raise AssertionError(f"no table starting with column {first_column!r}")


def md_rows(section: str, *header: str) -> list[dict[str, str]]:
    """The rows of the table of ``section`` whose header is exactly ``header``, as dicts."""
    for found, rows in md_tables(section):
        if tuple(found) == header:
            return [dict(zip(header, row, strict=True)) for row in rows]
    raise AssertionError(f"no table with the columns {header!r}")


def md_facts(section: str) -> dict[str, str]:
    return {row["figure"]: row["value"] for row in md_table(section, "figure")}


def pairs(text: str) -> dict[str, int]:
    """``a=1, b=2`` back into a dict; the dash (not measured) is empty."""
    if text == "—":
        return {}
    return {k: int(v) for k, v in (item.split("=") for item in text.split(", "))}


class Tags(HTMLParser):
    """Every tag and attribute of an HTML page, and its text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# Stand-ins for the tracker and the validator: they write their files in their own
# pipeline_complete/pipeline_error receivers, as the real ones do, in no fixed order with the report.


class FakeTracker:
    def __init__(self, extra_column: str = "y") -> None:
        self.extra_column = extra_column
        self.report_existed: list[bool] = []

    @hookimpl
    def connect_listeners(self, run: Run) -> Iterable[Listener]:
        state: dict[str, Any] = {"snapshots": 0, "steps": {}}

        def started(sender: Run, *, event: StepStarted, **extra: object) -> None:
            state["snapshots"] += len(event.inputs)

        def done(sender: Run, *, event: StepCompleted, **extra: object) -> None:
            state["snapshots"] += len(event.outputs)
            diff = {out: {"against": None, "added": {self.extra_column: "int64"}, "removed": {}, "retyped": {}}
                    for out in event.outputs}
            state["steps"][event.step.name] = {"status": "succeeded", "schema_diff": diff}

        def end(sender: Run, *, event: PipelineCompleted | PipelineErrored, **extra: object) -> None:
            self.report_existed.append((run.run_dir / "report.md").exists())
            doc = {"run_id": run.run_id, "samples": 0, "snapshot_count": state["snapshots"], "steps": state["steps"]}
            write_text_atomic(run.run_dir / "tracker.json", json.dumps(doc))

        return [Listener(signals.step_start, started), Listener(signals.step_complete, done),
                Listener(signals.pipeline_complete, end), Listener(signals.pipeline_error, end)]

    @hookimpl(optionalhook=True)
    def report_sections(self, run_dir: Path) -> list[dict[str, Any]]:
        return kernel_tracker.report.sections(run_dir)  # the tracker's own section, from the file above


VALIDATION: dict[str, Any] = {
    "checks": [
        {"id": "nums.x.not_null", "step": "nums", "output": "out", "check": "not_null(x)", "severity": "error",
         "mostly": None, "passed": True, "rows_checked": 6, "rows_failed": 0, "fraction_failed": 0.0,
         "failing_values": [], "action": "fail", "message": "ok"},
        {"id": "nums.x.range", "step": "nums", "output": "out", "check": "in_range(x, 0, 3)", "severity": "warn",
         "mostly": 0.9, "passed": False, "rows_checked": 6, "rows_failed": 2, "fraction_failed": 0.3333,
         "failing_values": [4, 5], "action": "quarantine", "message": "2 rows out of range"},
        {"id": "nums.x.unique", "step": "nums", "output": "out", "check": "unique(x)", "severity": "error",
         "mostly": None, "passed": False, "rows_checked": 6, "rows_failed": 1, "fraction_failed": 0.1667,
         "failing_values": [1], "action": "quarantine", "message": "duplicate x"},
    ],
    "quarantine": [
        {"step": "nums", "output": "out", "check_id": "nums.x.range", "reason": "out_of_range", "rows": 2,
         "path": "quarantine/nums.out.parquet"},
        {"step": "nums", "output": "out", "check_id": "nums.x.unique", "reason": "duplicate", "rows": 1,
         "path": "quarantine/nums.out.parquet"},
        {"step": "other", "output": "out", "check_id": "other.x.range", "reason": "out_of_range", "rows": 4,
         "path": "quarantine/other.out.parquet"},
    ],
    "blocked": [],
}


class FakeValidator:
    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else VALIDATION

    @hookimpl
    def connect_listeners(self, run: Run) -> Iterable[Listener]:
        def end(sender: Run, **extra: object) -> None:
            write_text_atomic(run.run_dir / "validation.json", json.dumps({"run_id": run.run_id, **self.document}))

        return [Listener(signals.pipeline_complete, end), Listener(signals.pipeline_error, end)]

    @hookimpl(optionalhook=True)
    def report_sections(self, run_dir: Path) -> list[dict[str, Any]]:
        return kernel_validator.report.sections(run_dir)  # the validator's own section, from the file above


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
