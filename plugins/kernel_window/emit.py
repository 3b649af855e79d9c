"""Emissions (rules 7 to 10): which rows of the window table are emitted after which batch, the
``windows`` output built from them, and the windows that stay open for the next run (rule 8).

The window table has one row per piece of a window (saved state, then the run's batches), sorted by
window then batch, each row holding what the window had accumulated up to that piece. A window is due
after the first batch whose watermark reaches its end: one binary search of the end in the watermark
sequence, so deciding every emission costs a few array operations, whatever the number of batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kernel_window.columns import NAT, Bools, Int64s, utc
from kernel_window.partials import finish
from kernel_window.settings import WindowConfig

EMIT_KINDS = ("watermark", "upsert", "update", "flush")
_WATERMARK, _UPSERT, _UPDATE, _FLUSH = range(4)


@dataclass(frozen=True, slots=True)
class Emissions:
    """Rows of the table to emit (in output order), the batch position after which each is emitted
    (``batches`` for the end-of-input flush) and why; and, per window, whether it has been emitted."""

    rows: Int64s | None  # None: every row, in table order
    after: Int64s
    kind: np.ndarray
    emitted: Bools


def decide(table: pd.DataFrame, config: WindowConfig, first_row: Int64s | None, marks: Int64s) -> Emissions:
    """Apply rules 7 (append, update, upsert), 9 (only windows with records exist) and 10 (flush).

    ``first_row`` is the first row of each window, or ``None`` when every window has exactly one row.
    """
    batches = len(marks)
    pos = table["pos"].to_numpy()
    if first_row is None:
        last_row = None
        end = table["window_start"].to_numpy() + config.size
        emitted_before: Bools = table["emitted"].to_numpy()
        first_pos = pos
    else:
        last_row = np.append(first_row[1:], len(table)) - 1 if len(first_row) else first_row
        end = table["window_start"].to_numpy()[first_row] + config.size
        emitted_before = table["emitted"].to_numpy()[first_row]
        first_pos = pos[first_row]
    parts: list[tuple[Int64s, Int64s, int]] = []
    if config.mode == "update":  # every piece is a batch that changed its window
        update = np.flatnonzero(pos >= 0)
        parts.append((update, pos[update].astype(np.int64), _UPDATE))
        emitted = emitted_before | ((pos if last_row is None else pos[last_row]) >= 0)
    else:
        crossing = np.searchsorted(marks, end, side="left")  # the first batch whose W reaches the end
        del end
        # A window is first emitted after the batch where it is due and has records (allowed lateness
        # can bring the first records of a window after its end has passed).
        due = np.where(emitted_before, -1, np.maximum(first_pos, crossing))
        del crossing
        first = ~emitted_before & (due < batches)
        if first_row is None and config.final and not emitted_before.any():
            ordered = _each_once(due, first, batches)
            if ordered is not None:
                return ordered
        if first_row is None:  # one piece per window: no later piece can be an upsert
            chosen = np.flatnonzero(first)
            parts.append((chosen, due[chosen], _WATERMARK))
        else:
            window = np.repeat(np.arange(len(first_row)), np.diff(np.append(first_row, len(table))))
            due_row = due[window]
            # The first emission shows the window as it was after batch `due`: its last piece not after it.
            through = np.add.reduceat(pos <= due_row, first_row) if len(first_row) else first_row
            parts.append(((first_row + through - 1)[first], due[first], _WATERMARK))
            upsert = np.flatnonzero(pos > due_row)  # allowed lateness: each later batch that changed it
            parts.append((upsert, pos[upsert].astype(np.int64), _UPSERT))
        emitted = emitted_before | first
        if config.final:
            flush = np.flatnonzero(~emitted) if last_row is None else last_row[~emitted]
            parts.append((flush, np.full(len(flush), batches, dtype=np.int64), _FLUSH))
    rows = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    after = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
    kind = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    del parts
    # Output order: by batch, then by table row (window start, then keys). Usually it is already so.
    if len(rows) > 1 and (batches + 1) * len(table) < 1 << 62:
        key = after * len(table) + rows
        if not (key[1:] > key[:-1]).all():
            order = np.argsort(key, kind="stable")
            rows, after, kind = rows[order], after[order], kind[order]
    elif len(rows) > 1:
        order = np.lexsort((rows, after))
        rows, after, kind = rows[order], after[order], kind[order]
    every = len(rows) == len(table) and bool((rows[1:] > rows[:-1]).all())
    return Emissions(rows=None if every else rows, after=after, kind=kind, emitted=emitted)


def _each_once(due: Int64s, first: Bools, batches: int) -> Emissions | None:
    """The emissions when every window has one row and is emitted once, by the watermark or by the final
    flush: in table order if the batches they are emitted after never go down along the table (windows
    due in the order of their starts, the usual case), else ``None``. Saves the general path's copies."""
    after = np.where(first, due, batches)
    if len(after) > 1 and not bool((after[1:] >= after[:-1]).all()):
        return None
    kind = np.where(first, np.int8(_WATERMARK), np.int8(_FLUSH))
    return Emissions(rows=None, after=after, kind=kind, emitted=np.ones(len(after), dtype=bool))


