"""Temperature anomalies (the spec's step 6, resolved details 13 and 14), used by ``iot.firmware_adoption``.

A window's ``temperature_mean`` is anomalous when ``|z| > threshold`` (strict) against the mean and the sample
standard deviation (n - 1) of the same device's previous ``history`` emitted windows by window start, whatever
the gaps between them; null means among those windows are skipped, and at least ``min_history`` non-null
means are needed. A zero deviation or a null mean is never flagged. Every emitted window is scored.

The history is a window over *rows* of the windows sorted by (device, window_start): row i looks at rows
``[max(i - history, first row of its device), i)``. One pandas rolling pass with those bounds computes the
means and deviations (pandas counts only non-null values toward ``min_periods``, and returns an exact 0 for a
constant history, so "zero deviation" is a clean test); the counts come from a cumulative sum.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from kernel import Inputs, Outputs, StepContext, StepSettingsError
from kernel_iot.uptime import Int64s, require, utc_ns

ANOMALY_COLUMNS = ("device_id", "window_start", "temperature_mean", "prev_mean", "prev_std", "prev_n", "z")


class _History(BaseIndexer):
    """Fixed per-row bounds ``[start[i], end[i])`` computed beforehand (the previous windows of a device)."""

    def __init__(self, start: Int64s, end: Int64s) -> None:
        super().__init__()
        self.bounds = (start, end)

    def get_window_bounds(self, num_values: int = 0, min_periods: int | None = None, center: bool | None = None,
                          closed: str | None = None, step: int | None = None) -> tuple[Any, Any]:
        return self.bounds


def check_settings(history: int, min_history: int, threshold: float) -> None:
    """Refuse settings that make the rule meaningless (a deviation needs two values)."""
    if min_history < 2:
        raise StepSettingsError("needs at least 2 (a sample deviation needs two values)",
                                field="settings.anomaly_min_history")
    if history < min_history:
        raise StepSettingsError(f"must be at least anomaly_min_history ({min_history})",
                                field="settings.anomaly_history")
    if not threshold > 0:
        raise StepSettingsError("must be a positive number", field="settings.anomaly_threshold")


def _device_order(windows: pd.DataFrame) -> tuple[Int64s, Int64s]:
    """Row order by (device, window_start), and each sorted row's device code."""
    device = windows["device_id"]
    raw = device.cat.codes.to_numpy() if isinstance(device.dtype, pd.CategoricalDtype) else pd.factorize(device)[0]
    ws = utc_ns(windows["window_start"], "windows")
    if len(ws) == 0:
        return np.zeros(0, dtype=np.int64), raw.astype(np.int64)
    if int(raw.max()) < 2**15:
        # numpy sorts 16-bit integers by radix, in one pass: a stable sort by device keeps the window step's
        # order within a device, which is by window start unless a window was emitted again out of turn.
        small = raw if raw.dtype.itemsize <= 2 else raw.astype(np.int16)
        order = np.argsort(small, kind="stable")
        within, device_of = ws[order], small[order]
        if bool(np.all((within[1:] >= within[:-1]) | (device_of[1:] != device_of[:-1]))):
            return order.astype(np.int64, copy=False), device_of.astype(np.int64)
        del within, device_of, order
    codes = raw.astype(np.int64)
    # One int64 key sorts faster than a two-key lexsort when (device, window start) fits in it. The window
    # step emits roughly by window start, which a stable (run-aware) sort exploits and a quicksort does not.
    low, span = int(ws.min()), int(ws.max()) - int(ws.min()) + 1
    if (int(codes.max()) + 2) * span < 2**62:
        key = ws - low  # a new array: ws may share memory with the input frame
        key += (codes + 1) * span
        order = np.argsort(key, kind="stable")
        del key
    else:
        order = np.lexsort((ws, codes))
    return order.astype(np.int64, copy=False), codes[order]


