"""The fleet: every device that sends anything, its per-device constants, and the registry rows.

Rows ``0 .. devices-1`` are the registered devices (``dev-00001`` ...), then the unknown devices (ids
just past the registry, as devices shipped before they were registered), then one misconfigured device
still using the factory id ``dev-00000`` (the flood). Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kernel_iot.gen_params import GeneratorParams, share_count

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
NEVER = np.iinfo(np.int64).max  # "no such time" in int64 time columns
FACTORY_VERSION = "0.9.0"  # what the flooding device, never set up, runs
_OFFSETS = ("+02:00", "+05:30", "-05:00", "+01:00")

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
BOOL = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Fleet:
    start_ms: int
    days: int
    ids: tuple[str, ...]
    registered: BOOL
    model: I64
    site: I64
    emit_start: I64  # the device sends a record a minute in [emit_start, emit_end)
    emit_end: I64
    installed: I64  # NEVER for devices not in the registry
    decommissioned: I64  # NEVER: not decommissioned
    phase: I64  # ms past each minute at which the device measures
    seq0: I64  # message counter at the start of the period
    temp_base: F64
    temp_noise: F64
    diurnal_phase: F64
    battery0: F64  # NaN: no battery
    drain: F64  # battery % per hour
    rssi_base: F64
    fw_initial: I64  # index into versions
    versions: tuple[str, ...]
    kinds: dict[str, I64]  # pre_install, decommissioned, silent, retired: registered rows of each kind
    flood: int  # row of the flooding device
    registry: tuple[dict[str, Any], ...]  # the rows of devices.json, with the repeated id

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS


def make_fleet(devices: int, days: int, start_ms: int, params: GeneratorParams,
               rng: np.random.Generator) -> Fleet:
    knobs = params.fleet
    unknown = knobs.unknown_devices
    total = devices + unknown + 1
    end_ms = start_ms + days * DAY_MS
    registered = np.arange(total) < devices
    model = rng.integers(0, len(knobs.models), total)
    site = rng.integers(0, len(knobs.sites), total)

    versions = _versions(params)
    fw_initial = np.empty(total, np.int64)
    for m, spec in enumerate(knobs.models):
        rows = np.flatnonzero(model == m)
        shares = np.array([s for _, s in spec.versions])
        codes = np.array([versions.index(v) for v, _ in spec.versions])
        fw_initial[rows] = codes[rng.choice(len(codes), rows.size, p=shares / shares.sum())]
    fw_initial[-1] = versions.index(FACTORY_VERSION)

    # Disjoint special kinds, drawn from one permutation of the registered devices.
    order = rng.permutation(devices)
    kinds: dict[str, I64] = {}
    taken = 0
    for kind, share in (("pre_install", knobs.pre_install_share), ("decommissioned", knobs.decommissioned_share),
                        ("silent", knobs.silent_share), ("retired", knobs.retired_share)):
        count = share_count(share, devices)
        kinds[kind] = np.sort(order[taken:taken + count]).astype(np.int64)
        taken += count
    ordinary = order[taken:]

    period = days * DAY_MS
    installed = np.full(total, NEVER, np.int64)
    installed[:devices] = start_ms - rng.integers(10 * DAY_MS, 700 * DAY_MS, devices) // 1000 * 1000
    decommissioned = np.full(total, NEVER, np.int64)
    emit_start = np.full(total, start_ms, np.int64)
    emit_end = np.full(total, end_ms, np.int64)

    pre = kinds["pre_install"]
    installed[pre] = start_ms + (rng.uniform(0.2, 0.8, pre.size) * period).astype(np.int64) // 1000 * 1000
    dec = kinds["decommissioned"]
    decommissioned[dec] = start_ms + (rng.uniform(0.25, 0.75, dec.size) * period).astype(np.int64) // 1000 * 1000
    # They go on reporting for 1 to 6 hours: records the pipeline quarantines as `decommissioned`.
    emit_end[dec] = np.minimum(decommissioned[dec] + rng.integers(HOUR_MS, 6 * HOUR_MS, dec.size), end_ms)
    ret = kinds["retired"]
    installed[ret] = start_ms - rng.integers(200 * DAY_MS, 700 * DAY_MS, ret.size) // 1000 * 1000
    decommissioned[ret] = start_ms - rng.integers(5 * DAY_MS, 60 * DAY_MS, ret.size) // 1000 * 1000
    for silent in (kinds["silent"], ret, np.array([total - 1])):
        emit_start[silent] = emit_end[silent] = 0

    lengths = rng.uniform(1.0, max(knobs.unknown_hours, 1.0), unknown) * HOUR_MS
    first = start_ms + rng.uniform(0.0, 1.0, unknown) * np.maximum(period - lengths, 0)
    emit_start[devices:devices + unknown] = first.astype(np.int64)
    emit_end[devices:devices + unknown] = np.minimum(first + lengths, end_ms).astype(np.int64)

    sites_c = np.array([s.temperature_c for s in knobs.sites])
    battery = np.array([m.battery for m in knobs.models])
    battery0 = np.where(battery[model], rng.uniform(40.0, 100.0, total), np.nan)
    ids = (*(f"dev-{i + 1:05d}" for i in range(devices + unknown)), "dev-00000")
    registry = _registry(ids[:devices], model, site, installed, decommissioned, kinds, ordinary, start_ms,
                         params, rng)
    return Fleet(
        start_ms=start_ms, days=days, ids=ids, registered=registered, model=model, site=site,
        emit_start=emit_start, emit_end=emit_end, installed=installed, decommissioned=decommissioned,
        phase=rng.integers(0, 50_000, total), seq0=rng.integers(0, 5_000_000, total),
        temp_base=sites_c[site] + rng.normal(0.0, 1.5, total),
        temp_noise=params.temperature.noise_c * rng.uniform(0.7, 1.3, total),
        diurnal_phase=rng.uniform(0.0, 2 * np.pi, len(knobs.sites))[site],
        battery0=battery0, drain=rng.uniform(0.05, 0.4, total), rssi_base=rng.uniform(-95.0, -55.0, total),
        fw_initial=fw_initial, versions=tuple(versions), kinds=kinds, flood=total - 1, registry=registry,
    )


def _versions(params: GeneratorParams) -> list[str]:
    found: dict[str, None] = {}
    for spec in params.fleet.models:
        found.update((v, None) for v, _ in spec.versions)
        if spec.target is not None:
            found[spec.target] = None
    found[FACTORY_VERSION] = None
    return list(found)


def _registry(ids: tuple[str, ...], model: I64, site: I64, installed: I64, decommissioned: I64,
              kinds: dict[str, I64], ordinary: I64, start_ms: int, params: GeneratorParams,
              rng: np.random.Generator) -> tuple[dict[str, Any], ...]:
    knobs = params.fleet
    n = len(ids)
    # Write style per device: 0 UTC with Z, 1 an explicit offset, 2 no offset (meaning UTC).
    style = np.zeros(n, np.int64)
    order = rng.permutation(n)
    n_offset = share_count(knobs.offset_share, n)
    style[order[:n_offset]] = 1
    style[order[n_offset:n_offset + share_count(knobs.naive_share, n)]] = 2
    if kinds["pre_install"].size:  # a misread offset then moves an in-service boundary: visible in uptime
        style[kinds["pre_install"][0]] = 1
    offsets = rng.integers(0, len(_OFFSETS), n)
    rows: list[dict[str, Any]] = []
    for i, device in enumerate(ids):
        decom = int(decommissioned[i])
        rows.append({
            "device_id": device,
            "model": knobs.models[int(model[i])].name,
            "site": knobs.sites[int(site[i])].name,
            "installed_at": iso(int(installed[i]), int(style[i]), _OFFSETS[offsets[i]]),
            "decommissioned_at": None if decom == NEVER else iso(decom, int(style[i]), _OFFSETS[offsets[i]]),
        })
    # A repeated id, later in the file, that differs: the pipeline must keep the first row.
    twins = ordinary[:knobs.repeated_ids] if ordinary.size else np.arange(min(n, knobs.repeated_ids))
    for twin in twins.tolist():
        rows.append({**rows[twin], "site": knobs.sites[(int(site[twin]) + 1) % len(knobs.sites)].name,
                     "installed_at": iso(start_ms + DAY_MS, 0, "")})
    return tuple(rows)


def iso(ms: int, style: int = 0, offset: str = "+00:00") -> str:
    """ISO-8601 text of a UTC instant: style 0 ends in Z, 1 carries ``offset``, 2 has no offset."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    if style == 1:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = (int(part) for part in offset[1:].split(":"))
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return moment.astimezone(zone).isoformat(timespec="seconds")
    text = moment.replace(tzinfo=None).isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text + "Z" if style == 0 else text
