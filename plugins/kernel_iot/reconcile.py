"""Reconcile (step 3 of the IoT showcase spec): step type ``iot.reconcile``.

Three cross-checks of registry, events and telemetry, each a table, and one row of their counts:

* silent devices: at least one in-service window in the period (step 5's definition) and no conformed
  telemetry with an event time in the period (resolved detail 15);
* events for unknown devices: the events conform quarantined with reason ``unknown_device``;
* firmware mismatches: a window of the period whose last firmware differs from the ``to_version`` of the
  device's latest successful FIRMWARE_UPDATE with event time at or before the window's last record; a
  window with no earlier update is never a mismatch (detail 12).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from kernel import DataError, Inputs, Outputs, StepSettingsError
from kernel_iot.conform import HEARD_COLUMNS, NAT, device_codes, duration, millis
from kernel_iot.uptime import require

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
RE_EMITTED = ("upsert", "update")  # emit kinds of window.tumbling that repeat a window


def period_bounds(period: pd.DataFrame) -> tuple[int, int]:
    """``(period_start, period_end)`` in ms from conform's one-row ``period``."""
    if len(period) != 1 or not {"period_start", "period_end"} <= set(period.columns):
        raise DataError("input 'period' must be one row with period_start and period_end")
    start, end = int(millis(period["period_start"])[0]), int(millis(period["period_end"])[0])
    if NAT in (start, end) or end <= start:
        raise DataError("input 'period' needs period_start < period_end, both set")
    return start, end


