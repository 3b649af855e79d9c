"""Firmware adoption (step 6 of the IoT showcase spec): step type ``iot.firmware_adoption``.

Per day D of the period and per model: the active devices (at least one up window in D) whose firmware
``fw(d, D)`` equals the model's target, over the active devices. Anomalies ride along in the same step
(:mod:`kernel_iot.anomalies`), as the spec's step 6 has them.

``fw(d, D)`` is the version named by the device's latest *source* strictly before the end of D (detail 10):
a source is an on-time window (time = its last record's event time, version = its last firmware) or a
successful FIRMWARE_UPDATE event (time = event time, version = to_version); at equal times the update wins.
It is computed without a sort of the ten million windows: the sources fall into (device, day) cells, ``ufunc.at``
reductions pick each cell's latest source, and a running maximum over the days carries a
device's firmware forward to the days without a source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from kernel import Inputs, Outputs, StepSettingsError
from kernel_iot.anomalies import check_settings, precision_recall, score
from kernel_iot.conform import HEARD_COLUMNS
from kernel_iot.uptime import (
    DAY,
    NAT,
    Bools,
    Int64s,
    day_starts,
    emitted_once,
    positions,
    read_period,
    registry,
    require,
    utc_ns,
)

_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")  # detail 3: no 'v', no pre-release
ALL = "ALL"


def version_key(value: object) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of a valid version (compared numerically, detail 3), else ``None``."""
    if not isinstance(value, str) or _VERSION.fullmatch(value) is None:
        return None
    major, minor, patch = value.split(".")
    return int(major), int(minor), int(patch)


def highest(versions: Iterable[object]) -> str | None:
    """The highest valid version (3.10.2 > 3.9.0); the text breaks a numeric tie ('1.02.0' vs '1.2.0')."""
    valid = [(key, v) for v in versions if isinstance(v, str) and (key := version_key(v)) is not None]
    return max(valid)[1] if valid else None


def same_version(a: object, b: object) -> bool:
    """Equal as versions: numerically when both are valid, else as text (a malformed one equals nothing valid)."""
    ka, kb = version_key(a), version_key(b)
    if ka is not None and kb is not None:
        return ka == kb
    return isinstance(a, str) and a == b


def successful_updates(events: pd.DataFrame) -> pd.DataFrame:
    """Successful FIRMWARE_UPDATE events that name a version and a time (a null success is not a success)."""
    require(events, "events", ("device_id", "event_time", "event_type", "to_version", "success"))
    ok = ((events["event_type"].astype("object") == "FIRMWARE_UPDATE")
          & events["success"].astype("boolean").fillna(False)
          & events["to_version"].notna() & events["event_time"].notna())
    return events[ok.to_numpy(dtype=bool)]


# ---- fw(d, D) ---------------------------------------------------------------------------------------------

def firmware_by_day(windows: pd.DataFrame, updates: pd.DataFrame, ids: pd.Index, days: Int64s) -> np.ndarray:
    """``fw(d, D)`` as an object array (devices x days), ``None`` where the device has no source yet."""
    require(windows, "windows", ("last_event_time", "last_firmware_version"))
    ends = days + DAY
    cells = len(ids) * len(days)

    def cells_of(pos: Int64s, time: Int64s, usable: Bools) -> Int64s:
        """Each source's (device, day) cell, ``cells`` (a cell read by nobody) where it counts for none."""
        # A source counts for day k iff time < end(k): bucket = number of day ends at or before its time.
        bucket = np.searchsorted(ends, time, side="right")
        usable = usable & (pos >= 0) & (time != NAT) & (bucket < len(days))
        pos *= len(days)
        pos += bucket
        pos[~usable] = cells
        return pos

    # Windows and updates are reduced one after the other, without concatenating ten million rows.
    w_time = utc_ns(windows["last_event_time"], "windows")
    w_cell = cells_of(positions(ids, windows["device_id"]), w_time,
                      windows["last_firmware_version"].notna().to_numpy(dtype=bool))
    u_time = utc_ns(updates["event_time"], "events")
    u_cell = cells_of(positions(ids, updates["device_id"]), u_time, np.ones(len(updates), dtype=bool))
    latest = np.full(cells + 1, NAT, dtype=np.int64)
    np.maximum.at(latest, w_cell, w_time)
    np.maximum.at(latest, u_cell, u_time)
    # Among the latest sources of a cell, an update beats a window (detail 10), then the later row wins:
    # windows rank by row, updates above them all.
    n_windows, total = len(windows), len(windows) + len(updates)
    best_flat = np.full(cells + 1, -1, dtype=np.int64)
    w_hit = np.flatnonzero((w_time == latest[w_cell]) & (w_cell < cells))
    np.maximum.at(best_flat, w_cell[w_hit], w_hit)
    u_hit = np.flatnonzero((u_time == latest[u_cell]) & (u_cell < cells))
    np.maximum.at(best_flat, u_cell[u_hit], total + n_windows + u_hit)
    del w_time, w_cell, u_time, u_cell, latest, w_hit, u_hit
    best = best_flat[:cells].reshape(len(ids), len(days))
    # Carry each device's latest source forward over the days that have none.
    day_of_best = np.maximum.accumulate(np.where(best >= 0, np.arange(len(days)), -1), axis=1)
    chosen = np.where(day_of_best >= 0, np.take_along_axis(best, np.maximum(day_of_best, 0), axis=1), -1)
    chosen = np.where(chosen >= total, chosen - total, chosen)

    fw = np.full(chosen.shape, None, dtype=object)
    from_window = (chosen >= 0) & (chosen < n_windows)
    from_update = chosen >= n_windows
    # Only the chosen rows become Python strings (all ten million would cost more than the rest together).
    fw[from_window] = windows["last_firmware_version"].take(chosen[from_window]).to_numpy(dtype=object)
    fw[from_update] = updates["to_version"].take(chosen[from_update] - n_windows).to_numpy(dtype=object)
    return fw


