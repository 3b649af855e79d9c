"""What happens to the fleet over the period, decided before any record is made.

Spells (DEGRADED, reported OFFLINE, silent gaps) are minute intervals; the firmware rollout sets when each
device's version changes; spikes are (device, minute) pairs; backlogs and the flood are times. Events are
made here too, from the same decisions, so telemetry and events agree. Per-record work is left to
:mod:`kernel_iot.gen_telemetry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kernel_iot.gen_fleet import DAY_MS, HOUR_MS, I64, MINUTE_MS, NEVER, Fleet
from kernel_iot.gen_params import GeneratorParams, share_count
from kernel_iot.schemas import EVENT_TYPE_SYMBOLS

DEGRADED, OFFLINE, GAP = 0, 1, 2  # interval kinds
_ERRORS = ("sensor read timeout", "flash write retry", "i2c bus error", "low memory")


@dataclass(slots=True)
class _Events:
    """Event columns, appended to while the schedule is made."""

    dev: list[int] = field(default_factory=list)
    time: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    from_version: list[str | None] = field(default_factory=list)
    to_version: list[str | None] = field(default_factory=list)
    success: list[bool | None] = field(default_factory=list)
    detail: list[str | None] = field(default_factory=list)

    def add(self, dev: int, time: int, kind: str, detail: str | None = None, *, from_version: str | None = None,
            to_version: str | None = None, success: bool | None = None) -> None:
        assert kind in EVENT_TYPE_SYMBOLS
        self.dev.append(dev)
        self.time.append(time)
        self.kind.append(kind)
        self.from_version.append(from_version)
        self.to_version.append(to_version)
        self.success.append(success)
        self.detail.append(detail)


@dataclass(frozen=True, slots=True)
class Schedule:
    iv_dev: I64  # intervals [iv_start, iv_end) in minutes since the period start
    iv_start: I64
    iv_end: I64
    iv_kind: I64
    fw_change: I64  # when telemetry starts reporting fw_new (NEVER: no change)
    fw_new: I64
    spike_dev: I64
    spike_minute: I64
    spike_delta: np.ndarray[Any, np.dtype[np.float64]]
    backlog_site: I64
    backlog_start: I64
    backlog_end: I64
    flood_start: int
    events: list[dict[str, Any]]  # sorted by ingest_time, with event ids
    updates: dict[str, int]  # attempts, failed, rolled_back


def make_schedule(fleet: Fleet, params: GeneratorParams, rng: np.random.Generator) -> Schedule:
    ev = _Events()
    ivs: list[tuple[I64, I64, I64, int]] = []
    total = len(fleet.ids)
    fw_change = np.full(total, NEVER, np.int64)
    fw_new = fleet.fw_initial.copy()
    reporting = np.flatnonzero(fleet.registered & (fleet.emit_end > fleet.emit_start))
    _spells(fleet, params, reporting, ev, ivs, rng)
    updates = _rollout(fleet, params, reporting, fw_change, fw_new, ev, ivs, rng)
    _odd_devices(fleet, ev)

    period = fleet.days * DAY_MS
    b = params.network.backlogs
    length = min(int(params.network.backlog_min * MINUTE_MS), period // 2)
    backlog_start = fleet.start_ms + (rng.uniform(0.1, 0.9, b) * (period - length)).astype(np.int64)
    flood_start = fleet.start_ms + int(rng.uniform(0.1, 0.9) * period)
    flood_start = min(flood_start, fleet.start_ms + (flood_start - fleet.start_ms) // DAY_MS * DAY_MS
                      + DAY_MS - int(params.fleet.flood_minutes * MINUTE_MS) - MINUTE_MS)
    if params.fleet.flood_records > 0:
        ev.add(fleet.flood, flood_start, "CONNECT")
        ev.add(fleet.flood, flood_start + MINUTE_MS, "ERROR", "client id collision")

    spike_dev, spike_minute = _spikes(fleet, params, reporting, rng)
    spike_delta = params.temperature.spike_c * rng.uniform(0.8, 1.2, spike_dev.size)

    def cat(i: int) -> I64:
        return np.concatenate([iv[i] for iv in ivs]).astype(np.int64)

    kinds = np.concatenate([np.full(iv[0].size, iv[3]) for iv in ivs])
    return Schedule(
        iv_dev=cat(0), iv_start=cat(1), iv_end=cat(2), iv_kind=kinds.astype(np.int64),
        fw_change=fw_change, fw_new=fw_new, spike_dev=spike_dev, spike_minute=spike_minute,
        spike_delta=np.round(spike_delta, 2), backlog_site=rng.integers(0, len(params.fleet.sites), b),
        backlog_start=backlog_start, backlog_end=backlog_start + length, flood_start=flood_start,
        events=_finish_events(fleet, params, ev, rng), updates=updates,
    )


def _minute(fleet: Fleet, ms: I64) -> I64:
    return (ms - fleet.start_ms) // MINUTE_MS


def _spells(fleet: Fleet, params: GeneratorParams, reporting: I64, ev: _Events,
            ivs: list[tuple[I64, I64, I64, int]], rng: np.random.Generator) -> None:
    knobs = params.availability
    lo, hi = _minute(fleet, fleet.emit_start[reporting]), _minute(fleet, fleet.emit_end[reporting])
    span_days = (hi - lo) / 1440

    def draw(per_day: float) -> tuple[I64, I64]:
        counts = rng.poisson(per_day * span_days)
        rows = np.repeat(np.arange(reporting.size), counts)
        starts = lo[rows] + (rng.random(rows.size) * (hi[rows] - lo[rows])).astype(np.int64)
        return rows, starts

    rows, starts = draw(knobs.offline_per_day)
    length = np.clip(rng.lognormal(np.log(knobs.offline_median_min), knobs.offline_sigma, rows.size),
                     2, knobs.offline_max_min).astype(np.int64)
    reported = rng.random(rows.size) < knobs.offline_reported_share
    dev = reporting[rows]
    ivs.append((dev[reported], starts[reported], starts[reported] + length[reported], OFFLINE))
    ivs.append((dev[~reported], starts[~reported], starts[~reported] + length[~reported], GAP))
    at = fleet.start_ms + starts * MINUTE_MS + fleet.phase[dev]
    for d, t, n, end in zip(dev.tolist(), at.tolist(), length.tolist(), fleet.emit_end[dev].tolist(), strict=True):
        ev.add(d, t, "DISCONNECT", "connection lost")
        if t + n * MINUTE_MS < end:
            ev.add(d, t + n * MINUTE_MS - 1000, "CONNECT")

    rows, starts = draw(knobs.degraded_per_day)
    length = np.clip(rng.lognormal(np.log(knobs.degraded_median_min), 1.0, rows.size), 3, 8 * 60).astype(np.int64)
    ivs.append((reporting[rows], starts, starts + length, DEGRADED))

    rows, starts = draw(knobs.reboot_per_day)
    dev = reporting[rows]
    ivs.append((dev, starts, starts + rng.integers(1, 3, rows.size), GAP))
    at = fleet.start_ms + starts * MINUTE_MS + fleet.phase[dev] - 1000
    for d, t in zip(dev.tolist(), at.tolist(), strict=True):
        ev.add(d, t, "REBOOT", "watchdog reset")

    rows, starts = draw(knobs.error_per_day)
    dev = reporting[rows]
    at = fleet.start_ms + starts * MINUTE_MS + rng.integers(0, MINUTE_MS, rows.size)
    for d, t, e in zip(dev.tolist(), at.tolist(), rng.integers(0, len(_ERRORS), rows.size).tolist(), strict=True):
        ev.add(d, t, "ERROR", _ERRORS[e])


def _rollout(fleet: Fleet, params: GeneratorParams, reporting: I64, fw_change: I64, fw_new: I64, ev: _Events,
             ivs: list[tuple[I64, I64, I64, int]], rng: np.random.Generator) -> dict[str, int]:
    knobs = params.firmware
    period = fleet.days * DAY_MS
    waves = np.cumsum(np.array(knobs.wave_shares) / sum(knobs.wave_shares))
    attempts: list[tuple[int, int, int]] = []  # device, time, target version
    for m, spec in enumerate(params.fleet.models):
        if spec.target is None:
            continue
        devs = rng.permutation(reporting[fleet.model[reporting] == m])
        offered = devs[:share_count(knobs.rollout_share, devs.size)]
        # Wave w of the staged rollout runs over its share of the rollout window.
        wave = np.searchsorted(waves, (np.arange(offered.size) + 0.5) / max(offered.size, 1))
        window = knobs.rollout_end - knobs.rollout_start
        frac = knobs.rollout_start + window * (wave + rng.random(offered.size)) / len(waves)
        at = fleet.start_ms + (frac * period).astype(np.int64)
        ok = (at >= fleet.emit_start[offered] + 2 * HOUR_MS) & (at < fleet.emit_end[offered] - HOUR_MS)
        target = fleet.versions.index(spec.target)
        attempts += [(d, t, target) for d, t in zip(offered[ok].tolist(), at[ok].tolist(), strict=True)]

    failed = np.zeros(len(attempts), bool)
    failed[rng.permutation(len(attempts))[:share_count(knobs.failure_share, len(attempts))]] = True
    retries: list[tuple[int, int, int]] = []
    for (dev, t, target), fail in zip(attempts, failed.tolist(), strict=True):
        later = t + int(rng.integers(2 * HOUR_MS, 12 * HOUR_MS))
        if fail and rng.random() < knobs.retry_share and later < fleet.emit_end[dev] - HOUR_MS:
            retries.append((dev, later, target))
    retry_failed = (rng.random(len(retries)) < knobs.failure_share).tolist()
    done = list(zip(attempts + retries, failed.tolist() + retry_failed, strict=True))
    succeeded = [i for i, (_, fail) in enumerate(done) if not fail]
    rolled = {succeeded[i] for i in rng.permutation(len(succeeded))[:share_count(knobs.rollback_share,
                                                                                  len(succeeded))]}
    gaps = rng.integers(1, 4, len(done))
    for i, ((dev, t, target), fail) in enumerate(done):
        old, new = fleet.versions[int(fleet.fw_initial[dev])], fleet.versions[target]
        detail = "image verification failed" if fail else None
        ev.add(dev, t, "FIRMWARE_UPDATE", detail, from_version=old, to_version=new, success=not fail)
        ev.add(dev, t + int(rng.integers(15_000, 60_000)), "REBOOT", "firmware update")
        if i in rolled:  # the event says success; telemetry keeps reporting the old version
            ev.add(dev, t + 3 * MINUTE_MS, "ERROR", f"boot failed on {new}, rolled back to {old}")
        elif not fail:
            fw_change[dev], fw_new[dev] = t, target
    minute = _minute(fleet, np.array([t for (_, t, _), _ in done], np.int64))
    devs = np.array([d for (d, _, _), _ in done], np.int64)
    ivs.append((devs, minute, minute + gaps, GAP))  # silent while it installs and reboots
    return {"attempts": len(done), "failed": int(sum(f for _, f in done)), "rolled_back": len(rolled)}


def _odd_devices(fleet: Fleet, ev: _Events) -> None:
    """Events that the pipeline's device checks catch: unknown ids, and decommissioned devices."""
    for dev in np.flatnonzero(~fleet.registered)[:-1].tolist():
        ev.add(dev, int(fleet.emit_start[dev]), "CONNECT")
    for dev in fleet.kinds["decommissioned"].tolist():
        ev.add(dev, int(fleet.emit_end[dev]), "DISCONNECT", "powered off")


