"""One day of telemetry as numpy columns: the minute grid of every device, then the faults.

A day's records are those whose true measurement time falls in the day; their ingest times may fall in
later days (:mod:`kernel_iot.gen_stream` sorts that out). Everything is vectorised over the day's
records; the only loops are over the few firmware strings a day spoils.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kernel_iot.gen_fleet import DAY_MS, MINUTE_MS, Fleet
from kernel_iot.gen_params import GeneratorParams, share_count
from kernel_iot.gen_schedule import DEGRADED, GAP, OFFLINE, Schedule

ONLINE_CODE, DEGRADED_CODE, OFFLINE_CODE = 0, 1, 2  # positions in the Avro enum
MINUTES = 1440
Columns = dict[str, NDArray[Any]]
# dev, seq, event (ms; meaningless where event_null), ingest, status, fw (index into the version table),
# temp and battery (NaN: null), rssi (meaningless where rssi_null), copy (a duplicate delivery)
COLUMNS = ("dev", "seq", "event", "event_null", "ingest", "status", "fw", "temp", "battery", "rssi", "rssi_null",
           "copy")


class VersionTable:
    """Firmware strings by code: the fleet's versions, then the malformed ones as they are made."""

    def __init__(self, versions: tuple[str, ...]) -> None:
        self.strings: list[str] = list(versions)
        self._codes = {v: i for i, v in enumerate(versions)}

    def code(self, text: str) -> int:
        if text not in self._codes:
            self._codes[text] = len(self.strings)
            self.strings.append(text)
        return self._codes[text]


@dataclass(frozen=True, slots=True)
class Spikes:
    """The day's injected anomalies, and what became of their record."""

    dev: NDArray[np.int64]
    minute_ms: NDArray[np.int64]
    seq: NDArray[np.int64]
    delta: NDArray[np.float64]
    delay_ms: NDArray[np.int64]
    duplicated: NDArray[np.bool_]
    lost: NDArray[np.bool_]


def make_day(fleet: Fleet, schedule: Schedule, params: GeneratorParams, day: int, seq_next: NDArray[np.int64],
             versions: VersionTable, rng: np.random.Generator) -> tuple[Columns, Spikes]:
    """The records of ``day`` (delivered ones and duplicates, in no order); advances ``seq_next``."""
    m0 = day * MINUTES
    grid_t = fleet.start_ms + (m0 + np.arange(MINUTES))[None, :] * MINUTE_MS + fleet.phase[:, None]
    present = (grid_t >= fleet.emit_start[:, None]) & (grid_t < fleet.emit_end[:, None])
    present &= ~_cover(schedule, GAP, m0, len(fleet.ids))
    status = np.zeros(present.shape, np.int8)
    status[_cover(schedule, DEGRADED, m0, len(fleet.ids))] = DEGRADED_CODE
    status[_cover(schedule, OFFLINE, m0, len(fleet.ids))] = OFFLINE_CODE
    counter = np.cumsum(present, axis=1, dtype=np.int64)
    seq_grid = seq_next[:, None] + counter - 1
    seq_next += counter[:, -1]
    dev, col = np.nonzero(present)  # device-major order
    n = dev.size
    event = grid_t[dev, col] + rng.integers(0, 5_000, n)  # phase < 50 s, so it stays in its minute
    c: Columns = {"dev": dev.astype(np.int64), "seq": seq_grid[dev, col], "event": event,
                  "status": status[dev, col]}
    _values(c, fleet, schedule, params, rng)

    pos = np.full(present.shape, -1, np.int64)
    pos[dev, col] = np.arange(n)
    today = (schedule.spike_minute >= m0) & (schedule.spike_minute < m0 + MINUTES)
    rows = pos[schedule.spike_dev[today], schedule.spike_minute[today] - m0]
    hit = rows >= 0
    hit[hit] = c["status"][rows[hit]] != OFFLINE_CODE  # an OFFLINE record carries no temperature
    rows, delta = rows[hit], schedule.spike_delta[today][hit]
    c["temp"][rows] += delta
    spiked = np.zeros(n, bool)
    spiked[rows] = True
    c["temp"] = np.round(c["temp"], 2)
    c["battery"] = np.round(c["battery"], 1)

    if day == (schedule.flood_start - fleet.start_ms) // DAY_MS:
        c, spiked = _with_flood(c, spiked, fleet, schedule, params, seq_next, rng)
    _delays(c, fleet, schedule, params, rng)
    _malformed(c, fleet, params, versions, spiked, rng)
    return _deliver(c, rows, delta, params, rng)


