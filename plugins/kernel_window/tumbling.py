"""Event-time tumbling windows with a watermark: the algorithm of ``window.tumbling``, as a pure function.

:func:`process` takes the input records, a :class:`~kernel_window.settings.WindowConfig` and the state a
previous run left (or ``None``), and returns the four outputs and the state for the next run. Rule numbers
refer to the spec (``windowing.md``); ``docs/windowing.md`` explains the choices made where it is silent.

Everything is vectorised: batch maxima are one ``ufunc.at``, the watermark is a cumulative maximum over
them, lateness is one comparison per record, the aggregation is one sort and segmented reductions, and
each window's emissions come from a binary search of its end in the watermark sequence. Large arrays
are dropped as soon as they are used, so the peak memory stays a small multiple of the input's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError
from kernel_window.columns import NAT, Bools, Int64s, check_columns, let_go, reduced_columns, utc, utc_nanoseconds
from kernel_window.emit import decide, still_open, windows_output
from kernel_window.keys import window_order
from kernel_window.partials import reduce_segments, running
from kernel_window.settings import WindowConfig


@dataclass(frozen=True, slots=True)
class WindowState:
    """What a run hands to the next one (rule 10); the state store saves and loads exactly this.

    ``watermark`` is W after the last processed batch, in nanoseconds (``None``: minus infinity);
    ``last_batch`` is that batch's id; ``windows`` holds the open windows as a partial table with
    columns ``key:<k>``, ``window_start`` (ns), ``emitted`` and the partial columns (empty after a
    final run: the flush closed them all).
    """

    watermark: int | None = None
    last_batch: int | None = None
    windows: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True, slots=True)
class WindowResult:
    """The step's outputs (see ``docs/windowing.md`` for their columns)."""

    windows: pd.DataFrame
    late: pd.DataFrame
    quarantine: pd.DataFrame
    counts: pd.DataFrame

    def outputs(self) -> dict[str, pd.DataFrame]:
        return {"windows": self.windows, "late": self.late, "quarantine": self.quarantine,
                "counts": self.counts}


def watermarks(event_ns: Int64s, position: np.ndarray, batches: int, delay: int, start: int | None) -> Int64s:
    """W(k) after each batch k (rule 6): the running maximum of (batch's max event time - delay)."""
    newest = np.full(batches, NAT, dtype=np.int64)
    np.maximum.at(newest, position, event_ns)
    # Saturate instead of wrapping around when the delay reaches before the smallest representable time.
    trailing = np.maximum(newest, NAT + delay) - delay
    return np.maximum.accumulate(np.maximum(trailing, NAT if start is None else start))


@dataclass(frozen=True, slots=True)
class Marks:
    """The watermark of a whole input, batch by batch: what every part of a window step split by keys
    shares, so that each part judges lateness and emits as the whole step would (rules 4 to 6)."""

    ids: Int64s  # the batch ids, in order
    marks: Int64s  # W(k) after each of them
    batches: int  # batches that had records, quarantined ones included (the counts' ``batches``)


def marks_of(frame: pd.DataFrame, config: WindowConfig, state: WindowState | None = None) -> Marks:
    """The watermark sequence of ``frame`` (all keys), as :func:`process` computes it."""
    state = state or WindowState()
    check_columns(frame, config)
    event, batch, bad_event, bad_arrival, no_batch = _times(frame, config, state)
    batches = _distinct(batch[~no_batch])
    good = ~(bad_event | bad_arrival)
    ids, position = _batches(batch[good])
    return Marks(ids, watermarks(event[good], position, len(ids), config.delay, state.watermark), batches)


def _distinct(batch: Int64s) -> int:
    """How many distinct batch ids there are: counted in a dense table when they are close together."""
    if len(batch) == 0:
        return 0
    low = int(batch.min())
    if int(batch.max()) - low > 4 * len(batch) + 4096:
        return len(np.unique(batch))
    return int(np.count_nonzero(np.bincount(batch - low)))


def _batches(batch: Int64s) -> tuple[Int64s, np.ndarray]:
    """The distinct batch ids in order, and each record's position among them (rule 3)."""
    if len(batch) == 0:
        return batch, batch.astype(np.int32)
    low = int(batch.min())
    span = int(batch.max()) - low + 1
    if span > 4 * len(batch) + 4096:  # sparse ids: sort instead of a dense table
        ids, position = np.unique(batch, return_inverse=True)
        return ids, position.astype(np.int32)
    offset = batch - low
    present = np.bincount(offset, minlength=span) > 0
    return np.flatnonzero(present) + low, (np.cumsum(present, dtype=np.int32) - 1)[offset]


