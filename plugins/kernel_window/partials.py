"""Partial aggregates: what a window has accumulated, in a form two pieces of a window can be merged in.

A *partial table* has one row per piece of a window (the window's records of one batch, or of one run,
or what the state store kept) and these columns, documented in ``docs/windowing.md``:

- ``n``: on-time records;
- ``nonnull:<c>`` and ``sum:<c>``: non-null values and their sum, for ``count(c)``, ``sum(c)``, ``mean(c)``;
- ``min:<c>``, ``max:<c>``;
- ``first:event_time``, ``first:order_by:<c>``, ``first:value:<c>`` (and the same for ``last``): the
  record that is first (last) by ``(event time, order_by..., values...)``, nulls lowest.

:func:`reduce_segments` builds it from records sorted by piece, without a Python loop over records;
:func:`running` merges the pieces of each window in batch order (what the window held after each batch);
:func:`finish` turns partials into the aggregation columns of the ``windows`` output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.arrays import IntegerArray

from kernel_window.columns import (
    NAT,
    Bools,
    Int64s,
    factorize_sorted,
    is_float,
    let_go,
    numbers,
    present,
    ranks,
    time_ticks,
    utc,
)
from kernel_window.settings import WindowConfig

_LARGEST = np.iinfo(np.int64).max


def _lengths(starts: Int64s, total: int) -> Int64s:
    return np.diff(np.append(starts, total))


def _from_codes(uniques: pd.Index, codes: Int64s, missing: Bools) -> pd.Series:
    """The values that ``codes`` stand for; null where ``missing``."""
    if missing.any():
        return pd.Series(uniques.array.take(np.where(missing, -1, codes), allow_fill=True), copy=False)
    return pd.Series(uniques.array.take(codes), copy=False)


def _gather(column: pd.Series, rows: Int64s) -> pd.Series:
    """``column`` at positions ``rows``, without building an index of the taken labels."""
    return pd.Series(column.array.take(rows), name=column.name, copy=False)


def _extreme(column: pd.Series, starts: Int64s, fn: str) -> pd.Series:
    """``min`` or ``max`` of each segment of ``column``, nulls skipped (null when a segment has no value)."""
    if is_float(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():  # infinities are missing, as NaN is (a copy only then: the peak is near)
            values = np.where(np.isinf(values), np.nan, values)
        ufunc = np.fmin if fn == "min" else np.fmax  # fmin/fmax skip NaN
        return pd.Series(ufunc.reduceat(values, starts) if len(starts) else values[:0], copy=False)
    stored = time_ticks(column) if len(starts) else None
    if stored is not None:
        return _extreme_time(column.dtype, *stored, starts, fn)
    # Any other dtype: pick the record holding the extreme and take its value, which keeps the dtype.
    positions = _pick(starts, len(column), [_extreme_key(column, fn)], largest=True) if len(starts) else starts
    return pd.Series(column.array.take(positions), copy=False)


def _extreme_time(dtype: Any, ticks: Int64s, unit: str, starts: Int64s, fn: str) -> pd.Series:
    """``min`` or ``max`` of each segment of a timestamp column, reduced on its ticks (NaT, the smallest
    int64, never wins a ``max``; for a ``min`` it is first made the largest)."""
    if fn == "max":
        reduced = np.maximum.reduceat(ticks, starts)
    else:
        reduced = np.minimum.reduceat(np.where(ticks == NAT, _LARGEST, ticks), starts)
        reduced[reduced == _LARGEST] = NAT
    if isinstance(dtype, pd.DatetimeTZDtype):  # the ticks are UTC: shown in the zone, on the same memory
        shown: pd.Series = utc(reduced, unit).dt.tz_convert(dtype.tz)
        return shown
    return pd.Series(reduced.view(f"M8[{unit}]"), copy=False)


def _extreme_key(column: pd.Series, fn: str) -> Callable[[], Int64s]:
    """A key whose largest value is the segment's min or max, with nulls lowest: never picked over a value."""

    def make() -> Int64s:
        if fn == "max":
            return ranks(column)
        return np.where(column.isna().to_numpy(dtype=bool), np.iinfo(np.int64).min, ranks(column, flip=True))

    return make


