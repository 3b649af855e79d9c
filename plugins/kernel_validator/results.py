"""What the validator records: one result per check run, quarantined rows by check, blocked steps.

They are kept in ``run.stash["validator"]`` as the run goes and written as ``validation.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

MAX_TEXT = 200  # characters of a failing value kept in validation.json


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
            "run_id": self.run_id,
            "checks": [r.to_json() for r in self.checks],
            "quarantine": [asdict(q) for q in self.quarantine],
            "blocked": [asdict(b) for b in self.blocked],
            "not_run": [asdict(n) for n in self.not_run],
        }


def json_safe(value: Any) -> Any:
    """A value as JSON can hold it: timestamps as ISO text, missing values as null, long text cut."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Sequence | np.ndarray | set | frozenset) and not isinstance(value, bytes | bytearray):
        return [json_safe(v) for v in value]
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, datetime | date | time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, timedelta | pd.Timedelta):
        return str(pd.Timedelta(value))
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, bytes | bytearray):
        return json_safe(bytes(value).decode("utf-8", "replace"))
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return json_safe(str(value))
