"""lineage.json: the datasets a run read and wrote, which steps did so, the step graph and the business context."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kernel import DatasetIO, Run, json_safe

if TYPE_CHECKING:
    from kernel_tracker.tracker import StepTrack


LINEAGE_SCHEMA_VERSION = 1  # of lineage.json: raised when a reader must change


def lineage_document(run: Run, steps: Mapping[str, StepTrack],
                     reported: Mapping[str, tuple[DatasetIO, ...]]) -> dict[str, Any]:
    plan, pipeline = run.plan, run.pipeline
    position = {name: i for i, name in enumerate(plan.steps)}
    edges = sorted(plan.graph.edges, key=lambda edge: (position[edge[0]], position[edge[1]]))
    return {
        "schema_version": LINEAGE_SCHEMA_VERSION,
        "run_id": run.run_id,
        "pipeline": pipeline.name,
        "description": pipeline.description,
        # The business context, from the fields other plugins add to the pipeline file (the report's).
        **{name: json_safe(plan.fields.get(name)) for name in ("domain", "archetype", "kpis")},
        "topology": plan.topology,
        "datasets": datasets(plan.steps, reported),
        "steps": [
            {
                "name": name,
                "uses": planned.spec.uses,
                "status": steps[name].status,
                "inputs": [{"name": key, "step": step, "output": output}
                           for key, (step, output) in planned.inputs.items()],
                "outputs": list(planned.type.outputs),
                "schema_diff": steps[name].schema_diff,
            }
            for name, planned in plan.steps.items()
        ],
        "edges": [list(edge) for edge in edges],
    }


def datasets(order: Iterable[str], reported: Mapping[str, tuple[DatasetIO, ...]]) -> list[dict[str, Any]]:
    """One entry per file (by absolute path and content hash), in plan order of the steps that reported it.

    A field the reports leave out stays null; the first report that gives it wins.
    """
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for name in order:
        for d in reported.get(name, ()):
            key = (os.path.abspath(d.path), d.content_hash)
            entry = found.setdefault(key, {
                "path": d.path, "format": d.format, "columns": None, "rows": None,
                "content_hash": d.content_hash, "read_by": [], "written_by": [],
            })
            if entry["columns"] is None and d.columns is not None:
                entry["columns"] = dict(d.columns)
            if entry["rows"] is None and d.rows is not None:
                entry["rows"] = d.rows
            who = entry["read_by" if d.mode == "read" else "written_by"]
            if name not in who:
                who.append(name)
    return list(found.values())