def _times(frame: pd.DataFrame, config: WindowConfig,
           state: WindowState) -> tuple[Int64s, Int64s, Bools, Bools, Bools]:
    """Event times and batch ids of every record, which records have no usable event time, which are
    quarantined for their arrival time (a bad event time wins), and which have no batch."""
    event = utc_nanoseconds(frame[config.time_column], "time_column")
    bad_event = event == NAT
    if config.arrival_column is not None and config.trigger is not None:
        arrival = utc_nanoseconds(frame[config.arrival_column], "arrival_column")
        no_batch = arrival == NAT
        bad_arrival = no_batch & ~bad_event
        batch = np.floor_divide(arrival, config.trigger)
    else:  # each input frame is one batch; ids continue the state's
        bad_arrival = no_batch = np.zeros(len(frame), dtype=bool)
        batch = np.full(len(frame), 0 if state.last_batch is None else state.last_batch + 1, dtype=np.int64)
    return event, batch, bad_event, bad_arrival, no_batch


def _check_continues(batch: Int64s, state: WindowState, config: WindowConfig) -> None:
    """Refuse records of a batch the saved state has already processed (they would count twice)."""
    if state.last_batch is None or not len(batch) or int(batch.min()) > state.last_batch:
        return
    stale = int((batch <= state.last_batch).sum())
    raise DataError(f"{stale} record(s) arrive in batch {_batch_label(int(batch.min()), config)}, not after "
                    f"{_batch_label(state.last_batch, config)}, the last batch of the saved state: a run "
                    f"continues the stream after the batches already processed", field="settings.arrival_column")


def _batch_label(batch: int, config: WindowConfig) -> str:
    return str(batch) if config.trigger is None else pd.Timestamp(batch * config.trigger, tz="UTC").isoformat()


def _records(frame: pd.DataFrame, rows: Int64s, keep_index: bool = False, **extra: pd.Series) -> pd.DataFrame:
    out = frame.take(rows)
    index = out.index
    out = out.reset_index(drop=True)
    for name, values in extra.items():
        out[name] = values
    return out.set_axis(index, axis=0) if keep_index else out


