"""Helpers for the window.tumbling tests: streams written as the spec writes them and a reading of the
``windows`` output in the same terms (the record-at-a-time reference model is ``window_reference``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from kernel_window import TumblingSettings, WindowConfig, WindowResult, WindowState, process

T0 = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = pd.Timedelta("1min")

SPEC_SETTINGS: dict[str, Any] = {
    "time_column": "event_time",
    "arrival_column": "ingest_time",
    "keys": ["device_id"],
    "size": "1min",
    "watermark": "2min",
    "trigger": "1min",
    "aggregations": {"count": "count"},
}


def at(clock: str) -> pd.Timestamp:
    """``"01:05"`` or ``"00:59.999"`` (mm:ss past 00:00, as the spec writes times) as a UTC timestamp."""
    minutes, seconds = clock.split(":")
    return T0 + pd.Timedelta(minutes=int(minutes)) + pd.Timedelta(seconds=float(seconds))


def clock(ts: pd.Timestamp) -> str:
    """The inverse of :func:`at` (``-1:50`` for times before 00:00)."""
    seconds = (ts - T0).total_seconds()
    sign = "-" if seconds < 0 else ""
    whole, rest = divmod(abs(seconds), 60)
    text = f"{sign}{int(whole):02d}:{int(rest):02d}"
    return text + (f"{rest % 1:.3f}"[1:] if rest % 1 else "")


def stream(*batches: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Batches B0, B1, ... of (device, mm:ss) records; batch k arrives at 00:00 + k minutes (trigger 1min)."""
    rows = [
        {"device_id": device, "event_time": at(when), "ingest_time": T0 + k * MINUTE + pd.Timedelta(seconds=30)}
        for k, batch in enumerate(batches)
        for device, when in batch
    ]
    return pd.DataFrame(rows, columns=["device_id", "event_time", "ingest_time"])


def run(frame: pd.DataFrame, state: WindowState | None = None, **settings: Any
        ) -> tuple[WindowResult, WindowState]:
    config = WindowConfig.from_settings(TumblingSettings.model_validate({**SPEC_SETTINGS, **settings}))
    return process(frame, config, state)


def batch_of(emit_batch: Any) -> int | str:
    """B-index of an ``emit_batch`` value of :func:`stream` data; ``"end"`` for the flush."""
    if pd.isna(emit_batch):
        return "end"
    return int((emit_batch - T0) // MINUTE)


def emitted(result: WindowResult, column: str = "count") -> list[tuple[Any, ...]]:
    """The ``windows`` output as (after batch, key, window start, value) rows, in output order."""
    w = result.windows
    return [(batch_of(b), k, clock(s), v) for b, k, s, v in zip(w["emit_batch"], w["device_id"],
                                                                w["window_start"], w[column], strict=True)]


def late(result: WindowResult) -> list[tuple[str, str, str, str]]:
    """The ``late`` output as (key, event time, window start, watermark that judged it)."""
    rows = result.late
    return [(k, clock(e), clock(s), clock(m)) for k, e, s, m in zip(rows["device_id"], rows["event_time"],
                                                                     rows["window_start"], rows["watermark"],
                                                                     strict=True)]
