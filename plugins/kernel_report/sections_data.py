"""The Lineage section: the run record's datasets and the tracker's schema changes (Data quality is
in :mod:`kernel_report.quality`)."""

from __future__ import annotations

from kernel_report.blocks import Block, Part, Table, Text
from kernel_report.figures import plain
from kernel_report.files import RunFiles, as_dict, as_int, as_list


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
