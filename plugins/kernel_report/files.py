"""Reading a run directory: the only source of the report's figures.

``run.json`` (the kernel's) is required; the report writer's own files are optional (it may not have
taken part). A file that is present but unreadable is noted in the report, never guessed at. Other
plugins' files are theirs to read: they add their sections through ``report_sections``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel import RUN_SCHEMA_VERSION, KernelError

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
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KernelError(f"cannot read run.json: {exc}", file=path) from None
        if not isinstance(loaded, dict):
            raise KernelError("run.json does not hold a run record", file=path)
        if loaded.get("schema_version", 1) != RUN_SCHEMA_VERSION:
            raise KernelError(
                f"run.json has schema version {loaded.get('schema_version')!r}; this report writer reads "
                f"version {RUN_SCHEMA_VERSION}",
                file=path,
            )
        record = loaded
    optional = {}
    for key, name in (("context", CONTEXT), ("outputs", OUTPUTS)):
        optional[key] = _optional(run_dir / name, problems)
    return RunFiles(run_dir, dict(record), problems=tuple(problems), **optional)


def _optional(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} could not be read: {exc}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name} does not hold a JSON object")
        return None
    version = data.get("schema_version", 1)  # files from before versions were written are version 1
    if version != SCHEMA_VERSION:
        problems.append(f"{path.name} has schema version {version!r}, which this report writer does not read")
        return None
    return data


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
