"""``report-context.json``: what the report needs from the pipeline file and the plan, written at
the start of a run, so that the report (and ``kernel report``) never needs the pipeline file."""

from __future__ import annotations

from typing import Any

from kernel import Run
from kernel.graph import to_mermaid
from kernel_report.settings import ReportSettings


def report_context(run: Run, settings: ReportSettings) -> dict[str, Any]:
    pipeline, plan = run.pipeline, run.plan
    steps = [
        {
            "name": name,
            "uses": planned.spec.uses,
            "description": planned.spec.description,
            "needs": {key: f"{producer}.{output}" for key, (producer, output) in planned.inputs.items()},
        }
        for name, planned in plan.steps.items()
    ]
    return {
        "run_id": run.run_id,
        "pipeline": pipeline.name,
        "description": pipeline.description,
        "domain": pipeline.domain,
        "archetype": pipeline.archetype,
        "kpis": [{"name": k.name, "description": k.description} for k in pipeline.kpis],
        "step_count": len(plan.steps),
        "steps": steps,
        "topology": plan.topology,
        "mermaid": to_mermaid(plan),
        "settings": settings.model_dump(mode="json"),
    }
