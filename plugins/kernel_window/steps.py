"""The function of ``window.tumbling`` and what runs it in parts, imported when a run needs them
(``kernel_window.plugin`` declares the step type)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from kernel import Inputs, Outputs, StepContext, StepSettingsError, take_input, validation_problem
from kernel_window.columns import check_columns
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
    # Without a state store or held records, nothing reads the records after the windows are made: the step
    # takes them, and lets each column go once done with it (the whole input, when the kernel handed it over).
    consume = parsed.state_dir is None and parsed.hold is None
    records = take_input(inputs, "records") if consume else inputs["records"]
    store = None
    if parsed.state_dir is not None:
        store = StateStore(parsed.state_dir, config, run_id=ctx.run_id if ctx else None,
                           step=ctx.step if ctx else None, salt=run_salt(ctx, hold=parsed.hold))
    saved = store.load(records) if store else None
    carried = store.held() if store else None
    if carried is not None:
        check_columns(records, config)  # before the held records are put first: a column must not go missing
    frame = records if carried is None else _after(carried, records)
    held = None
    if parsed.hold is not None:
        frame, held = split_held(frame, config, parsed.hold)
    result, state = process(frame, config, saved, marks, consume=consume)
    if carried is not None or parsed.hold is not None:
        result.counts["input"] = len(records)
        result.counts["carried_in"] = 0 if carried is None else len(carried)
        result.counts["held"] = 0 if held is None else len(held)
    if store is not None and not config.final:
        # Current once the whole run has succeeded (at once when the step is called on its own).
        store.keep(store.stage(state, records, held, held_until(held, config)), ctx)
    return result.outputs()


def _after(carried: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The records held back by the last run, then this run's: arrival order, numbered from 0."""
    if not len(records):
        return carried
    return pd.concat([carried, records], ignore_index=True)


def run_salt(ctx: StepContext | None, **more: Any) -> str | None:
    """What, beside its records, makes a run's batch this batch: the run's parameters (a stream's file) and
    ``more``; None when there is nothing (the records alone say it)."""
    import json

    values = {**(dict(ctx.params) if ctx is not None else {}), **{k: v for k, v in more.items() if v is not None}}
    return json.dumps(values, sort_keys=True, default=str) if values else None


def held_until(held: pd.DataFrame | None, config: WindowConfig) -> str | None:
    """When the earliest held batch is over (ISO 8601): a clock that reaches it releases records."""
    from kernel_window.columns import utc_nanoseconds

    if held is None or not len(held) or config.arrival_column is None or config.trigger is None:
        return None
    first = int(utc_nanoseconds(held[config.arrival_column], "arrival_column").min()) // config.trigger
    return pd.Timestamp((first + 1) * config.trigger, tz="UTC").isoformat()


def split_held(frame: pd.DataFrame, config: WindowConfig, hold: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records of complete batches, and those held back for the next run: every record whose arrival
    batch is not complete by ``hold`` (an arrival time), or with ``hold: newest`` is the batch of the newest
    arrival. Records without a usable arrival time belong to no batch and are not held (they are quarantined
    now)."""
    from kernel_window.columns import NAT, utc_nanoseconds

    assert config.arrival_column is not None and config.trigger is not None
    arrival = utc_nanoseconds(frame[config.arrival_column], "arrival_column")
    valid = arrival != NAT
    batch = np.floor_divide(arrival, config.trigger)
    if hold == "newest":
        if not valid.any():
            return frame, frame.iloc[:0]
        cutoff = int(batch[valid].max())
    else:
        clock = pd.Timestamp(hold)
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
        cutoff = int(clock.value) // config.trigger  # batch b is complete when (b + 1) * trigger <= clock
    later = valid & (batch >= cutoff)
    if not later.any():
        return frame, frame.iloc[:0]
    return (frame.iloc[np.flatnonzero(~later)].reset_index(drop=True),
            frame.iloc[np.flatnonzero(later)].reset_index(drop=True))