def _cover(schedule: Schedule, kind: int, m0: int, devices: int) -> NDArray[np.bool_]:
    """Which (device, minute of the day) cells intervals of ``kind`` cover."""
    sel = (schedule.iv_kind == kind) & (schedule.iv_end > m0) & (schedule.iv_start < m0 + MINUTES)
    diff = np.zeros((devices, MINUTES + 1), np.int32)
    np.add.at(diff, (schedule.iv_dev[sel], np.clip(schedule.iv_start[sel] - m0, 0, MINUTES)), 1)
    np.add.at(diff, (schedule.iv_dev[sel], np.clip(schedule.iv_end[sel] - m0, 0, MINUTES)), -1)
    return np.cumsum(diff[:, :MINUTES], axis=1) > 0


def _values(c: Columns, fleet: Fleet, schedule: Schedule, params: GeneratorParams, rng: np.random.Generator) -> None:
    dev, event, status = c["dev"], c["event"], c["status"]
    n = dev.size
    offline, degraded = status == OFFLINE_CODE, status == DEGRADED_CODE
    days = (event - fleet.start_ms) / DAY_MS
    # Irwin-Hall noise (a sum of 3 uniforms) has unit variance and no tail beyond 3: a stable baseline.
    noise = (rng.random((n, 3)).sum(axis=1) - 1.5) * 2
    temp = (fleet.temp_base[dev] + params.temperature.diurnal_c * np.sin(2 * np.pi * days + fleet.diurnal_phase[dev])
            + fleet.temp_noise[dev] * noise)
    hours = days * 24
    # A sawtooth: drains, is recharged at 15 %.
    battery = (fleet.battery0[dev] - fleet.drain[dev] * hours - 15) % 85 + 15 + rng.normal(0, 0.2, n)
    c["temp"] = np.where(offline, np.nan, temp)
    c["battery"] = np.where(offline, np.nan, np.clip(battery, 0, 100))
    c["rssi"] = np.rint(fleet.rssi_base[dev] + rng.normal(0, 2.5, n) - 15 * degraded).astype(np.int64)
    c["rssi_null"] = offline
    c["fw"] = np.where(event >= schedule.fw_change[dev], schedule.fw_new[dev], fleet.fw_initial[dev])


def _with_flood(c: Columns, spiked: NDArray[np.bool_], fleet: Fleet, schedule: Schedule, params: GeneratorParams,
                seq_next: NDArray[np.int64], rng: np.random.Generator) -> tuple[Columns, NDArray[np.bool_]]:
    n = params.fleet.flood_records
    dev = fleet.flood
    span = max(int(params.fleet.flood_minutes * MINUTE_MS), 1)
    flood: Columns = {
        "dev": np.full(n, dev, np.int64), "seq": seq_next[dev] + np.arange(n),
        "event": schedule.flood_start + np.sort(rng.integers(0, span, n)),
        "status": np.full(n, ONLINE_CODE, np.int8), "temp": np.round(21 + rng.normal(0, 0.3, n), 2),
        "battery": np.full(n, 100.0), "rssi": np.full(n, -40, np.int64), "rssi_null": np.zeros(n, bool),
        "fw": np.full(n, fleet.fw_initial[dev], np.int64),
    }
    seq_next[dev] += n
    return {k: np.concatenate([c[k], flood[k]]) for k in c}, np.concatenate([spiked, np.zeros(n, bool)])


