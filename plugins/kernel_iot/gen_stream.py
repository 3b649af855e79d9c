"""Telemetry in arrival order, made a day at a time, written into files split by ingest time.

A record's ingest time is never before its true measurement time, so once the days up to time ``t``
are made, every record that arrives before ``t`` exists: :meth:`TelemetryStream.take` returns those, in
ingest order, and keeps the rest pending. Memory holds about a day of records, whatever the period.
Each day has its own random generator, so how the files are split never changes the records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kernel_iot.gen_avro import TelemetryWriter
from kernel_iot.gen_fleet import DAY_MS, HOUR_MS, MINUTE_MS, Fleet
from kernel_iot.gen_params import GeneratorParams
from kernel_iot.gen_schedule import Schedule
from kernel_iot.gen_telemetry import COLUMNS, OFFLINE_CODE, Columns, Spikes, VersionTable, make_day

Progress = Callable[[int, int | None, str], None]  # done, total (when known), unit

_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")  # as the pipeline checks it (resolved detail 3)
_CHUNK = 65_536  # records per Avro block


class TelemetryStream:
    def __init__(self, fleet: Fleet, schedule: Schedule, params: GeneratorParams, rng: np.random.Generator) -> None:
        self.fleet, self.schedule, self.params = fleet, schedule, params
        self.versions = VersionTable(fleet.versions)
        self.spikes: list[Spikes] = []
        self._rngs = rng.spawn(fleet.days)
        self._seq_next = fleet.seq0.copy()
        self._day = 0
        self._pending: Columns = {}

    def take(self, until_ms: int | None) -> Columns:
        """The records that arrive before ``until_ms`` (all the rest with None), sorted by ingest time."""
        while self._day < self.fleet.days and (until_ms is None or self._made_until() < until_ms):
            day, spikes = make_day(self.fleet, self.schedule, self.params, self._day, self._seq_next,
                                   self.versions, self._rngs[self._day])
            self.spikes.append(spikes)
            merged = {k: np.concatenate([self._pending[k], day[k]]) if self._pending else day[k] for k in COLUMNS}
            # Stable: equal ingest times keep the order they were made in, so the files are reproducible.
            order = np.argsort(merged["ingest"], kind="stable")
            self._pending = {k: v[order] for k, v in merged.items()}
            self._day += 1
        if not self._pending:
            return {}
        cut = self._pending["dev"].size if until_ms is None else int(
            np.searchsorted(self._pending["ingest"], until_ms, side="left"))
        out = {k: v[:cut] for k, v in self._pending.items()}
        self._pending = {k: v[cut:] for k, v in self._pending.items()}
        return out

    def _made_until(self) -> int:
        return self.fleet.start_ms + self._day * DAY_MS


@dataclass(frozen=True, slots=True)
class PartFile:
    path: Path
    counts: dict[str, int]
    ingest_first: int | None
    ingest_last: int | None


def write_parts(stream: TelemetryStream, folder: Path, bounds: list[int], *, codec: str,
                sync_marker: bytes, progress: Progress | None = None) -> list[PartFile]:
    """One file per span between ``bounds`` (the last takes everything after), a block per chunk;
    ``progress(records, None, "records")`` after each hour of ingest time."""
    parts = []
    written = 0
    ends: list[int | None] = [*bounds, None]
    previous = stream.fleet.start_ms
    for number, end in enumerate(ends):
        path = folder / f"part-{number:05d}.avro"
        counts: dict[str, int] = {}
        first: int | None = None
        last: int | None = None
        with path.open("wb") as fo:
            writer = TelemetryWriter(fo, stream.fleet.ids, codec=codec, sync_marker=sync_marker)
            for step in _steps(previous, end, stream.fleet.end_ms):  # an hour at a time keeps memory small
                rows = stream.take(step)
                for at in range(0, rows["dev"].size if rows else 0, _CHUNK):
                    chunk = {k: v[at:at + _CHUNK] for k, v in rows.items()}
                    writer.write(chunk, stream.versions.strings)
                    _add(counts, tally(chunk, stream.fleet, stream.versions.strings))
                    first = int(chunk["ingest"][0]) if first is None else first
                    last = int(chunk["ingest"][-1])
                    written += int(chunk["dev"].size)
                if progress is not None:
                    progress(written, None, "records")
            writer.close()
        parts.append(PartFile(path, counts or _add({}, tally({}, stream.fleet, [])), first, last))
        previous = end if end is not None else previous
    return parts


def _steps(begin: int, end: int | None, stop: int) -> list[int | None]:
    if end is None:  # the last file: to the end of the period, then whatever arrives after it
        return [*range(begin + HOUR_MS, stop + 1, HOUR_MS), None]
    return [*range(begin + HOUR_MS, end, HOUR_MS), end]


def tally(c: Columns, fleet: Fleet, versions: list[str]) -> dict[str, int]:
    """Counts of what the records are, each a test on the written values (the manifest's figures)."""
    if not c:
        c = {k: np.zeros(0, np.int64) for k in COLUMNS}
    dev, event, ingest = c["dev"], c["event"], c["ingest"]
    timed = ~c["event_null"].astype(bool)
    registered = fleet.registered[dev]
    bad_version = np.array([not _SEMVER.match(v) for v in versions] or [False])
    battery, rssi, rssi_null = c["battery"], c["rssi"], c["rssi_null"].astype(bool)
    counts: dict[str, Any] = {
        "records": dev.size,
        "duplicate_deliveries": c["copy"].astype(bool).sum(),
        "null_event_time": (~timed).sum(),
        "future_event_time": (timed & (event > ingest + 5 * MINUTE_MS)).sum(),
        "bad_firmware_version": bad_version[c["fw"]].sum() if dev.size else 0,
        "unknown_device": (~registered).sum(),
        "after_decommissioned": (timed & registered & (event >= fleet.decommissioned[dev])).sum(),
        "before_installed": (timed & registered & (event < fleet.installed[dev])).sum(),
        "ingest_over_3min_after_event": (timed & (ingest - event > 3 * MINUTE_MS)).sum(),
        "offline_status": (c["status"] == OFFLINE_CODE).sum(),
        "null_temperature": np.isnan(c["temp"]).sum(),
        "battery_out_of_range": ((battery < 0) | (battery > 100)).sum(),
        "rssi_out_of_range": (~rssi_null & ((rssi > 0) | (rssi < -140))).sum(),
    }
    return {k: int(v) for k, v in counts.items()}


def _add(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v
    return total

