"""The ``tracker`` plugin's hooks: it checks its settings before a run and listens to every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel import Listener, Plan, Run, StepSpec, Summarizer, hookimpl
from kernel_tracker.settings import PLUGIN, load_settings, problems


@hookimpl
def validate_plan(plan: Plan) -> list[str]:
    """Check ``plugins.settings.tracker`` of the pipeline file."""
    return problems(plan.pipeline.plugins.settings.get(PLUGIN))


@hookimpl
def connect_listeners(run: Run) -> list[Listener]:
    """A :class:`Tracker` for this run; it is also left in ``run.stash['tracker']``."""
    from kernel_tracker.tracker import Tracker  # only when a run starts (the client: only with a transport)

    tracker = Tracker(run, load_settings(run.pipeline.plugins.settings.get(PLUGIN)))
    run.stash[PLUGIN] = tracker
    return tracker.listeners()


@hookimpl
def summarize_step(run: Run, step: StepSpec) -> Summarizer | None:
    """The snapshots of the step's outputs, taken where the frames are."""
    # Called for every step: the run's one summarizer, made when the tracker was (no import here).
    summarizer: Summarizer | None = getattr(run.stash.get(PLUGIN), "summarizer", None)
    return summarizer


@hookimpl(optionalhook=True)
def report_sections(run_dir: Path) -> list[dict[str, Any]]:
    """The tracker's section of the run report: snapshots and schema changes, from its tracker.json."""
    from kernel_tracker.report import sections

    return sections(run_dir)
