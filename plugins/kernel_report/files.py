"""Reading a run directory: the only source of the report's figures.

``run.json`` (the kernel's) is required; the report writer's own files are optional (it may not have
taken part). A file that is present but unreadable is noted in the report, never guessed at. Other
plugins' files are theirs to read: they add their sections through ``report_sections``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel import RUN_SCHEMA_VERSION, KernelError, read_document

SCHEMA_VERSION = 1  # of the report writer's own files
CONTEXT = "report-context.json"
OUTPUTS = "report-outputs.json"  # the report writer's own counts of step outputs (kernel_report.outputs)


@dataclass(frozen=True, slots=True)
class RunFiles:
    run_dir: Path
    record: dict[str, Any]
    context: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def plugins(self) -> list[str]:
        return [str(p) for p in as_list(self.record.get("plugins"))]



def read_run(run_dir: str | Path, record: Mapping[str, Any] | None = None) -> RunFiles:
    """Read the files of ``run_dir``; ``record`` stands in for ``run.json`` (the in-memory record at
    the end of a run, before the kernel has written the final ``run.json``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KernelError("no such run directory", file=run_dir)
    problems: list[str] = []
    if record is None:
        path = run_dir / "run.json"
        if not path.is_file():
            raise KernelError("not a run directory: it has no run.json", file=run_dir)
        try:
            record = read_document(path, RUN_SCHEMA_VERSION)
        except KernelError as exc:
            raise KernelError(str(exc), file=run_dir) from None
    optional = {}
    for key, name in (("context", CONTEXT), ("outputs", OUTPUTS)):
        optional[key] = _optional(run_dir / name, problems)
    return RunFiles(run_dir, dict(record), problems=tuple(problems), **optional)


def _optional(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return read_document(path, SCHEMA_VERSION)
    except KernelError as exc:
        problems.append(str(exc))
        return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
