"""What the validator records: one result per check run, quarantined rows by check, blocked steps.

They are kept in ``run.stash["validator"]`` as the run goes and written as ``validation.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from kernel import json_safe

SCHEMA_VERSION = 1  # of validation.json: raised when a reader must change


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check, run once on one output (``output`` is None for a reconciliation)."""

    id: str
    step: str
    output: str | None
    check: str
    severity: str
    mostly: float | None
    passed: bool
    rows_checked: int | None
    rows_failed: int | None  # None for checks that judge a whole output
    fraction_failed: float | None
    failing_values: tuple[Any, ...]
    action: str
    message: str
    observed: Mapping[str, Any] | None = None
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, whose deep copies cost on runs with many checks.
        data = {name: getattr(self, name) for name in _RESULT_FIELDS}
        data["failing_values"] = [json_safe(v) for v in self.failing_values]
        data["observed"] = json_safe(dict(self.observed)) if self.observed is not None else None
        return data


_RESULT_FIELDS = tuple(f.name for f in fields(CheckResult))


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    step: str
    output: str
    check_id: str
    reason: str
    rows: int
    path: str  # relative to the run directory


@dataclass(frozen=True, slots=True)
class Blocked:
    step: str
    check_id: str | None  # None when the step's checks could not be set up at all
    message: str


@dataclass(frozen=True, slots=True)
class NotRun:
    id: str
    step: str
    check: str
    reason: str


@dataclass(slots=True)
class Results:
    run_id: str
    checks: list[CheckResult] = field(default_factory=list)
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "checks": [r.to_json() for r in self.checks],
            "quarantine": [asdict(q) for q in self.quarantine],
            "blocked": [asdict(b) for b in self.blocked],
            "not_run": [asdict(n) for n in self.not_run],
        }
