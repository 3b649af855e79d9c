"""The tracker's section of the run report (``report_sections``), read from its own ``tracker.json``:
how many snapshots it took, the schema changes per step, and where the full lineage is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel import KernelError, read_document
from kernel_tracker.ol_emitter import FILE_NAME as OPENLINEAGE_FILE
from kernel_tracker.tracker import LINEAGE_FILE, READ_VERSIONS, TRACKER_FILE

TITLE = "Schema changes"


def sections(run_dir: Path) -> list[dict[str, Any]]:
    """The tracker's section of the report of the run in ``run_dir``."""
    try:
        document = read_document(Path(run_dir) / TRACKER_FILE, READ_VERSIONS)
    except KernelError as exc:  # the tracker took part: say why its figures are missing
        return [{"title": TITLE, "text": str(exc)}]
    facts = [("snapshots", document.get("snapshot_count")), ("tracking time (s)", _seconds(document.get("tracking_s")))]
    tables: list[dict[str, Any]] = [{"header": ("figure", "value"), "rows": facts}]
    text: list[str] = []
    rows = list(_changes(document.get("steps")))
    if rows:
        header = ("step", "output", "compared with input", "added", "removed", "retyped")
        tables.append({"header": header, "rows": rows, "caption": f"Schema changes per step ({TRACKER_FILE})."})
    else:
        text.append("No step changed the schema of what it read.")
    present = [name for name in (LINEAGE_FILE, OPENLINEAGE_FILE) if (Path(run_dir) / name).is_file()]
    if present:
        text.append(f"Full lineage in the run directory: {', '.join(present)}.")
    return [{"title": TITLE, "text": text, "tables": tables, "details": True}]


def _changes(steps: Any) -> Any:
    for step, info in (steps if isinstance(steps, dict) else {}).items():
        diffs = info.get("schema_diff") if isinstance(info, dict) else None
        for output, diff in (diffs if isinstance(diffs, dict) else {}).items():
            added, removed, retyped = (diff.get(k) or {} for k in ("added", "removed", "retyped"))
            if not (added or removed or retyped):
                continue
            yield (
                step,
                output,
                diff.get("against"),
                ", ".join(f"{k}: {v}" for k, v in added.items()) or None,
                ", ".join(f"{k}: {v}" for k, v in removed.items()) or None,
                ", ".join(f"{k}: {' → '.join(map(str, v))}" for k, v in retyped.items()) or None,
            )


def _seconds(value: Any) -> float | None:
    return round(value, 3) if isinstance(value, int | float) and not isinstance(value, bool) else None
