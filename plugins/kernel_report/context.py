"""``report-context.json``: what the report needs from the pipeline file and the plan, written at
the start of a run, so that the report (and ``kernel report``) never needs the pipeline file."""

from __future__ import annotations

import re
from typing import Any

from kernel import Plan, Run
from kernel_report.files import SCHEMA_VERSION
from kernel_report.settings import ReportSettings

# In a Mermaid label, anything but these is written as an entity code (#36; for $), so no name can
# close a label, start an edge, a comment or a directive, or reach the renderer's Markdown and math.
_MERMAID_PLAIN = re.compile(r"[^A-Za-z0-9 ._/-]")


def _mermaid_text(text: str) -> str:
    return _MERMAID_PLAIN.sub(lambda m: f"#{ord(m.group())};", text)


def mermaid(plan: Plan) -> str:
    """The step graph as a Mermaid flowchart, as ``kernel graph`` draws it, with every name made inert."""
    ids = {name: "s_" + "".join(c if c.isalnum() else "_" for c in name) for name in plan.steps}
    if len(set(ids.values())) < len(ids):  # 'a-b' and 'a_b' would be one node: number them instead
        ids = {name: f"s{n}" for n, name in enumerate(plan.steps, start=1)}
    lines = ["flowchart LR"]
    for name, planned in plan.steps.items():
        lines.append(f'    {ids[name]}["{_mermaid_text(name)}<br/>{_mermaid_text(planned.spec.uses)}"]')
    for name, planned in plan.steps.items():
        for producer, output in planned.inputs.values():
            lines.append(f"    {ids[producer]} -->|{_mermaid_text(output)}| {ids[name]}")
    return "\n".join(lines) + "\n"


def report_context(run: Run, settings: ReportSettings) -> dict[str, Any]:
    pipeline, plan = run.pipeline, run.plan
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "pipeline": pipeline.name,
        "description": pipeline.description,
        **{name: plan.fields.get(name) for name in ("domain", "archetype", "shape")},
        "kpis": list(plan.fields.get("kpis") or ()),
        "topology": plan.topology,
        "mermaid": mermaid(plan),
        "settings": settings.model_dump(mode="json"),
    }