def _pick(starts: Int64s, total: int, keys: Sequence[Callable[[], Int64s]], largest: bool) -> Int64s:
    """Per segment, the position of the record whose tuple of ``keys`` is largest (or smallest).

    Lexicographic arg-max by refinement: keep the records equal to the segment's extreme of the
    first key, then of the next key among those, and so on; stop as soon as no segment has a tie,
    so the later (costlier) keys are usually never computed.
    """
    lengths = _lengths(starts, total)
    segment: Int64s | None = None
    candidate: Bools | None = None
    for make in keys:
        ties = lengths if candidate is None else np.add.reduceat(candidate, starts)
        if not (ties > 1).any():
            break
        del ties
        if segment is None:
            segment = np.repeat(np.arange(len(starts)), lengths)
        values = make()
        if candidate is not None:
            values = np.where(candidate, values, np.iinfo(np.int64).min if largest else np.iinfo(np.int64).max)
        ufunc = np.maximum if largest else np.minimum
        hit = values == ufunc.reduceat(values, starts)[segment]
        candidate = hit if candidate is None else candidate & hit
    if candidate is None:  # no segment has two records: each segment's only record is its pick
        return starts
    return np.minimum.reduceat(np.where(candidate, np.arange(total), total), starts)


def reduce_segments(frame: pd.DataFrame, handed: list[Int64s], starts: Int64s, config: WindowConfig, *,
                    candidates: bool = True, consume: bool = False) -> dict[str, Any]:
    """Partials of each segment of ``frame.take(rows)``; ``starts`` are the segments' first positions.

    ``handed`` holds ``rows``, the records sorted so that each segment is contiguous, then ``event_ns``, their
    event times; the list gives them up, and each goes as soon as it is of no more use (they are as long as
    the input): the event times once first and last are picked, the rows after the last column is read.
    Without ``candidates``, first/last keep only their values, not the event time and ``order_by``
    values that let two partials be merged (saving memory when nothing will be merged).
    With ``consume``, each column of ``frame`` is dropped after its last read (``let_go``).
    """
    event_ns = handed.pop()
    rows = handed.pop()
    segments = len(starts)
    n = _lengths(starts, len(rows))
    ends: dict[str, Any] = {}
    for end in ("first", "last"):
        values_of = config.columns_of(end)
        if not values_of:
            continue
        keys: list[Callable[[], Int64s]] = [functools.partial(np.asarray, event_ns)]  # the times as they are
        keys += [_ranks_at(frame[c], rows) for c in (*config.order_by, *values_of)]
        positions = _pick(starts, len(rows), keys, largest=end == "last") if segments else starts
        del keys  # it holds the event times
        chosen = rows[positions]
        roles: list[tuple[str, tuple[str, ...]]] = [("value", values_of)]
        if candidates:
            ends[f"{end}:event_time"] = event_ns[positions]
            roles.insert(0, ("order_by", config.order_by))
        del positions
        for role, columns in roles:
            for column in columns:
                ends[f"{end}:{role}:{column}"] = frame[column].array.take(chosen)
        del chosen
    del event_ns
    out: dict[str, Any] = {"n": n}
    summed = config.columns_of("sum", "mean")
    counted = config.columns_of("count", "sum", "mean")
    extremes = [(fn, column) for fn in ("min", "max") for column in config.columns_of(fn)]
    if consume:
        let_go(frame, {*counted, *(column for _, column in extremes)})
    for at, column in enumerate(counted):
        if column not in summed:  # counted only: any dtype (text, boolean, ...)
            there = present(frame[column])[rows]
            out[f"nonnull:{column}"] = _count(there, starts, n)
        else:
            values, there = numbers(_gather(frame[column], rows))
            out[f"nonnull:{column}"] = _count(there, starts, n)
            if out[f"nonnull:{column}"] is not n:
                values[~there] = 0
            out[f"sum:{column}"] = _add(values, starts)
            del values
        del there
        if consume:
            let_go(frame, {*counted[at + 1:], *(column for _, column in extremes)})
    for at, (fn, column) in enumerate(extremes):
        taken = _gather(frame[column], rows)
        if at == len(extremes) - 1:
            del rows  # the last read of the records' rows
        if consume:
            let_go(frame, {later for _, later in extremes[at + 1:]})
        out[f"{fn}:{column}"] = _extreme(taken, starts, fn).array
        del taken
    out.update(ends)  # first and last after the rest, as the partial table's columns have always come
    return out