# ---- targets ----------------------------------------------------------------------------------------------

def telemetry_versions(heard: pd.DataFrame, late: pd.DataFrame, ids: pd.Index, wanted: Bools,
                       start: int, end: int) -> dict[int, set[str]]:
    """The distinct firmware versions per device position, for the devices ``wanted``, event time in the
    period: of the conformed telemetry from conform's summary ``heard`` (its records counted in the same
    period), and of the ``late`` records."""
    found: dict[int, set[str]] = {}
    require(heard, "heard", HEARD_COLUMNS)
    pos = positions(ids, heard["device_id"])
    keep = (pos >= 0) & (heard["records_in_period"].to_numpy(dtype=np.int64) > 0)
    keep &= heard["firmware_version"].notna().to_numpy(dtype=bool)
    keep[keep] = wanted[pos[keep]]
    for p, version in zip(pos[keep].tolist(), heard["firmware_version"][keep], strict=True):
        found.setdefault(p, set()).add(str(version))
    require(late, "late", ("device_id", "event_time", "firmware_version"))
    pos = positions(ids, late["device_id"])
    t = utc_ns(late["event_time"], "late")
    keep = (pos >= 0) & (t >= start) & (t < end)
    keep[keep] = wanted[pos[keep]]
    # Factorize the versions once, then reduce to distinct (device, version) pairs in integers.
    codes, versions = pd.factorize(late["firmware_version"][keep])
    pairs = np.unique(pos[keep][codes >= 0] * max(len(versions), 1) + codes[codes >= 0])
    for p, c in zip(pairs // max(len(versions), 1), pairs % max(len(versions), 1), strict=True):
        found.setdefault(int(p), set()).add(str(versions[c]))
    return found


def choose_targets(reg: pd.DataFrame, updates: pd.DataFrame, heard: pd.DataFrame, late: pd.DataFrame,
                   param: Mapping[str, str] | None, start: int, end: int) -> pd.DataFrame:
    """target(model): the setting, else the highest successful update in the period, else the highest
    version in the model's telemetry in the period (conformed and late, detail 11)."""
    ids = pd.Index(reg["device_id"])
    model_of = reg["model"].to_numpy(dtype=object)
    models = sorted({str(m) for m in model_of if m is not None and not pd.isna(m)} | set(param or {}))
    t = utc_ns(updates["event_time"], "events")
    pos = positions(ids, updates["device_id"])
    inside = (pos >= 0) & (t >= start) & (t < end)
    update_versions: dict[str, list[object]] = {}
    for p, v in zip(pos[inside], updates["to_version"].to_numpy(dtype=object)[inside], strict=True):
        update_versions.setdefault(str(model_of[p]), []).append(v)

    chosen: dict[str, tuple[str | None, str | None]] = {}
    for model in models:
        if param and model in param:
            chosen[model] = (param[model], "param")
        elif (found := highest(update_versions.get(model, []))) is not None:
            chosen[model] = (found, "updates")
    fallback = [m for m in models if m not in chosen]
    if fallback:  # a pass over the late records (and conform's small summary): only for models that need it
        wanted = np.isin(model_of.astype(str), fallback)
        per_device = telemetry_versions(heard, late, ids, wanted, start, end)
        for model in fallback:
            versions = {v for p, vs in per_device.items() if str(model_of[p]) == model for v in vs}
            found = highest(versions)
            chosen[model] = (found, "telemetry" if found is not None else None)
    return pd.DataFrame({"model": pd.Series(models, dtype="str"),
                         "target": pd.Series([chosen[m][0] for m in models], dtype="str"),
                         "source": pd.Series([chosen[m][1] for m in models], dtype="str")})


# ---- adoption ---------------------------------------------------------------------------------------------

def adoption_table(daily: pd.DataFrame, reg: pd.DataFrame, fw: np.ndarray, targets: pd.DataFrame,
                   days: Int64s) -> pd.DataFrame:
    """Per day and model (and 'ALL'): active devices, those on the target, and the share (detail 16)."""
    require(daily, "daily", ("device_id", "day", "up_windows"))
    ids = pd.Index(reg["device_id"])
    active = daily[daily["up_windows"].to_numpy(dtype=np.int64, na_value=0) > 0]
    pos = positions(ids, active["device_id"])
    k = np.searchsorted(days, utc_ns(active["day"], "daily"))
    known = (pos >= 0) & (k < len(days))
    known[known] &= days[k[known]] == utc_ns(active["day"], "daily")[known]
    pos, k = pos[known], k[known]
    model = reg["model"].to_numpy(dtype=object)[pos]
    target_of = dict(zip(targets["model"], targets["target"], strict=True))
    adopted = np.array([same_version(f, target_of.get(str(m))) for f, m in zip(fw[pos, k], model, strict=True)],
                       dtype=bool)
    rows = pd.DataFrame({"k": k, "model": model.astype(str), "adopted": adopted})
    per_model = rows.groupby(["k", "model"], sort=True)["adopted"].agg(["size", "sum"]).reset_index()
    pooled = rows.groupby("k", sort=True)["adopted"].agg(["size", "sum"]).reset_index().assign(model=ALL)
    # Each day's pooled row first, then the models in name order.
    table = pd.concat([pooled.assign(pooled=0), per_model.assign(pooled=1)], ignore_index=True)
    table = table.sort_values(["k", "pooled", "model"], kind="stable")
    out = pd.DataFrame({
        "day": pd.Series(days[table["k"].to_numpy()].astype("M8[ns]")).dt.tz_localize("UTC").dt.as_unit("ms"),
        "model": pd.Series(table["model"].to_numpy(), dtype="str"),
        "target": pd.Series([None if m == ALL else target_of.get(m) for m in table["model"]], dtype="str"),
        "active_devices": table["size"].to_numpy(dtype=np.int64),
        "adopted_devices": table["sum"].to_numpy(dtype=np.int64),
    })
    out["adoption"] = out["adopted_devices"] / out["active_devices"]
    return out


def firmware_adoption(inputs: Inputs, *, firmware_targets: dict[str, str] | None = None,
                      anomaly_history: int = 60, anomaly_min_history: int = 30,
                      anomaly_threshold: float = 4.0) -> Outputs:
    """Firmware adoption per day and model against each model's target; temperature anomalies beside it."""
    for model, version in (firmware_targets or {}).items():
        if version_key(version) is None:
            raise StepSettingsError(f"{version!r} is not a version MAJOR.MINOR.PATCH",
                                    field=f"settings.firmware_targets.{model}")
    check_settings(anomaly_history, anomaly_min_history, anomaly_threshold)
    start, end = read_period(inputs["period"])
    days = day_starts(start, end)
    reg = registry(inputs["devices"])
    windows = emitted_once(inputs["windows"])
    updates = successful_updates(inputs["events"])

    fw = firmware_by_day(windows, updates, pd.Index(reg["device_id"]), days)
    targets = choose_targets(reg, updates, inputs["heard"], inputs["late"], firmware_targets, start, end)
    adoption = adoption_table(inputs["daily"], reg, fw, targets, days)
    anomalies, scored = score(windows, anomaly_history, anomaly_min_history, anomaly_threshold)
    return {"adoption": adoption, "targets": targets, "anomalies": anomalies,
            "anomaly_scores": precision_recall(anomalies, inputs["truth"], scored)}
