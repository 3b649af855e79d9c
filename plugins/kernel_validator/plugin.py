"""The ``validator`` plugin's hooks: it checks step outputs as the pipeline file's ``checks:`` declare.

``validate_plan`` refuses checks that cannot run before anything runs; ``connect_listeners`` sets up
the run's state and the listeners that keep figures and write ``validation.json``; ``judge_step`` runs a
step's checks next to it (the rows that pass go on, the step is blocked on an error) and
``summarize_step`` captures there what later checks read; ``after_step_run`` keeps what they found and
writes the quarantined rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel import (
    Judge,
    Listener,
    PipelineField,
    Plan,
    Run,
    StepSpec,
    StepVerdict,
    Summarizer,
    hookimpl,
    signals,
    validation_problem,
)
from kernel_validator import hookspecs
from kernel_validator.builtin import PANDERA_CHECKS, load_pandera
from kernel_validator.checktype import CHECKS
from kernel_validator.declare import Declarations, declare
from kernel_validator.registry import BUILTIN_PLUGIN, collect_kinds

if TYPE_CHECKING:
    import pandas as pd

    from kernel_validator.state import RunState

STASH_KEY = "validator"  # where a run keeps its RunState (run.stash)


class ValidatorSettings(BaseModel):
    """``plugins: {settings: {validator: {...}}}`` in the pipeline file."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    failing_values: int = Field(5, ge=0, le=100, description="failing values kept per check; 0 for sensitive data")


def _settings(plan: Plan) -> ValidatorSettings:
    return ValidatorSettings.model_validate(plan.pipeline.plugins.settings.get(BUILTIN_PLUGIN, {}))


def _declarations(plan: Plan, pm: pluggy.PluginManager | None) -> Declarations:
    return declare(plan, collect_kinds(pm))


@hookimpl
def register_fields() -> list[PipelineField]:
    """Each step's ``checks:``, a list of check declarations (their kinds are checked by ``validate_plan``)."""
    return [
        PipelineField(CHECKS, on="step", type=tuple[dict[str, Any], ...], default=(), description="the step's checks")
    ]


@hookimpl
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Offer ``register_checks`` to other plugins (a plugin registered earlier may already implement it)."""
    hook = getattr(plugin_manager.hook, "register_checks", None)
    if hook is None or not hook.has_spec():
        plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def validate_plan(plan: Plan, plugin_manager: pluggy.PluginManager) -> list[str]:
    """Every problem with the validator's settings and the steps' checks, one line each."""
    try:
        _settings(plan)
    except ValidationError as exc:
        where, message = validation_problem(exc)
        return [f"field '{'.'.join(filter(None, ['plugins.settings', BUILTIN_PLUGIN, where]))}': {message}"]
    declarations = _declarations(plan, plugin_manager)
    return [str(problem) for problem in declarations.problems]


@hookimpl
def connect_listeners(run: Run) -> list[Listener]:
    """Set up the run's state (``run.stash["validator"]``) and the listeners that capture figures and write files."""
    from kernel_validator.state import RunState

    declarations = _declarations(run.plan, run.plugin_manager)
    if any(d.kind.name in PANDERA_CHECKS and d.kind.plugin == BUILTIN_PLUGIN for d in declarations.all()):
        load_pandera()
    state = RunState(run, declarations, samples=_settings(run.plan).failing_values)
    run.stash[STASH_KEY] = state
    return [
        Listener(signals.step_complete, state.on_step_complete),
        Listener(signals.pipeline_complete, state.on_finish),
        Listener(signals.pipeline_error, state.on_finish),
    ]


def _state(run: Run) -> RunState:
    from kernel_validator.state import RunState

    state: Any = run.stash.get(STASH_KEY)
    if not isinstance(state, RunState):
        # The kernel connects listeners before any step runs; without them nothing would be checked.
        raise RuntimeError("the validator was not set up for this run (connect_listeners was not called)")
    return state


@hookimpl
def judge_step(run: Run, step: StepSpec) -> Judge | None:
    """The step's checks, to run next to it: the rows that pass replace its outputs there."""
    if not run.plan.steps[step.name].fields.get(CHECKS):
        return None
    return _state(run).judge(step.name)


@hookimpl
def summarize_step(run: Run, step: StepSpec) -> Summarizer | None:
    """What later checks read from the step's outputs (unique keys, totals), captured next to it."""
    state: Any = run.stash.get(STASH_KEY)
    if state is None:
        return None
    return _state(run).summarizer(step.name)


@hookimpl
def after_step_run(run: Run, step: StepSpec, outputs: Mapping[str, pd.DataFrame], findings: Any) -> StepVerdict | None:
    """Keep what the step's checks found: results, quarantined rows; block a step whose checks cannot run."""
    if not run.plan.steps[step.name].fields.get(CHECKS):
        return None
    return _state(run).judged(step.name, findings)


@hookimpl(optionalhook=True)
def report_sections(run_dir: Path) -> list[dict[str, Any]]:
    """The validator's section of the run report: checks, quarantine and stopped steps, from validation.json."""
    from kernel_validator.report import sections

    return sections(run_dir)


@hookimpl
def summary_facts(run_dir: Path, record: Mapping[str, Any]) -> dict[str, int] | None:
    """The checks that passed, failed (stopping what depends on them) and found rows they quarantined, and the
    rows quarantined, from the run's ``validation.json``."""
    import json

    path = run_dir / "validation.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    checks = data.get("checks") or []
    return {
        "checks passed": sum(1 for c in checks if c.get("passed") is True),
        "checks failed": sum(1 for c in checks if c.get("passed") is False and c.get("action") != "quarantine"),
        "checks quarantining": sum(1 for c in checks if c.get("passed") is False and c.get("action") == "quarantine"),
        "rows quarantined": sum(int(q.get("rows") or 0) for q in data.get("quarantine") or []),
    }
