"""The Data quality section: what the report writer counted in step outputs as the run went
(``report-outputs.json``): quarantine the steps wrote, rows by reason in other outputs, the steps' own
counts, and the outputs of stopped steps. The validator adds its checks and their quarantine in a section
of its own (``report_sections``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kernel_report.blocks import Block, Cell, Part, Table, Text
from kernel_report.figures import plain
from kernel_report.files import OUTPUTS, RunFiles, as_dict, as_float, as_int, as_list

NO_OUTPUTS = (
    f"{OUTPUTS} is absent, so the quarantine the steps wrote themselves, their counts and the outputs of "
    "stopped steps are not known."
)

Row = tuple[Cell, ...]


def data_quality(files: RunFiles) -> Part:
    blocks = [*_quarantine(files), *_other_reasons(files), *_counts(files), *_stopped(files)]
    return Part("Data quality", tuple(blocks))


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
    for step, _, outputs in _steps(files):
        for output, entry in outputs.items():
            entry = as_dict(entry)
            if entry.get("quarantine") is True:
                detail += [(step, output, reason, rows) for reason, rows in _reason_rows(entry)]
    checks = " Rows the validator's checks quarantined are in its section." if "validator" in files.plugins else ""
    if files.outputs is None:
        return [Text(NO_OUTPUTS + checks)]
    if not detail:
        return [Text("No step put rows in a quarantine output." + checks)]
    totals: dict[str | None, list[int | None]] = defaultdict(list)
    for row in detail:
        totals[None if row[2] is None else str(row[2])].append(as_int(row[3]))
    summary = tuple(
        (reason, None if None in counts else sum(c for c in counts if c is not None))
        for reason, counts in sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or ""))
    )
    header = ("step", "quarantine output", "reason", "rows")
    notes = [Text(checks.strip())] if checks else []
    return [
        Table(("reason", "rows quarantined"), summary, "Rows the steps put in quarantine outputs, by reason."),
        Table(header, tuple(detail), "Each quarantine output of a step, by reason."),
        *notes,
    ]


def _other_reasons(files: RunFiles) -> list[Block]:
    rows: list[Row] = []
    counted = {(step, output): as_dict(entry).get("by_reason") for step, _, outputs in _steps(files)
               for output, entry in outputs.items()}
    for step, _, outputs in _steps(files):
        needs = as_dict(as_dict(as_dict(files.record.get("steps")).get(step)).get("needs"))
        for output, entry in outputs.items():
            entry = as_dict(entry)
            found = entry.get("by_reason")
            if entry.get("quarantine") is True or not isinstance(found, dict):
                continue
            # An output with the very rows by reason of the input it was made from passes them along.
            source = str(needs.get(output) or "")
            producer, _, produced = source.partition(".")
            same = bool(produced) and counted.get((producer, produced)) == found
            shown = f"{output} (as {source})" if same else output
            rows += [(step, shown, reason, n) for reason, n in _reason_rows(entry)]
    if not rows:
        return []
    caption = ("Rows by reason in the other outputs that have a reason column (late records, for example); "
               "an output marked (as step.output) passes along the same rows as that input of its step.")
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
    held: list[Row] = [
        (step, output, as_int(as_dict(entry).get("rows")))
        for step, status, outputs in _steps(files)
        if status == "blocked"
        for output, entry in outputs.items()
    ]
    if not held:
        return []
    caption = "The outputs of the steps a gate stopped: rows each held, not passed on to any step."
    return [Table(("step", "output", "rows held back"), tuple(held), caption)]