def _history_bounds(device: Int64s, history: int) -> tuple[Int64s, Int64s]:
    """Row i's history is rows [start[i], i): at most ``history`` rows back, never before its device's first."""
    end = np.arange(len(device), dtype=np.int64)
    first = np.maximum.accumulate(np.where(np.diff(device, prepend=-2) != 0, end, 0))
    start = end - history
    np.maximum(start, first, out=start)
    return start, end


_BLOCK_ROWS = 1 << 20  # windows scored at a time, about


def _blocks(device: Int64s) -> list[tuple[int, int]]:
    """Row ranges of about ``_BLOCK_ROWS`` rows or more, each starting where a device does (rows sorted by device)."""
    n = len(device)
    if n <= _BLOCK_ROWS:
        return [(0, n)]
    firsts = np.flatnonzero(device[1:] != device[:-1]) + 1
    wanted = np.searchsorted(firsts, np.arange(_BLOCK_ROWS, n, _BLOCK_ROWS))
    cuts = np.unique(firsts[wanted[wanted < len(firsts)]])
    return list(itertools.pairwise([0, *cuts.tolist(), n]))


def _score_block(x: np.ndarray, device: Int64s, own: np.ndarray, history: int, min_history: int,
                 threshold: float, offset: int) -> tuple[int, Int64s, np.ndarray, np.ndarray, Int64s, np.ndarray]:
    """One block of whole devices: how many windows had a history, and the flagged rows (block offset added)
    with their history's mean, deviation and size, and z."""
    start, end = _history_bounds(device, history)
    present = ~np.isnan(x)
    counted = np.concatenate(([0], np.cumsum(present)))
    prev_n = counted[end] - counted[start]
    del counted
    rolling = pd.Series(x, copy=False).rolling(_History(start, end), min_periods=min_history)
    prev_mean = rolling.mean().to_numpy()
    prev_std = rolling.std(ddof=1).to_numpy()
    del rolling, start, end
    # Only windows with a mean, enough history and a non-zero deviation can be flagged.
    eligible = own & present & (prev_n >= min_history)
    scored = int(np.count_nonzero(eligible))
    eligible &= prev_std > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - prev_mean) / prev_std
    flagged = np.flatnonzero(eligible & np.isfinite(z) & (np.abs(z) > threshold))  # a non-finite z never flags
    return (scored, flagged + offset, prev_mean[flagged], prev_std[flagged], prev_n[flagged].astype(np.int64),
            z[flagged])


