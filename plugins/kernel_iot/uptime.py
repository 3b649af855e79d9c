"""Device uptime (step 5 of the IoT showcase spec): step type ``iot.device_uptime``.

A window ``w`` (start ``ws``) of device ``d`` is *in service* iff ``installed_at <= ws`` and
(``decommissioned_at`` is null or ``ws + size <= decommissioned_at``), with ``ws`` in the period.
``up(d, w) = 1`` iff ``w`` is in service and its on-time window has ``online_records >= 1``.

In-service windows are counted, never listed: per device and day they are the epoch-aligned multiples of
the window size inside an interval, so one (devices x days) array of integer arithmetic replaces
10,080 rows per device and week. Up windows come from the ``windows`` frame in one pass (a ``bincount``).

The helpers at the top (timestamps as nanoseconds, the period, positions in the registry, one emission
per window) are shared with :mod:`kernel_iot.adoption`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from kernel import DataError, Inputs, Outputs, StepSettingsError, parse_duration

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

NAT = np.iinfo(np.int64).min
DAY = 86_400 * 10**9  # nanoseconds
RE_EMITTED = ("upsert", "update")  # emit kinds of window.tumbling that repeat a window already emitted


# ---- shared helpers -------------------------------------------------------------------------------------

def require(frame: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    """Fail with one line naming the input and the missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"input '{name}' has no column '{missing[0]}' (columns: {', '.join(map(str, frame.columns))})")


def utc_ns(column: pd.Series, name: str) -> Int64s:
    """A timestamp column as int64 nanoseconds since the epoch (UTC), :data:`NAT` for null.

    Inputs arrive in ms or ns resolution depending on the producer; everything is compared in ns.
    A zone-less column is read as UTC (registry rule, resolved detail 8).
    """
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        raise DataError(f"column '{column.name}' of input '{name}' is not a timestamp column ({column.dtype})")
    values: Int64s = pd.DatetimeIndex(column).as_unit("ns").asi8
    return values


def duration_ns(value: str, field: str) -> int:
    """A duration setting such as ``'1min'`` in nanoseconds; a number or nonsense names the setting."""
    nanos = (parse_duration(value) if isinstance(value, str) else None) or 0
    if nanos <= 0:
        raise StepSettingsError(f"{value!r} is not a positive duration (examples: '1min', '90s')", field=field)
    return nanos


def read_period(period: pd.DataFrame) -> tuple[int, int]:
    """``(period_start, period_end)`` in ns from the one-row ``period`` frame of ``iot.conform``."""
    require(period, "period", ("period_start", "period_end"))
    if len(period) != 1:
        raise DataError(f"input 'period' has {len(period)} rows; expected one row (period_start, period_end)")
    start = int(utc_ns(period["period_start"], "period")[0])
    end = int(utc_ns(period["period_end"], "period")[0])
    if NAT in (start, end) or end <= start:
        raise DataError("input 'period' needs period_start < period_end, both set")
    return start, end


def day_starts(start: int, end: int) -> Int64s:
    """The UTC day starts of every day that meets ``[start, end)``."""
    first = start - start % DAY
    return np.arange(first, end, DAY, dtype=np.int64)


def registry(devices: pd.DataFrame) -> pd.DataFrame:
    """The registry with one row per device (a repeated device_id keeps its first row, detail 8)."""
    require(devices, "devices", ("device_id", "model", "installed_at", "decommissioned_at"))
    if devices["device_id"].duplicated().any():
        devices = devices.drop_duplicates("device_id", keep="first")
    return devices.reset_index(drop=True)


