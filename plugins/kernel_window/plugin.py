"""The ``window`` plugin's hooks: the step type ``window.tumbling``, and its state store's part in a run
(recovered before the run, a new state made current only when the whole run succeeds)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from kernel import Inputs, Outputs, Run, Staged, StepContext, StepSettingsError, hookimpl, step, validation_problem
from kernel_window.settings import TumblingSettings, WindowConfig
from kernel_window.store import StateStore
from kernel_window.tumbling import process

STATE = "window.state"


@step("window.tumbling", inputs=("records",), outputs=("windows", "late", "quarantine", "counts"),
      settings=TumblingSettings, claims=("state_dir",))
def tumbling(inputs: Inputs, *, ctx: StepContext | None = None, **settings: Any) -> Outputs:
    """Event-time tumbling windows with a watermark, late-data and quarantine outputs (docs/windowing.md)."""
    try:
        # The kernel has validated the settings already; a direct call has not, and re-checking is cheap.
        parsed = TumblingSettings.model_validate(settings)
    except ValidationError as exc:
        field, message = validation_problem(exc, noun="setting")
        raise StepSettingsError(message, field=f"settings.{field}" if field else "settings") from None
    config = WindowConfig.from_settings(parsed)
    records = inputs["records"]
    store = None
    if parsed.state_dir is not None:
        store = StateStore(parsed.state_dir, config, run_id=ctx.run_id if ctx else None,
                           step=ctx.step if ctx else None)
    result, state = process(records, config, store.load(records) if store else None)
    if store is not None and not config.final:
        manifest = store.stage(state, records)
        if ctx is None:  # called on its own: the new state is current at once
            store.commit(manifest)
        else:  # current only once the whole run has succeeded
            ctx.stage(STATE, state_dir=str(parsed.state_dir), manifest=manifest)
    return result.outputs()


def _store(staged: Staged) -> tuple[StateStore, dict[str, Any]]:
    return StateStore(staged.details["state_dir"]), staged.details["manifest"]


@hookimpl
def register_steps() -> Iterable[Any]:
    """The step types of this plugin: ``window.tumbling``."""
    return [tumbling]


@hookimpl
def before_run(run: Run) -> None:
    """Remove what a stopped run left in its state stores (staged files no manifest names)."""
    for planned in run.plan.steps.values():
        state_dir = planned.kwargs.get("state_dir") if planned.type.name == "window.tumbling" else None
        if state_dir is not None:
            StateStore(state_dir).recover()


@hookimpl
def commit_staged(staged: Staged) -> bool | None:
    return _settle(staged, commit=True)


@hookimpl
def discard_staged(staged: Staged) -> bool | None:
    return _settle(staged, commit=False)


def _settle(staged: Staged, *, commit: bool) -> bool | None:
    """Make a staged state current, or throw it away; ``None`` for a write that is not a state's."""
    if staged.kind != STATE:
        return None
    store, manifest = _store(staged)
    if commit:
        store.commit(manifest)
    else:
        store.discard(manifest)
    return True