def in_service_windows(devices: pd.DataFrame, start: int, end: int, size: int) -> Int64s:
    """In-service windows of each device in the period, counted arithmetically (step 5 of the spec).

    The in-service window starts are the multiples of ``size`` in ``[lo, hi]`` with
    ``lo = max(period_start, installed_at)`` and ``hi = min(period_end - 1ms, decommissioned_at - size)``;
    a device without installed_at is never in service.
    """
    installed, decom = millis(devices["installed_at"]), millis(devices["decommissioned_at"])
    lo = np.maximum(installed, start)
    hi = np.minimum(end - 1, np.where(decom == NAT, np.iinfo(np.int64).max, decom - size))
    counts = np.maximum(hi // size - (-(-lo // size)) + 1, 0)
    counts[installed == NAT] = 0
    out: Int64s = np.asarray(counts, dtype=np.int64)
    return out


def silent_devices(devices: pd.DataFrame, heard: pd.DataFrame, start: int, end: int, size: int) -> pd.DataFrame:
    """Devices in service in the period that sent no conformed telemetry with an event time in it (detail 15).

    ``heard`` is conform's summary of the conformed telemetry (:func:`kernel_iot.conform.heard_of`), whose
    records in the period were counted in the same period."""
    require(heard, "heard", HEARD_COLUMNS)
    serving = in_service_windows(devices, start, end, size)
    known = heard["device_id"].notna().to_numpy(dtype=bool)
    spoke = known & (heard["records_in_period"].to_numpy(dtype=np.int64) > 0)
    silent = (serving > 0) & ~pd.Index(devices["device_id"]).isin(pd.Index(heard["device_id"][spoke]))
    out: pd.DataFrame = devices[silent].reset_index(drop=True)
    out["in_service_windows"] = serving[silent]
    # When each silent device was last heard of at all, in the period or not.
    last = heard["last_event_time"][known].groupby(heard["device_id"][known].astype(str)).max()
    heard_of = last.reindex(pd.Index(out["device_id"]).astype(str)).astype("datetime64[ms, UTC]")
    out["last_event_time"] = pd.Series(heard_of.array, index=out.index)
    return out


def unknown_device_events(quarantine_events: pd.DataFrame) -> pd.DataFrame:
    """The events conform quarantined because their device is not in the registry."""
    if "reason" not in quarantine_events.columns:
        raise DataError("input 'quarantine_events' has no column 'reason'")
    unknown = quarantine_events["reason"] == "unknown_device"
    return quarantine_events[unknown.to_numpy(dtype=bool)].drop(columns="reason").reset_index(drop=True)


def successful_updates(events: pd.DataFrame) -> pd.DataFrame:
    """Successful FIRMWARE_UPDATE events with a to_version, ordered by (event_time, ingest_time, event_id).

    That order decides between two updates at the same event time: the one ingested last is the latest.
    """
    ok = ((events["event_type"] == "FIRMWARE_UPDATE").to_numpy(dtype=bool)
          & events["success"].astype("boolean").fillna(False).to_numpy(dtype=bool)
          & events["to_version"].notna().to_numpy(dtype=bool))
    updates = events.loc[ok, ["event_id", "device_id", "event_time", "ingest_time", "to_version"]]
    return updates.sort_values(["event_time", "ingest_time", "event_id"], kind="stable").reset_index(drop=True)


def period_windows(windows: pd.DataFrame, start: int, end: int) -> Int64s:
    """Rows of the windows of the period, each (device_id, window_start) once (its last emission).

    Positions, not a filtered copy: the windows frame has about as many rows as the telemetry.
    """
    missing = {"device_id", "window_start", "last_event_time", "last_firmware_version"} - set(windows.columns)
    if missing:
        raise DataError(f"input 'windows' has no column '{sorted(missing)[0]}'")
    ws = millis(windows["window_start"])
    inside = (ws >= start) & (ws < end)
    if "emit_kind" not in windows.columns or windows["emit_kind"].isin(RE_EMITTED).any():
        inside &= ~windows.duplicated(["device_id", "window_start"], keep="last").to_numpy()
    return np.flatnonzero(inside)


def firmware_mismatches(windows: pd.DataFrame, rows: Int64s, updates: pd.DataFrame) -> pd.DataFrame:
    """Windows (at ``rows``) whose last firmware is not the to_version of the latest update at or before
    their last record (detail 12), with that update."""
    update_ids = pd.Index(updates["device_id"].astype(str).unique())
    codes, ids = device_codes(windows["device_id"])
    pos = np.append(update_ids.get_indexer(pd.Index(ids).astype(str)), -1)[codes[rows]]
    del codes
    last = millis(windows["last_event_time"])[rows]
    window_rows, update_rows = latest_before(pos, last, update_ids.get_indexer(updates["device_id"].astype(str)),
                                             millis(updates["event_time"]))
    window_rows = rows[window_rows]
    differs = _differ(windows["last_firmware_version"], window_rows, updates["to_version"].astype("str"),
                      update_rows)
    window_rows, update_rows = window_rows[differs], update_rows[differs]
    found, update = windows.take(window_rows), updates.take(update_rows)
    out = pd.DataFrame({
        "device_id": found["device_id"].astype("str").to_numpy(),
        "window_start": found["window_start"].reset_index(drop=True),
        "last_event_time": found["last_event_time"].reset_index(drop=True),
        "last_firmware_version": found["last_firmware_version"].astype("str").reset_index(drop=True),
        "expected_version": update["to_version"].astype("str").reset_index(drop=True),
        "update_event_id": update["event_id"].astype("str").to_numpy(),
        "update_event_time": update["event_time"].reset_index(drop=True),
    })
    return out.sort_values(["device_id", "window_start"], kind="stable").reset_index(drop=True)


def latest_before(dev: Int64s, t: Int64s, update_dev: Int64s, update_t: Int64s) -> tuple[Int64s, Int64s]:
    """For each record ``(dev, t)`` with an update of the same device at or before ``t``: its position, and
    the position of the latest such update (of several at the same time, the last in the updates' order).

    One binary search per record among the updates sorted by (device, time), which are few: no sort or
    merge of the records, which are as many as the windows. ``dev`` -1 has no update."""
    if not len(update_t) or not len(t):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = min(int(update_t.min()), int(t.min()))
    span = max(int(update_t.max()), int(t.max())) - low + 1
    devices = int(update_dev.max()) + 1
    if span * (devices + 1) >= 1 << 62:  # times too far apart to share one int64 key with the device
        return _latest_before_merge(dev, t, update_dev, update_t)
    keys = update_dev * span + (update_t - low)
    order = np.argsort(keys, kind="stable")  # stable: updates at the same time keep their order
    keys = keys[order]
    query = dev * span
    query += t
    query -= low
    found = np.searchsorted(keys, query, side="right")
    del query
    found -= 1  # the last update at or before: -1 when there is none
    # The update found must be the record's own device's (else every update of that device is later); -1
    # picks the sentinel, which is no device.
    owner = np.append(update_dev[order], -2)
    records = np.flatnonzero(owner[found] == dev)
    return records, order[found[records]]


_CHUNK = 1 << 20  # versions compared this many at a time: the text of ten million windows is never copied


def _differ(firmware: pd.Series, rows: Int64s, expected: pd.Series, at: Int64s) -> Bools:
    """Whether ``firmware`` at ``rows``, as text, differs from ``expected`` at ``at`` (a null differs)."""
    if isinstance(firmware.dtype, pd.CategoricalDtype):
        # as codes: each expected version is looked up among the categories once (-1: none of them, or null)
        held = firmware.cat.codes.to_numpy()[rows]
        wanted = pd.Index(firmware.cat.categories).get_indexer(expected)[at]
        found: Bools = (held != wanted) | (held < 0)
        return found
    differs = np.empty(len(rows), dtype=bool)
    for low in range(0, len(rows), _CHUNK):
        mine = firmware.take(rows[low:low + _CHUNK]).astype("str").reset_index(drop=True)
        theirs = expected.take(at[low:low + _CHUNK]).reset_index(drop=True)
        differs[low:low + _CHUNK] = (mine != theirs).to_numpy(dtype=bool)
    return differs


def _latest_before_merge(dev: Int64s, t: Int64s, update_dev: Int64s, update_t: Int64s
                         ) -> tuple[Int64s, Int64s]:
    """:func:`latest_before` by pandas' ``merge_asof``, for times too far apart for one int64 key."""
    mine = np.flatnonzero(dev >= 0)
    left = pd.DataFrame({"t": t[mine], "dev": dev[mine], "record": mine}).sort_values("t", kind="stable")
    right = pd.DataFrame({"t": update_t, "dev": update_dev, "update": np.arange(len(update_t))})
    right = right.sort_values("t", kind="stable")
    matched = pd.merge_asof(left, right, on="t", by="dev", direction="backward", allow_exact_matches=True)
    matched = matched[matched["update"].notna()]
    return (matched["record"].to_numpy(dtype=np.int64), matched["update"].to_numpy(dtype=np.int64))


def window_size(window: str) -> int:
    """The window size setting in ms; it must be the window step's size for in-service counts to agree."""
    size = duration(window)
    if size is None or size <= pd.Timedelta(0) or size.value % 1_000_000:
        raise StepSettingsError(f"{window!r} is not a positive whole number of milliseconds (example: '1min')",
                                field="settings.window")
    return int(size.value // 1_000_000)


def reconcile(inputs: Inputs, *, window: str = "1min") -> Outputs:
    """Silent devices, events of unknown devices and firmware mismatches, as tables and one row of counts."""
    size = window_size(window)
    start, end = period_bounds(inputs["period"])
    devices = inputs["devices"].drop_duplicates("device_id", keep="first").reset_index(drop=True)
    silent = silent_devices(devices, inputs["heard"], start, end, size)
    unknown = unknown_device_events(inputs["quarantine_events"])
    windows = inputs["windows"]
    rows = period_windows(windows, start, end)
    mismatches = firmware_mismatches(windows, rows, successful_updates(inputs["events"]))
    summary = pd.DataFrame({
        "devices": [len(devices)],
        "devices_in_service": [int((in_service_windows(devices, start, end, size) > 0).sum())],
        "silent_devices": [len(silent)],
        "unknown_device_events": [len(unknown)],
        "unknown_event_devices": [int(unknown["device_id"].nunique())],
        "windows_checked": [len(rows)],
        "firmware_mismatches": [len(mismatches)],
        "mismatched_devices": [int(mismatches["device_id"].nunique())],
    })
    return {"silent_devices": silent, "unknown_device_events": unknown, "firmware_mismatches": mismatches,
            "summary": summary}
