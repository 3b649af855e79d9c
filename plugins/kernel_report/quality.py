"""The Data quality section: the validator's checks and quarantine (``validation.json``), and what the
report writer counted in step outputs as the run went (``report-outputs.json``): quarantine a step wrote
itself, rows by reason in other outputs, the steps' own counts, and the outputs of stopped steps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kernel_report.blocks import Block, Cell, Part, Table, Text
from kernel_report.figures import plain
from kernel_report.files import OUTPUTS, RunFiles, as_dict, as_float, as_int, as_list

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
BY_STEP = "the step"  # "quarantined by", for rows a step put in a quarantine output itself
NO_OUTPUTS = (
    f"{OUTPUTS} is absent, so the quarantine the steps wrote themselves, their counts and the outputs of "
    "stopped steps are not known."
)

Row = tuple[Cell, ...]


def data_quality(files: RunFiles) -> Part:
    blocks = [*_checks(files), *_quarantine(files), *_other_reasons(files), *_counts(files), *_stopped(files)]
    return Part("Data quality", tuple(blocks))


def _result(check: dict[str, Any]) -> str | None:
    passed = check.get("passed")
    return None if not isinstance(passed, bool) else ("passed" if passed else "failed")


def _checks(files: RunFiles) -> list[Block]:
    validation = files.validation
    if validation is None:
        return [Text(files.absent("validator", "validation.json") + " No checks are reported.")]
    checks = [as_dict(c) for c in as_list(validation.get("checks"))]
    if not checks:
        return [Text("The validator took part and ran no checks (the pipeline declares none).")]
    rows: list[Row] = []
    for c in checks:
        fraction = as_float(c.get("fraction_failed"))
        values = as_list(c.get("failing_values"))
        rows.append(
            (
                plain(c.get("id")),
                plain(c.get("step")),
                plain(c["output"]) if c.get("output") is not None else None,  # a reconciliation has none
                plain(c.get("check")),
                plain(c.get("severity")),
                _result(c),
                as_int(c.get("rows_checked")),
                as_int(c.get("rows_failed")),
                None if fraction is None else round(fraction, 6),
                plain(c.get("action")) if c.get("action") else None,
                ", ".join(plain(v) for v in values) or None,
                plain(c.get("message")) if c.get("message") else None,
            )
        )
    failed = sum(1 for c in checks if c.get("passed") is False)
    return [Table(CHECK_HEADER, tuple(rows), f"{len(checks)} checks run, {failed} failed.")]


def _steps(files: RunFiles) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(step, status, outputs) from report-outputs.json, in the run record's step order."""
    recorded = as_dict((files.outputs or {}).get("steps"))
    order = [str(s) for s in as_dict(files.record.get("steps")) if str(s) in recorded]
    for name in [*order, *sorted(set(recorded) - set(order))]:
        step = as_dict(recorded[name])
        yield name, plain(step.get("status")), as_dict(step.get("outputs"))


def _reason_rows(entry: dict[str, Any]) -> list[tuple[str | None, int | None]]:
    """(reason, rows) of one counted output; the whole output under no reason when it has no reason column."""
    found = entry.get("by_reason")
    if not isinstance(found, dict):
        return [(None, as_int(entry.get("rows")))]
    rows: list[tuple[str | None, int | None]] = []
    for item in as_list(found.get("reasons")):
        item = as_dict(item)
        reason = item.get("reason")
        rows.append((None if reason is None else plain(reason), as_int(item.get("rows"))))
    other = as_dict(found.get("other"))
    if other:
        rows.append((f"({as_int(other.get('reasons'))} other reasons)", as_int(other.get("rows"))))
    return rows


def _quarantine(files: RunFiles) -> list[Block]:
    detail: list[Row] = []
    for q in (as_dict(q) for q in as_list((files.validation or {}).get("quarantine"))):
        detail.append(
            (
                plain(q.get("step")),
                plain(q.get("output")),
                f"check {plain(q.get('check_id'))}",
                plain(q.get("reason")),
                as_int(q.get("rows")),
                plain(q.get("path")) if q.get("path") else None,
            )
        )
    for step, _, outputs in _steps(files):
        for output, entry in outputs.items():
            entry = as_dict(entry)
            if entry.get("quarantine") is True:
                detail += [(step, output, BY_STEP, reason, rows, None) for reason, rows in _reason_rows(entry)]
    notes: list[Block] = [] if files.outputs is not None else [Text(NO_OUTPUTS)]
    if not detail:
        validator_known = files.validation is not None or "validator" not in files.plugins
        if files.outputs is not None and validator_known:
            return [Text("No rows were quarantined.")]
        if files.validation is not None:
            return [Text("The validator quarantined no rows."), *notes]
        if files.outputs is not None:
            return [Text("No step put rows in a quarantine output; the validator's quarantine is not known.")]
        return notes
    totals: dict[str | None, list[int | None]] = defaultdict(list)
    for row in detail:
        totals[None if row[3] is None else str(row[3])].append(as_int(row[4]))
    summary = tuple(
        (reason, None if None in counts else sum(c for c in counts if c is not None))
        for reason, counts in sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or ""))
    )
    header = ("step", "output", "quarantined by", "reason", "rows", "file")
    return [
        Table(("reason", "rows quarantined"), summary, "Quarantined rows by reason."),
        Table(header, tuple(detail), "Each quarantine: by a check of the validator, or by the step itself."),
        *notes,
    ]


def _other_reasons(files: RunFiles) -> list[Block]:
    rows: list[Row] = []
    for step, _, outputs in _steps(files):
        for output, entry in outputs.items():
            entry = as_dict(entry)
            if entry.get("quarantine") is not True and isinstance(entry.get("by_reason"), dict):
                rows += [(step, output, reason, n) for reason, n in _reason_rows(entry)]
    if not rows:
        return []
    caption = "Rows by reason in the other outputs that have a reason column (late records, for example)."
    return [Table(("step", "output", "reason", "rows"), tuple(rows), caption)]


def _counts(files: RunFiles) -> list[Block]:
    rows: list[Row] = []
    for step, status, outputs in _steps(files):
        for output, entry in outputs.items():
            for figure, value in as_dict(as_dict(entry).get("counts")).items():
                number = as_int(value) if as_int(value) is not None else as_float(value)
                rows.append((step, status, output, str(figure), number))
    if not rows:
        return []
    caption = "Counts the steps reported (one-row outputs named counts or *_counts)."
    return [Table(("step", "status", "output", "figure", "value"), tuple(rows), caption)]


def _stopped(files: RunFiles) -> list[Block]:
    blocks: list[Block] = []
    blocked = [as_dict(b) for b in as_list((files.validation or {}).get("blocked"))]
    if blocked:
        rows_b = tuple((plain(b.get("step")), plain(b.get("check_id")), plain(b.get("message"))) for b in blocked)
        blocks.append(Table(("step", "check id", "message"), rows_b, "Steps the validator stopped."))
    held: list[Row] = [
        (step, output, as_int(as_dict(entry).get("rows")))
        for step, status, outputs in _steps(files)
        if status == "blocked"
        for output, entry in outputs.items()
    ]
    if held:
        caption = "The outputs of the steps a gate stopped: rows each held, not passed on to any step."
        blocks.append(Table(("step", "output", "rows held back"), tuple(held), caption))
    return blocks