def _count(there: Bools, starts: Int64s, n: Int64s) -> Int64s:
    """Values present per segment: ``n`` itself (shared, not a copy) when every value is there."""
    if bool(there.all()):
        return n
    counted: Int64s = _add(there.astype(np.int64), starts)
    return counted


def _add(values: np.ndarray, starts: Int64s) -> np.ndarray:
    return np.add.reduceat(values, starts) if len(starts) else values[:0]


def _ranks_at(column: pd.Series, rows: Int64s) -> Callable[[], Int64s]:
    return lambda: ranks(_gather(column, rows))


def running(table: pd.DataFrame, window: Int64s, config: WindowConfig) -> pd.DataFrame:
    """Each row merged with the earlier rows of its window: what the window held after that piece.

    ``table`` is a partial table sorted by window, then batch; ``window`` numbers its rows' windows in
    non-decreasing order.
    """
    groups = pd.Series(window, index=table.index)
    out = pd.DataFrame(index=table.index)
    additive = ["n", *(c for c in table.columns if c.startswith(("nonnull:", "sum:")))]
    out[additive] = table[additive].groupby(groups, sort=False).cumsum()
    for fn in ("min", "max"):
        for column in config.columns_of(fn):
            codes, uniques = factorize_sorted(table[f"{fn}:{column}"])
            none = len(uniques)
            if fn == "min":
                low = np.asarray(pd.Series(np.where(codes < 0, none, codes)).groupby(window).cummin(), np.int64)
                merged = _from_codes(uniques, low, low >= none)
            else:
                high = pd.Series(codes).groupby(window).cummax().to_numpy(np.int64)
                merged = _from_codes(uniques, high, high < 0)
            out[f"{fn}:{column}"] = merged.set_axis(table.index)
    for end in ("first", "last"):
        if not config.columns_of(end):
            continue
        names = [f"{end}:event_time", *(c for c in table.columns if c.startswith((f"{end}:order_by:",
                                                                                    f"{end}:value:")))]
        keys = [ranks(table[name], flip=end == "first") for name in names]
        order = np.lexsort((*reversed(keys), window))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        # The window is the primary sort key and rows come in window order, so a running maximum of the
        # rank never reaches back into an earlier window.
        best = order[np.maximum.accumulate(rank)] if len(order) else order
        for name in names:
            out[name] = table[name].take(best).set_axis(table.index)
    return out[list(table.columns.intersection(out.columns, sort=False))]


def finish(table: pd.DataFrame, config: WindowConfig) -> dict[str, pd.Series]:
    """The aggregation columns of the ``windows`` output, computed from a partial table."""
    out: dict[str, pd.Series] = {}
    for a in config.aggregations:
        if a.column is None:
            out[a.name] = table["n"]
        elif a.fn == "count":
            out[a.name] = table[f"nonnull:{a.column}"]
        elif a.fn in ("sum", "mean"):
            total, present = table[f"sum:{a.column}"], table[f"nonnull:{a.column}"].to_numpy() > 0
            if a.fn == "mean":  # one new array: NaN where a window has no value
                mean = np.full(len(total), np.nan)
                np.divide(total.to_numpy(dtype=np.float64), table[f"nonnull:{a.column}"].to_numpy(), out=mean,
                          where=present)
                out[a.name] = pd.Series(mean, index=table.index, copy=False)
            elif total.dtype.kind == "f":
                out[a.name] = total.where(present)
            else:  # an exact integer sum (sharing the partial's memory); null without a value, as in SQL
                exact = IntegerArray(total.to_numpy(dtype=np.int64), ~present)
                out[a.name] = pd.Series(exact, index=table.index, copy=False)
        elif a.fn in ("min", "max"):
            out[a.name] = table[f"{a.fn}:{a.column}"]
        else:
            out[a.name] = table[f"{a.fn}:value:{a.column}"]
    return out