def _delays(c: Columns, fleet: Fleet, schedule: Schedule, params: GeneratorParams, rng: np.random.Generator) -> None:
    net = params.network
    n = c["dev"].size
    delay = np.maximum(rng.lognormal(np.log(net.delay_median_s * 1000), net.delay_sigma, n), 20).astype(np.int64)
    order = rng.permutation(n)
    tail = order[:share_count(net.tail_share, n)]
    slow = order[tail.size:tail.size + share_count(net.slow_share, n)]
    delay[tail] = rng.integers(3 * MINUTE_MS + 1, int(net.tail_max_min * MINUTE_MS), tail.size)
    delay[slow] = rng.integers(20_000, 150_000, slow.size)
    c["ingest"] = c["event"] + delay
    site = fleet.site[c["dev"]]
    for s, start, end in zip(schedule.backlog_site.tolist(), schedule.backlog_start.tolist(),
                             schedule.backlog_end.tolist(), strict=True):
        # The site's gateway held everything measured in [start, end) and flushes it at `end`.
        held = np.flatnonzero((site == s) & (c["event"] >= start) & (c["event"] < end))
        flushed = end + rng.integers(0, 90_000, held.size)
        c["ingest"][held] = np.maximum(c["ingest"][held], flushed)


def _malformed(c: Columns, fleet: Fleet, params: GeneratorParams, versions: VersionTable,
               spiked: NDArray[np.bool_], rng: np.random.Generator) -> None:
    """Disjoint faults on registered devices' ONLINE/DEGRADED records that carry no spike."""
    bad = params.malformed
    n = c["dev"].size
    eligible = np.flatnonzero(fleet.registered[c["dev"]] & ~spiked & (c["status"] != OFFLINE_CODE))
    order = rng.permutation(eligible)
    parts: list[NDArray[np.int64]] = []
    for share in (bad.future_share, bad.null_event_time_share, bad.bad_firmware_share,
                  bad.null_temperature_share, bad.out_of_range_share):
        taken = sum(p.size for p in parts)
        parts.append(order[taken:taken + share_count(share, eligible.size)])
    future, null_time, bad_fw, null_temp, out_of_range = parts
    c["event"][future] = c["ingest"][future] + rng.integers(6 * MINUTE_MS, 3 * DAY_MS, future.size)
    c["event_null"] = np.zeros(n, bool)
    c["event_null"][null_time] = True
    c["event"][null_time] = 0
    style = rng.integers(0, 3, bad_fw.size)
    for code, form in sorted(set(zip(c["fw"][bad_fw].tolist(), style.tolist(), strict=True))):
        text = versions.strings[code]
        spoiled = ("v" + text, text.rsplit(".", 1)[0], text + "-beta")[form]
        c["fw"][bad_fw[(c["fw"][bad_fw] == code) & (style == form)]] = versions.code(spoiled)
    c["temp"][null_temp] = np.nan
    on_battery = ~np.isnan(c["battery"][out_of_range])
    c["battery"][out_of_range[on_battery]] = rng.choice([-1.0, 101.5, 255.0], int(on_battery.sum()))
    c["rssi"][out_of_range[~on_battery]] = rng.choice([0, 31, -255], int((~on_battery).sum()))


def _deliver(c: Columns, spike_rows: NDArray[np.int64], delta: NDArray[np.float64], params: GeneratorParams,
             rng: np.random.Generator) -> tuple[Columns, Spikes]:
    """Lose some records, deliver some twice (a copy, later), and say what became of each spike."""
    net = params.network
    n = c["dev"].size
    order = rng.permutation(n)
    lost = order[:share_count(net.lost_share, n)]
    dup = order[lost.size:lost.size + share_count(net.duplicate_share, n)]
    is_lost = np.zeros(n, bool)
    is_lost[lost] = True
    is_dup = np.zeros(n, bool)
    is_dup[dup] = True
    true_event = c["event"][spike_rows]  # spiked records carry no time fault
    spikes = Spikes(
        dev=c["dev"][spike_rows], minute_ms=true_event // MINUTE_MS * MINUTE_MS, seq=c["seq"][spike_rows],
        delta=delta, delay_ms=c["ingest"][spike_rows] - true_event, duplicated=is_dup[spike_rows],
        lost=is_lost[spike_rows],
    )
    c["copy"] = np.zeros(n, bool)
    copies = {k: v[dup] for k, v in c.items()}
    copies["ingest"] = copies["ingest"] + 1_000 + rng.exponential(60_000, dup.size).astype(np.int64)
    copies["copy"][:] = True
    keep = ~is_lost
    return {k: np.concatenate([c[k][keep], copies[k]]) for k in COLUMNS}, spikes