def score(windows: pd.DataFrame, history: int, min_history: int, threshold: float, first: int = 0,
          keys: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    """The anomalies table (sorted by device and window start) and the number of windows that had a history.

    Rows before ``first`` are history only (a stream's earlier windows): they are neither scored nor flagged.
    ``keys``: the frame whose rows are ``windows``' rows from ``first`` on, to take the key columns from
    (default ``windows``).
    """
    require(windows, "windows", ("device_id", "window_start", "temperature_mean"))
    order, device = _device_order(windows)
    x = windows["temperature_mean"].to_numpy(dtype=np.float64, na_value=np.nan)[order]
    x[~np.isfinite(x)] = np.nan  # an infinite mean is missing, as NaN is: it neither flags nor shifts the history
    # A device's history never reaches into another device: devices are scored a block at a time, each block's
    # arrays a fraction of the windows' length (whole, they were the flagship's peak memory).
    found = [_score_block(x[a:b], device[a:b], order[a:b] >= first, history, min_history, threshold, a)
             for a, b in _blocks(device)]
    del device
    scored = sum(block[0] for block in found)
    flagged = np.concatenate([np.zeros(0, dtype=np.int64), *(block[1] for block in found)])
    prev_mean, prev_std, prev_n, z = (
        np.concatenate([np.zeros(0, dtype=dtype), *(block[k] for block in found)])
        for k, dtype in ((2, np.float64), (3, np.float64), (4, np.int64), (5, np.float64))
    )
    del found
    taken = order[flagged] if keys is None else order[flagged] - first
    source = windows if keys is None else keys
    anomalies = pd.DataFrame({
        "device_id": source["device_id"].take(taken).reset_index(drop=True),
        "window_start": source["window_start"].take(taken).reset_index(drop=True),
        "temperature_mean": x[flagged],
        "prev_mean": prev_mean,
        "prev_std": prev_std,
        "prev_n": prev_n,
        "z": z,
    })
    return anomalies, scored


def precision_recall(anomalies: pd.DataFrame, truth: pd.DataFrame, scored: int) -> pd.DataFrame:
    """One row: anomalies, true positives, precision and recall against the ground truth (detail 14).

    An anomaly is a true positive when its (device_id, window_start) is a truth (device_id, minute). Recall's
    denominator is every distinct truth minute, whatever happened to its records; precision's is the anomalies.
    Both are null when the data set has no ground truth (and precision also when nothing was flagged).
    """
    require(truth, "truth", ("device_id", "minute"))
    truth_keys = pd.MultiIndex.from_arrays([truth["device_id"].astype(str).to_numpy(dtype=object),
                                            utc_ns(truth["minute"], "truth")]).unique()
    found = pd.MultiIndex.from_arrays([anomalies["device_id"].astype(str).to_numpy(dtype=object),
                                       utc_ns(anomalies["window_start"], "anomalies")])
    hits = int(found.isin(truth_keys).sum())
    flagged, minutes = len(anomalies), len(truth_keys)
    precision = hits / flagged if minutes and flagged else None
    recall = hits / minutes if minutes else None
    return pd.DataFrame({
        "anomalies": [flagged],
        "true_positives": [hits],
        "precision": pd.array([precision], dtype="Float64"),
        "recall": pd.array([recall], dtype="Float64"),
        "truth_minutes": [minutes],
        "scored_windows": [scored],
    })


HISTORY_COLUMNS = ["device_id", "window_start", "temperature_mean"]


def anomalies(inputs: Inputs, *, history: int = 60, min_history: int = 30, threshold: float = 4.0,
              state_dir: str | None = None, ctx: StepContext | None = None) -> Outputs:
    """The anomalies among ``windows``; with ``state_dir``, each device's last ``history`` windows of earlier
    runs are its history too (a stream's batches score as one run over all of them)."""
    from kernel import StateStore

    check_settings(history, min_history, threshold)
    windows = inputs["windows"]
    require(windows, "windows", tuple(HISTORY_COLUMNS))
    store = before = None
    made_from: str | None = None
    if state_dir is not None:
        store = StateStore(state_dir, format="kernel-iot-anomaly-history", version=1, roles=("history",),
                           what="anomaly history")
        salt = json.dumps(dict(ctx.params), sort_keys=True, default=str) if ctx is not None and ctx.params else None
        made_from = StateStore.fingerprint(windows, HISTORY_COLUMNS, salt)
        base = store.load(made_from)
        if base is not None and base.get("history_rows") != history:
            raise store.fail(f"the saved history keeps {base.get('history_rows')} windows per device, not "
                             f"{history}; use another state_dir, or delete this one to start over")
        before = store.read("history")
    mine = windows[HISTORY_COLUMNS].reset_index(drop=True)
    if isinstance(mine["device_id"].dtype, pd.CategoricalDtype):
        mine["device_id"] = mine["device_id"].astype("str")  # categories differ from batch to batch
    both = mine if before is None or not len(before) else pd.concat([before, mine], ignore_index=True)
    first = len(both) - len(mine)
    # Keys as the windows have them (their dtypes), not as the history was read back.
    found, scored = score(both, history, min_history, threshold, first, keys=windows)
    counts = pd.DataFrame({"windows": [len(mine)], "history": [first], "scored": [scored],
                           "anomalies": [len(found)]})
    if store is not None:
        order = np.lexsort((utc_ns(both["window_start"], "windows"), both["device_id"].to_numpy()))
        kept = both.take(order).groupby("device_id", sort=False, observed=True).tail(history)
        store.keep(store.stage({"history": kept.reset_index(drop=True)}, made_from, history_rows=history), ctx)
    return {"anomalies": found, "counts": counts}
