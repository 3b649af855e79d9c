"""The sections about the data: quality (the validator's files) and lineage (the run record's
datasets and the tracker's schema changes)."""

from __future__ import annotations

from collections import defaultdict

from kernel_report.blocks import Block, Cell, Part, Table, Text
from kernel_report.figures import plain
from kernel_report.files import RunFiles, as_dict, as_float, as_int, as_list


def _result(check: dict[str, object]) -> str | None:
    passed = check.get("passed")
    return None if not isinstance(passed, bool) else ("passed" if passed else "failed")


def data_quality(files: RunFiles) -> Part:
    validation = files.validation
    if validation is None:
        return Part("Data quality", (Text(files.absent("validator", "validation.json") + " No checks are reported."),))
    blocks: list[Block] = []
    checks = [as_dict(c) for c in as_list(validation.get("checks"))]
    if checks:
        header = (
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
        rows: list[tuple[Cell, ...]] = []
        for c in checks:
            fraction = as_float(c.get("fraction_failed"))
            values = as_list(c.get("failing_values"))
            rows.append(
                (
                    plain(c.get("id")),
                    plain(c.get("step")),
                    plain(c.get("output")),
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
        blocks.append(Table(header, tuple(rows), f"{len(checks)} checks run, {failed} failed."))
    else:
        blocks.append(Text("The validator took part and ran no checks (the pipeline declares none)."))
    quarantine = [as_dict(q) for q in as_list(validation.get("quarantine"))]
    if quarantine:
        by_reason: dict[str, list[int | None]] = defaultdict(list)
        for q in quarantine:
            by_reason[plain(q.get("reason"))].append(as_int(q.get("rows")))
        summary = tuple(
            (reason, None if None in counts else sum(c for c in counts if c is not None))
            for reason, counts in sorted(by_reason.items())
        )
        blocks.append(Table(("reason", "rows quarantined"), summary, "Quarantined rows by reason."))
        detail = tuple(
            (
                plain(q.get("step")),
                plain(q.get("output")),
                plain(q.get("check_id")),
                plain(q.get("reason")),
                as_int(q.get("rows")),
                plain(q.get("path")) if q.get("path") else None,
            )
            for q in quarantine
        )
        blocks.append(Table(("step", "output", "check id", "reason", "rows", "file"), detail))
    else:
        blocks.append(Text("No rows were quarantined."))
    blocked = [as_dict(b) for b in as_list(validation.get("blocked"))]
    if blocked:
        rows_b = tuple((plain(b.get("step")), plain(b.get("check_id")), plain(b.get("message"))) for b in blocked)
        blocks.append(Table(("step", "check id", "message"), rows_b, "Steps the validator stopped."))
    return Part("Data quality", tuple(blocks))


def lineage(files: RunFiles) -> Part:
    blocks: list[Block] = []
    datasets = []
    for name, step in as_dict(files.record.get("steps")).items():
        for d in as_list(as_dict(step).get("datasets")):
            d = as_dict(d)
            columns = d.get("columns")
            datasets.append(
                (
                    str(name),
                    plain(d.get("mode")),
                    plain(d.get("path")),
                    plain(d.get("format")),
                    as_int(d.get("rows")),
                    len(columns) if isinstance(columns, dict | list) else None,
                    plain(d.get("content_hash")) if d.get("content_hash") else None,
                )
            )
    if datasets:
        header = ("step", "mode", "path", "format", "rows", "columns", "content hash")
        blocks.append(Table(header, tuple(datasets), "Datasets the steps reported reading and writing (run.json)."))
    else:
        blocks.append(Text("No step reported reading or writing a dataset."))
    if files.tracker is None:
        blocks.append(Text(files.absent("tracker", "tracker.json") + " Schema changes are not known."))
    else:
        blocks.append(_schema_changes(files.tracker))
    present = [name for name in ("lineage.json", "openlineage.jsonl") if (files.run_dir / name).is_file()]
    if present:
        blocks.append(Text(f"Full lineage in the run directory: {', '.join(present)}."))
    return Part("Lineage", tuple(blocks))


def _schema_changes(tracker: dict[str, object]) -> Block:
    rows = []
    for step, info in as_dict(tracker.get("steps")).items():
        for output, diff in as_dict(as_dict(info).get("schema_diff")).items():
            diff = as_dict(diff)
            added = as_dict(diff.get("added"))
            removed = as_dict(diff.get("removed"))
            retyped = as_dict(diff.get("retyped"))
            if not (added or removed or retyped):
                continue
            rows.append(
                (
                    str(step),
                    str(output),
                    plain(diff["against"]) if diff.get("against") else None,
                    ", ".join(f"{k}: {plain(v)}" for k, v in added.items()) or None,
                    ", ".join(f"{k}: {plain(v)}" for k, v in removed.items()) or None,
                    ", ".join(f"{k}: {' → '.join(plain(t) for t in as_list(v))}" for k, v in retyped.items()) or None,
                )
            )
    if not rows:
        return Text("The tracker recorded no schema change.")
    header = ("step", "output", "compared with input", "added", "removed", "retyped")
    return Table(header, tuple(rows), "Schema changes per step (tracker.json).")