def process(frame: pd.DataFrame, config: WindowConfig, state: WindowState | None = None,
            shared: Marks | None = None, *, consume: bool = False) -> tuple[WindowResult, WindowState]:
    """Window ``frame`` (one run's records) after ``state``; return the outputs and the next state.

    ``shared``: the watermark of the whole input when ``frame`` is a part of it split by keys; the outputs
    are then this part's rows of the whole step's, late and quarantined rows keeping ``frame``'s index.
    ``consume``: the caller gives ``frame`` up (``kernel.take_input``): its columns are dropped as they are
    done with, so that an input nobody else holds is freed while the windows are made.
    """
    state = state or WindowState()
    check_columns(frame, config)
    event, batch, bad_event, bad_arrival, no_batch = _times(frame, config, state)
    bad = bad_event | bad_arrival
    reason = np.where(bad_event[bad], "bad_event_time", "bad_arrival_time")
    keep = shared is not None  # a part: its rows keep their places in the whole input
    quarantine = _records(frame, np.flatnonzero(bad), keep, reason=pd.Series(reason, dtype="str"))  # rule 2
    # A batch is a trigger interval or a frame that had records, even if all of them were quarantined.
    batches_seen = _distinct(batch[~no_batch]) if shared is None else shared.batches
    del no_batch
    rows = np.flatnonzero(~bad)
    if len(rows) < len(frame):
        event, batch = event[rows], batch[rows]
    del bad, bad_event, bad_arrival, reason
    _check_continues(batch, state, config)
    if shared is None:
        ids, position = _batches(batch)
        marks = watermarks(event, position, len(ids), config.delay, state.watermark)
    else:  # the whole input's batches and watermark; this part's records among them
        ids, marks = shared.ids, shared.marks
        position = np.searchsorted(ids, batch).astype(np.int32)
    del batch
    before = np.concatenate(([NAT if state.watermark is None else state.watermark], marks[:-1]))
    start = np.mod(event, config.size)  # rule 1: floor, epoch-aligned (numpy's mod is >= 0)
    np.subtract(event, start, out=start)
    late = start + (config.size + config.lateness) <= before[position]  # rule 4: judged by W(k-1)
    late_out = _records(frame, rows[late], keep, window_start=utc(start[late]),
                        watermark=utc(before[position[late]]),
                        reason=pd.Series(["late"] * int(late.sum()), dtype="str"))  # rule 5
    if len(late_out):
        on_time = ~late
        rows, event, start, position = rows[on_time], event[on_time], start[on_time], position[on_time]
        del on_time
    del late
    reduced = reduced_columns(config)
    if consume:  # late and quarantined records are taken: the rest reads only these
        let_go(frame, {*reduced, *config.keys})

    # Pieces: a window's on-time records of one batch when a window can be emitted more than once,
    # else all of its records in this run; sorted by window start, key values (and batch).
    saved = state.windows
    layout = window_order(frame, config, rows, start, position if config.by_batch else None, saved)
    order, starts, merge, first_row = layout.order, layout.starts, layout.merge, layout.first_row
    del layout  # it would hold the record-long order and starts to the end
    first = order[starts]
    columns: dict[str, Any] = {f"key:{k}": frame[k].array.take(rows[first]) for k in config.keys}
    if consume:
        let_go(frame, reduced)
    columns["window_start"] = start[first]
    del start
    if config.by_batch or not len(starts):
        columns["pos"] = position[first]
    else:
        columns["pos"] = np.minimum.reduceat(position[order], starts)
    del position, first
    columns["emitted"] = np.zeros(len(starts), dtype=bool)
    records = [rows[order], event[order]]  # reduce_segments takes them, and lets them go as it is done
    del rows, event, order
    # What decides first and last is kept only where pieces will be merged: in this run, or in the next.
    merging = first_row is not None or not config.final
    columns.update(reduce_segments(frame, records, starts, config, candidates=merging, consume=consume))
    del records, starts
    pieces = pd.DataFrame(columns, copy=False)
    del columns
    aggregated = int(pieces["n"].sum())

    table = pieces
    if merge is not None:  # the saved windows go first, as the pieces before this run's batches
        table = pd.concat([saved.assign(pos=np.int32(-1))[pieces.columns], pieces], ignore_index=True)
        table = table.take(merge).reset_index(drop=True)
    del pieces, merge
    if first_row is not None:
        _merge_pieces(table, first_row, config)

    emissions = decide(table, config, first_row, marks)
    watermark = int(marks[-1]) if len(ids) else state.watermark
    watermark = None if watermark in (None, NAT) else watermark
    kept = still_open(table, config, first_row, emissions.emitted, watermark)
    handed = [table]  # the output takes the table: its partials go once the aggregations are computed
    del table
    windows = windows_output(handed, config, emissions, ids, marks)
    last_batch = int(ids[-1]) if len(ids) else state.last_batch
    if len(frame) and not (config.arrival_column is not None and config.trigger is not None):
        # A frame is a batch even when all its records were quarantined: the next frame is the next batch.
        last_batch = 0 if state.last_batch is None else state.last_batch + 1
    new_state = WindowState(watermark=watermark, last_batch=last_batch,
                            windows=kept)
    counts = pd.DataFrame({
        "input": [len(frame)], "aggregated": [aggregated], "late": [len(late_out)],
        "quarantined": [len(quarantine)], "batches": [batches_seen], "windows": [len(windows)],
        "open_windows": [len(kept)],
    })
    if aggregated + len(late_out) + len(quarantine) != len(frame):  # rule 11
        raise DataError(f"records are not conserved: {len(frame)} in, but {aggregated} aggregated + "
                        f"{len(late_out)} late + {len(quarantine)} quarantined")
    return WindowResult(windows, late_out, quarantine, counts), new_state


def _merge_pieces(table: pd.DataFrame, first_row: Int64s, config: WindowConfig) -> None:
    """Replace each piece of a window that has several by the window's running total, in place."""
    per_window = np.diff(np.append(first_row, len(table)))
    window = np.repeat(np.arange(len(first_row)), per_window)
    several = per_window[window] > 1
    merged = running(table.loc[several], window[several], config)
    # Put the merged rows back in place; a concat keeps each column's dtype, where a masked
    # assignment would first align (and so upcast integers to floats).
    rest = table.loc[~several, merged.columns]
    back = np.argsort(np.concatenate([np.flatnonzero(~several), np.flatnonzero(several)]), kind="stable")
    table[list(merged.columns)] = pd.concat([rest, merged]).take(back).set_axis(table.index)
