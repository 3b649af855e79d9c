"""The report writer's hooks: its own hook spec, settings check, listeners and command."""

from __future__ import annotations

from collections.abc import Iterable

import click
import pluggy

from kernel import Listener, Plan, Run, hookimpl, signals
from kernel_report import hookspecs
from kernel_report.build import write_report
from kernel_report.cli import report_command
from kernel_report.listener import RunReport
from kernel_report.settings import NAME, parse_settings, settings_problem


@hookimpl
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare ``report_sections``, for plugins that add sections to the report."""
    if not hasattr(plugin_manager.hook, "report_sections"):
        plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def validate_plan(plan: Plan) -> list[str] | None:
    """Check ``plugins.settings.report`` before anything runs."""
    problem = settings_problem(plan.pipeline.plugins.settings.get(NAME, {}))
    return [problem] if problem else None


@hookimpl
def connect_listeners(run: Run) -> Iterable[Listener]:
    """Write report-context.json at the start of the run."""
    writer = RunReport(run, parse_settings(run.pipeline.plugins.settings.get(NAME, {})))
    return [Listener(signals.pipeline_start, writer.on_start)]


@hookimpl
def after_run(run: Run) -> None:
    """Build the report from the run directory once the run and every end-of-run receiver are done."""
    for path in write_report(run.run_dir, plugin_manager=run.plugin_manager):
        if path.suffix in (".md", ".html"):
            run.record.artifacts[f"report ({path.suffix[1:]})"] = str(path)


@hookimpl
def register_commands() -> list[click.Command]:
    """``kernel report RUN_DIR...`` and ``kernel report --summary DIR...``."""
    return [report_command]