def positions(ids: pd.Index, column: pd.Series) -> Int64s:
    """Each value's position in ``ids`` (the registry's device ids), -1 when it is not there.

    A categorical column (the window step keeps device_id categorical) is looked up once per category,
    not once per row: 10 million rows cost one ``take``.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        found = ids.get_indexer(column.cat.categories).astype(np.int64)
        return np.append(found, -1)[column.cat.codes.to_numpy()]  # code -1 (null) takes the -1 at the end
    return ids.get_indexer(pd.Index(column)).astype(np.int64)


def emitted_once(windows: pd.DataFrame) -> pd.DataFrame:
    """Each (device_id, window_start) once, with records >= 1; a re-emitted window keeps its last emission.

    In append mode without allowed lateness every window is emitted once, and the frame is used as is
    (no copy of ten million rows). The window step orders its output by emission batch, so the last row
    of a key is its last emission.
    """
    require(windows, "windows", ("device_id", "window_start", "records"))
    if "emit_kind" not in windows.columns or windows["emit_kind"].isin(RE_EMITTED).any():
        windows = windows.drop_duplicates(["device_id", "window_start"], keep="last")
    records = windows["records"].to_numpy(dtype=np.int64, na_value=0)
    return windows if bool((records >= 1).all()) else windows[records >= 1]


def check_window_size(windows: pd.DataFrame, size: int) -> None:
    """The uptime unit is the window: a setting that disagrees with the windows would count wrong units."""
    if "window_end" not in windows.columns or len(windows) == 0:
        return
    end, start = utc_ns(windows["window_end"], "windows"), utc_ns(windows["window_start"], "windows")
    wrong = np.flatnonzero(end - start != size)
    if len(wrong):
        found = pd.Timedelta(int(end[wrong[0]] - start[wrong[0]]))
        raise DataError(f"input 'windows' has windows of {found}, but setting 'window' is {pd.Timedelta(size)}")


# ---- the arithmetic -------------------------------------------------------------------------------------

def in_service_counts(installed: Int64s, decommissioned: Int64s, days: Int64s, start: int, end: int,
                      size: int) -> Int64s:
    """In-service windows per device (rows) and day (columns), counted arithmetically.

    The window starts in service on day k are the multiples of ``size`` in ``[lo, hi]`` with
    ``lo = max(day_k, period_start, installed_at)`` and
    ``hi = min(min(day_k + 1 day, period_end) - 1ns, decommissioned_at - size)``.
    A device with a null installed_at is never in service (``installed_at <= ws`` is not true of null).
    """
    day_lo = np.maximum(days, start)[None, :]
    day_hi = (np.minimum(days + DAY, end) - 1)[None, :]
    lo = np.maximum(day_lo, installed[:, None])
    cap = np.where(decommissioned == NAT, np.iinfo(np.int64).max, decommissioned - size)
    hi = np.minimum(day_hi, cap[:, None])
    first = -((-lo) // size)  # ceil
    last = hi // size  # floor
    counts = np.maximum(last - first + 1, 0)
    counts[installed == NAT, :] = 0
    return np.asarray(counts, dtype=np.int64)


def up_counts(windows: pd.DataFrame, ids: pd.Index, installed: Int64s, decommissioned: Int64s, days: Int64s,
              start: int, end: int, size: int) -> Int64s:
    """Up windows per device and day: in service, and the on-time window has online_records >= 1."""
    require(windows, "windows", ("online_records",))
    pos = positions(ids, windows["device_id"])
    ws = utc_ns(windows["window_start"], "windows")
    online = (windows["online_records"] >= 1).to_numpy(dtype=bool, na_value=False)
    keep = online & (pos >= 0) & (ws >= start) & (ws < end)
    pos, ws = pos[keep], ws[keep]
    del keep
    # Telemetry before installed_at is windowed (detail 9) but is not in service. Each device's first and last
    # window start in service, looked up per window: no null test nor subtraction as long as the windows.
    never = np.iinfo(np.int64).max
    first = np.where(installed == NAT, never, installed)
    last = np.where(decommissioned == NAT, never, decommissioned - size)
    serving = first[pos] <= ws
    serving &= ws <= last[pos]
    pos, ws = pos[serving], ws[serving]
    del serving
    ws -= days[0]
    ws //= DAY  # the day of each window
    pos *= len(days)
    pos += ws  # its cell
    del ws
    cells = np.bincount(pos, minlength=len(ids) * len(days))
    return cells.reshape(len(ids), len(days)).astype(np.int64)


def _ratio(up: Int64s, total: Int64s) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, up / np.maximum(total, 1), np.nan)


def fleet_row(up: int, total: int, per_device: Floats) -> pd.DataFrame:
    """The one-row fleet table: pooled uptime (sum/sum) and the mean of per-device uptime beside it."""
    return pd.DataFrame({
        "fleet_uptime_pooled": pd.array([up / total if total else None], dtype="Float64"),
        "fleet_uptime_mean_of_devices": pd.array([float(per_device.mean()) if len(per_device) else None],
                                                 dtype="Float64"),
        "in_service_windows": [total],
        "up_windows": [up],
        "devices": [len(per_device)],
    })


def combine_parts(parts: list[Mapping[str, pd.DataFrame]]) -> Outputs:
    """The outputs of the whole from those of parts split by device: rows in the whole's order (device_id,
    then day), and the fleet row computed again from every device, as :func:`device_uptime` computes it."""
    daily = pd.concat([p["daily"] for p in parts], ignore_index=True)
    by_day = pd.DatetimeIndex(daily["day"]).asi8
    daily = daily.iloc[np.lexsort((by_day, daily["device_id"].astype(str).to_numpy()))]
    per_device = pd.concat([p["devices"] for p in parts], ignore_index=True)
    per_device = per_device.iloc[np.argsort(per_device["device_id"].astype(str).to_numpy(), kind="stable")]
    per_device = per_device.reset_index(drop=True)
    fleet = fleet_row(int(per_device["up_windows"].sum()), int(per_device["in_service_windows"].sum()),
                      per_device["uptime"].to_numpy())
    return {"daily": daily.reset_index(drop=True), "devices": per_device, "fleet": fleet}


def device_uptime(inputs: Inputs, *, window: str = "1min") -> Outputs:
    """Uptime per device and day, per device over the period, and for the fleet (pooled and mean of devices)."""
    size = duration_ns(window, "settings.window")
    start, end = read_period(inputs["period"])
    reg = registry(inputs["devices"])
    windows = emitted_once(inputs["windows"])
    check_window_size(windows, size)
    ids = pd.Index(reg["device_id"])
    installed = utc_ns(reg["installed_at"], "devices")
    decommissioned = utc_ns(reg["decommissioned_at"], "devices")
    days = day_starts(start, end)

    service = in_service_counts(installed, decommissioned, days, start, end, size)
    up = up_counts(windows, ids, installed, decommissioned, days, start, end, size)

    order = np.argsort(ids.astype(str).to_numpy(), kind="stable")  # rows by device_id, then day
    device, day = np.nonzero(service[order] > 0)
    device = order[device]
    daily = pd.DataFrame({
        "device_id": reg["device_id"].take(device).reset_index(drop=True),
        "day": pd.Series(days[day].astype("M8[ns]")).dt.tz_localize("UTC").dt.as_unit("ms"),
        "model": reg["model"].take(device).reset_index(drop=True),
        "in_service_windows": service[device, day],
        "up_windows": up[device, day],
    })
    daily["uptime"] = _ratio(daily["up_windows"].to_numpy(), daily["in_service_windows"].to_numpy())

    total, up_total = service.sum(axis=1)[order], up.sum(axis=1)[order]
    serving = order[total > 0]
    per_device = pd.DataFrame({
        "device_id": reg["device_id"].take(serving).reset_index(drop=True),
        "model": reg["model"].take(serving).reset_index(drop=True),
        "in_service_windows": total[total > 0],
        "up_windows": up_total[total > 0],
    })
    per_device["uptime"] = _ratio(per_device["up_windows"].to_numpy(), per_device["in_service_windows"].to_numpy())
    fleet = fleet_row(int(per_device["up_windows"].sum()), int(per_device["in_service_windows"].sum()),
                      per_device["uptime"].to_numpy())
    return {"daily": daily, "devices": per_device, "fleet": fleet}
