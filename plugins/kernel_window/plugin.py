"""The ``window`` plugin's hooks: the step type ``window.tumbling``, and its state store's part in a run
(recovered before the run, a new state made current only when the whole run succeeds)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kernel import Run, Staged, StepType, hookimpl
from kernel_window.settings import TumblingSettings

if TYPE_CHECKING:
    from kernel_window.store import StateStore

STATE = "window.state"

# The functions live in kernel_window.steps, imported when a run needs them.
TUMBLING = StepType(
    "window.tumbling", "kernel_window.steps:tumbling", inputs=("records",),
    outputs=("windows", "late", "quarantine", "counts"), settings=TumblingSettings, claims=("state_dir",),
    partitions="keys", shared="kernel_window.steps:shared_marks", combine="kernel_window.steps:combine_parts",
    description="Event-time tumbling windows with a watermark, late-data and quarantine outputs "
    "(docs/windowing.md).",
)


def _store(staged: Staged) -> tuple[StateStore, dict[str, Any]]:
    from kernel_window.store import StateStore

    return StateStore(staged.details["state_dir"]), staged.details["manifest"]


@hookimpl
def register_steps() -> Iterable[Any]:
    """The step types of this plugin: ``window.tumbling``."""
    return [TUMBLING]


@hookimpl
def before_run(run: Run) -> None:
    """Remove what a stopped run left in its state stores (staged files no manifest names)."""
    from kernel_window.store import StateStore

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