def windows_output(handed: list[pd.DataFrame], config: WindowConfig, emissions: Emissions, ids: Int64s,
                   marks: Int64s) -> pd.DataFrame:
    """The ``windows`` output: keys, window bounds, aggregations, and when and why each row was emitted.

    The window table comes in ``handed``, which gives it up: the partial columns the output does not show
    (pieces' positions, sums and counts of a mean) are freed before the output's own new columns are made.
    """
    table = handed.pop()
    chosen = table if emissions.rows is None else table.take(emissions.rows)
    del table
    out: dict[str, pd.Series] = {k: pd.Series(chosen[f"key:{k}"].array, copy=False) for k in config.keys}
    start = chosen["window_start"].to_numpy()
    out["window_start"] = utc(start.copy())  # a view would keep the table's block of numbers alive
    aggregations = {name: pd.Series(values.array, copy=False) for name, values in finish(chosen, config).items()}
    del chosen
    out["window_end"] = utc(start + config.size)
    del start
    out.update(aggregations)
    del aggregations
    after = emissions.after
    flushed = after >= len(ids)
    at = np.minimum(after, len(ids) - 1)
    if config.trigger is not None:  # the batch id is floor(arrival, trigger): a time
        batch = ids[at] if len(ids) else np.full(len(after), NAT, dtype=np.int64)
        batch *= config.trigger
        batch[flushed] = NAT
        out["emit_batch"] = utc(batch)
        del batch
    else:  # each input frame is a batch, numbered from 0 across runs
        out["emit_batch"] = pd.Series(pd.array(ids[at] if len(ids) else after, dtype="Int64")).mask(flushed)
    # The positions (within range: np.minimum above) become the watermarks they look up, in place: one
    # column fewer at what is the step's peak memory.
    mark = np.take(marks, at, out=at, mode="clip") if len(ids) else np.full(len(after), NAT, dtype=np.int64)
    del at
    mark[flushed] = NAT  # the flush happens at W = +infinity
    out["emit_watermark"] = utc(mark)
    del mark
    kinds = pd.Categorical.from_codes(emissions.kind, categories=pd.Index(EMIT_KINDS))
    out["emit_kind"] = pd.Series(kinds, copy=False)
    return pd.DataFrame(out, copy=False)


def still_open(table: pd.DataFrame, config: WindowConfig, first_row: Int64s | None, emitted: Bools,
               watermark: int | None) -> pd.DataFrame:
    """The windows whose state survives W (rule 8: dropped once end + allowed lateness <= W), as they
    stand after their last piece, with whether they have been emitted."""
    columns = [c for c in table.columns if c != "pos"]
    if config.final:  # the flush closed every window (a copy: an empty view would hold the table's memory)
        return table.iloc[:0][columns].reset_index(drop=True).copy()
    last_row = None if first_row is None else (np.append(first_row[1:], len(table)) - 1 if len(first_row)
                                                else first_row)
    start = table["window_start"].to_numpy() if last_row is None else table["window_start"].to_numpy()[last_row]
    keep = start + (config.size + config.lateness) > (NAT if watermark is None else watermark)
    rows = np.flatnonzero(keep) if last_row is None else last_row[keep]
    kept = table[columns].take(rows).reset_index(drop=True)
    kept["emitted"] = emitted[keep]
    return kept
