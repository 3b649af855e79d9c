"""The function of ``window.tumbling`` and what runs it in parts, imported when a run needs them
(``kernel_window.plugin`` declares the step type)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import ValidationError

from kernel import Inputs, Outputs, StepContext, StepSettingsError, validation_problem
from kernel_window.plugin import STATE
from kernel_window.settings import TumblingSettings, WindowConfig
from kernel_window.store import StateStore
from kernel_window.tumbling import Marks, marks_of, process


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
