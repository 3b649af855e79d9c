"""The report writer's hooks: its own hook spec, settings check, listeners and command."""

from __future__ import annotations

from collections.abc import Iterable

import click
import pluggy

from kernel import Listener, PipelineField, Plan, Run, StepSpec, Summarizer, hookimpl, signals
from kernel_report import hookspecs
from kernel_report.cli import report_command
from kernel_report.outputs import STASH_KEY, OutputCounter, declaration_problems
from kernel_report.settings import FIELDS, NAME, parse_settings, settings_problem


@hookimpl
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare ``report_sections``, for plugins that add sections to the report."""
    if not hasattr(plugin_manager.hook, "report_sections"):
        plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def register_fields() -> list[PipelineField]:
    """``domain``, ``archetype`` and ``kpis``: what the pipeline is about, shown at the top of the report."""
    return FIELDS


@hookimpl
def validate_plan(plan: Plan) -> list[str] | None:
    """Check ``plugins.settings.report`` before anything runs."""
    raw = plan.pipeline.plugins.settings.get(NAME, {})
    problem = settings_problem(raw)
    if problem:
        return [problem]
    return declaration_problems(plan, parse_settings(raw).quarantine_outputs) or None


@hookimpl
def connect_listeners(run: Run) -> Iterable[Listener]:
    """Write report-context.json at the start of the run, and count what step outputs hold as they pass."""
    from kernel_report.listener import RunReport

    settings = parse_settings(run.pipeline.plugins.settings.get(NAME, {}))
    writer = RunReport(run, settings)
    counter = OutputCounter(run, settings.quarantine_outputs)
    run.stash[STASH_KEY] = counter
    return [
        Listener(signals.pipeline_start, writer.on_start),
        Listener(signals.step_complete, counter.on_step_complete),
        Listener(signals.step_error, counter.on_step_error),
        Listener(signals.pipeline_complete, counter.on_finish),
        Listener(signals.pipeline_error, counter.on_finish),
    ]


@hookimpl
def summarize_step(run: Run, step: StepSpec) -> Summarizer | None:
    """Count what the step's outputs hold (rows, quarantine by reason, counts) next to the step."""
    counter = run.stash.get(STASH_KEY)
    return counter.summarizer(step.name) if isinstance(counter, OutputCounter) else None


@hookimpl
def after_run(run: Run) -> None:
    """Build the report from the run directory once the run and every end-of-run receiver are done."""
    from kernel_report.build import write_report  # only once there is a report to write

    for path in write_report(run.run_dir, plugin_manager=run.plugin_manager):
        if path.suffix in (".md", ".html"):
            run.add_artifact(f"report ({path.suffix[1:]})", path)


@hookimpl
def register_commands() -> list[click.Command]:
    """``kernel report RUN_DIR...`` and ``kernel report --summary DIR...``."""
    return [report_command]
