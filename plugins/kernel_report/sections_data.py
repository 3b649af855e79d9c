"""The Lineage section: the datasets the steps reported reading and writing, from the run record (the
tracker adds its schema changes in a section of its own; Data quality is in :mod:`kernel_report.quality`)."""

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
    return Part("Lineage", tuple(blocks))
