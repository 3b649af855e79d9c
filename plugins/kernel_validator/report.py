"""The validator's section of the run report (``report_sections``), read from its own ``validation.json``:
the checks and their results, the rows they quarantined, the steps the gate stopped, the checks not run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernel import KernelError, read_document
from kernel_validator.results import SCHEMA_VERSION
from kernel_validator.state import VALIDATION_FILE

TITLE = "Checks"
CHECK_HEADER = (
    "check id",
    "step",
    "output",
    "check",
    "severity",
    "result",
    "rows checked",
    "rows failed",
    "fraction failed",
    "action",
    "failing values",
    "message",
)


def sections(run_dir: Path) -> list[dict[str, Any]]:
    """The validator's section of the report of the run in ``run_dir``."""
    try:
        document = read_document(Path(run_dir) / VALIDATION_FILE, SCHEMA_VERSION)
    except KernelError as exc:  # the validator took part: say why its figures are missing
        return [{"title": TITLE, "text": str(exc)}]
    checks = [c for c in document.get("checks", []) if isinstance(c, dict)]
    failed = sum(1 for c in checks if c.get("passed") is False)
    tables: list[dict[str, Any]] = [
        {"header": ("figure", "value"), "rows": [("checks run", len(checks)), ("checks failed", failed)]}
    ]
    text: list[str] = []
    if checks:
        caption = f"{len(checks)} checks run, {failed} failed."
        tables.append({"header": CHECK_HEADER, "rows": [_check_row(c) for c in checks], "caption": caption})
    else:
        text.append("No check ran (the pipeline declares none).")
    quarantine = [q for q in document.get("quarantine", []) if isinstance(q, dict)]
    if quarantine:
        keys = ("step", "output", "check_id", "reason", "rows", "path")
        header = ("step", "output", "check id", "reason", "rows quarantined", "file")
        rows = [tuple(q.get(k) for k in keys) for q in quarantine]
        tables.append({"header": header, "rows": rows, "caption": "Rows the checks quarantined (kept with a reason)."})
    elif checks:
        text.append("The checks quarantined no rows.")
    blocked = [b for b in document.get("blocked", []) if isinstance(b, dict)]
    if blocked:
        rows = [tuple(b.get(k) for k in ("step", "check_id", "message")) for b in blocked]
        caption = "Steps the validator stopped."
        tables.append({"header": ("step", "check id", "message"), "rows": rows, "caption": caption})
    not_run = [n for n in document.get("not_run", []) if isinstance(n, dict)]
    if not_run:
        rows = [tuple(n.get(k) for k in ("id", "step", "check", "reason")) for n in not_run]
        caption = "Checks that did not run: their step did not succeed."
        tables.append({"header": ("check id", "step", "check", "why not run"), "rows": rows, "caption": caption})
    return [{"title": TITLE, "text": text, "tables": tables}]


def _check_row(c: Mapping[str, Any]) -> tuple[Any, ...]:
    passed = c.get("passed")
    fraction = c.get("fraction_failed")
    values = c.get("failing_values") or []
    return (
        c.get("id"),
        c.get("step"),
        c.get("output"),  # a reconciliation has none
        c.get("check"),
        c.get("severity"),
        None if not isinstance(passed, bool) else ("passed" if passed else "failed"),
        c.get("rows_checked"),
        c.get("rows_failed"),
        round(fraction, 6) if isinstance(fraction, int | float) and not isinstance(fraction, bool) else None,
        c.get("action") or None,
        ", ".join(v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values) or None,
        c.get("message") or None,
    )
