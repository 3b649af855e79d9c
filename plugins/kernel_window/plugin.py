"""The ``window`` plugin's hooks: the step type ``window.tumbling``, and its state store's part in a run
(recovered before the run, a new state made current only when the whole run succeeds)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from pydantic import ValidationError

from kernel import Inputs, Outputs, Run, Staged, StepContext, StepSettingsError, hookimpl, step, validation_problem
from kernel_window.settings import TumblingSettings, WindowConfig
from kernel_window.store import StateStore
from kernel_window.tumbling import Marks, marks_of, process

STATE = "window.state"


def _config(settings: Mapping[str, Any]) -> WindowConfig:
    return WindowConfig.from_settings(TumblingSettings.model_validate(dict(settings)))


def shared_marks(inputs: Mapping[str, pd.DataFrame], settings: Mapping[str, Any]) -> dict[str, Any]:
    """What every part of a window step split by keys shares: the watermark of all the records."""
    return {"marks": marks_of(inputs["records"], _config(settings))}


def combine_parts(parts: list[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The whole step's outputs from its parts by keys: windows in emission order (batch, window start,
    keys), late and quarantined records in input order, counts added up (batches are the whole input's)."""
    windows = pd.concat([p["windows"] for p in parts], ignore_index=True)
    keys = list(windows.columns[: list(windows.columns).index("window_start")])  # the keys lead
    windows = windows.sort_values(["emit_batch", "window_start", *keys], kind="stable", na_position="last",
                                  ignore_index=True)
    late = pd.concat([p["late"] for p in parts]).sort_index(kind="stable").reset_index(drop=True)
    quarantine = pd.concat([p["quarantine"] for p in parts]).sort_index(kind="stable").reset_index(drop=True)
    counts = parts[0]["counts"].copy()
    for column in counts.columns:
        if column != "batches":
            counts[column] = sum(int(p["counts"][column].iloc[0]) for p in parts)
    return {"windows": windows, "late": late, "quarantine": quarantine, "counts": counts}


@step("window.tumbling", inputs=("records",), outputs=("windows", "late", "quarantine", "counts"),
      settings=TumblingSettings, claims=("state_dir",), partitions="keys", shared=shared_marks,
      combine=combine_parts)
def tumbling(inputs: Inputs, *, ctx: StepContext | None = None, marks: Marks | None = None,
             **settings: Any) -> Outputs:
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
    result, state = process(records, config, store.load(records) if store else None, marks)
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