def _spikes(fleet: Fleet, params: GeneratorParams, reporting: I64, rng: np.random.Generator) -> tuple[I64, I64]:
    # Not before minute 120 (the detector needs a history of 30+ windows), and only while the device is
    # registered and not decommissioned: a spike the pipeline cannot see would not be a fair miss.
    lo = np.maximum(_minute(fleet, fleet.emit_start[reporting]), 120)
    last = np.minimum(fleet.emit_end[reporting], fleet.decommissioned[reporting] - MINUTE_MS)
    hi = _minute(fleet, last)
    days = np.maximum(hi - lo, 0) / 1440
    rows = np.repeat(np.arange(reporting.size), rng.poisson(params.temperature.spikes_per_day * days))
    minute = lo[rows] + (rng.random(rows.size) * (hi[rows] - lo[rows])).astype(np.int64)
    pairs = np.unique(np.stack([reporting[rows], minute], axis=1), axis=0).reshape(-1, 2)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _finish_events(fleet: Fleet, params: GeneratorParams, ev: _Events,
                   rng: np.random.Generator) -> list[dict[str, Any]]:
    n = len(ev.dev)
    net = params.network
    delay = np.maximum(rng.lognormal(np.log(net.delay_median_s * 1000), net.delay_sigma, n), 20).astype(np.int64)
    tail = rng.permutation(n)[:share_count(net.tail_share, n)]
    delay[tail] = rng.integers(3 * MINUTE_MS + 1, int(net.tail_max_min * MINUTE_MS), tail.size)
    time = np.array(ev.time, np.int64)
    ingest = time + delay
    order = np.lexsort((np.array(ev.dev, np.int64), time, ingest))
    columns = (ev.dev, ev.time, ev.kind, ev.from_version, ev.to_version, ev.success, ev.detail)
    out = []
    for number, i in enumerate(order.tolist(), start=1):
        dev, t, kind, old, new, success, detail = (c[i] for c in columns)
        out.append({"event_id": f"evt-{number:07d}", "device_id": fleet.ids[dev], "event_time": t,
                    "ingest_time": int(ingest[i]), "event_type": kind, "from_version": old, "to_version": new,
                    "success": success, "detail": detail})
    return out
