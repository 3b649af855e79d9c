"""The IoT showcase's data generator: a realistic, messy fleet data set, the same bytes for the same seed.

    python -m kernel_iot.generate --devices 20 --days 2 --seed 3 --out DIR

writes ``DIR/telemetry/part-NNNNN.avro`` (split by ingest time), ``DIR/events/events.avro``,
``DIR/devices.json``, ``DIR/ground_truth/anomalies.json`` and ``DIR/manifest.json``. The layout, the
fault kinds and their rates are in ``docs/showcases/iot-data.md``; the knobs in :mod:`kernel_iot.gen_params`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import numpy as np

from kernel_iot.gen_fleet import DAY_MS, MINUTE_MS, Fleet, iso, make_fleet
from kernel_iot.gen_params import GeneratorParams
from kernel_iot.gen_schedule import Schedule, make_schedule
from kernel_iot.gen_stream import PartFile, Progress, TelemetryStream, write_parts
from kernel_iot.schemas import DEVICE_EVENT

CODECS = ("null", "deflate")  # null is the default: writing is twice as fast; deflate is 2.2 times smaller


@dataclass(frozen=True, slots=True)
class GeneratedSummary:
    """What :func:`generate` wrote (the manifest has the details)."""

    out_dir: Path
    telemetry_files: tuple[Path, ...]
    telemetry_records: int
    events: int
    devices: int  # rows of devices.json, the repeated id included
    anomalies: int
    manifest: Path


def generate(out_dir: Path, *, devices: int = 300, days: int = 7, seed: int = 1,
             start: str | datetime = "2026-01-05T00:00:00Z", files: int | None = None,
             params: GeneratorParams | None = None, codec: str = "null", stream: bool = False,
             rate: int = 1000, seconds: float | None = None,
             progress: Progress | None = None) -> GeneratedSummary:
    """Write the data set into ``out_dir`` (made if missing; files of an earlier data set are replaced).

    ``devices`` registered devices report from ``start`` (a UTC midnight) for ``days`` days. Telemetry goes
    into one file per day of ingest time, or into ``files`` files over equal spans of it. ``codec`` is the
    Avro codec of the telemetry and events files. ``progress(records, None, "records")`` is told the telemetry
    records written so far after each hour of ingest time (``kernel showcase`` shows it live on a terminal).

    With ``stream``, the telemetry is written in real time instead: ``rate`` records a second, one file a
    second (:mod:`kernel_iot.gen_live`), for ``seconds`` (default: until the data set's records run out).
    """
    if devices < 1 or days < 1:
        raise ValueError(f"devices and days must be at least 1 (got devices={devices}, days={days})")
    if files is not None and files < 1:
        raise ValueError(f"files must be at least 1 (got {files})")
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)} (got {codec!r})")
    params = params or GeneratorParams()
    start_ms = _start_ms(start)
    fleet_rng, schedule_rng, telemetry_rng = np.random.default_rng(seed).spawn(3)
    fleet = make_fleet(devices, days, start_ms, params, fleet_rng)
    schedule = make_schedule(fleet, params, schedule_rng)
    sync = hashlib.sha256(f"kernel_iot.generate:{seed}".encode()).digest()[:16]

    out_dir = Path(out_dir)
    for sub in ("telemetry", "events", "ground_truth"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "telemetry").glob("part-*.avro"):  # a smaller split must not leave stale parts
        old.unlink()
    _write_json(out_dir / "devices.json", list(fleet.registry))
    with (out_dir / "events" / "events.avro").open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(DEVICE_EVENT), schedule.events, codec=codec, sync_marker=sync)

    period = days * DAY_MS
    n_files = days if files is None else files
    bounds = [start_ms + period * i // n_files for i in range(1, n_files)]
    telemetry = TelemetryStream(fleet, schedule, params, telemetry_rng)
    if stream:
        from kernel_iot.gen_live import write_live

        live = write_live(telemetry, out_dir / "telemetry", rate=rate, seconds=seconds, codec=codec,
                          sync_marker=sync, progress=progress)
        records = _records_in(live)
        _write_json(out_dir / "manifest.json", {
            "generator": "kernel_iot.generate", "live": {"files": len(live), "records": records, "rate": rate},
            "parameters": {"devices": devices, "days": days, "seed": seed, "start": iso(start_ms), "codec": codec},
            "period": {"start": iso(fleet.start_ms), "end": iso(fleet.end_ms)}})
        return GeneratedSummary(out_dir=out_dir, telemetry_files=tuple(live), telemetry_records=records,
                                events=len(schedule.events), devices=len(fleet.registry), anomalies=0,
                                manifest=out_dir / "manifest.json")
    parts = write_parts(telemetry, out_dir / "telemetry", bounds, codec=codec, sync_marker=sync, progress=progress)
    truth = _ground_truth(telemetry, fleet)
    _write_json(out_dir / "ground_truth" / "anomalies.json", truth)

    manifest = _manifest(out_dir, fleet, schedule, parts, truth, params,
                         {"devices": devices, "days": days, "seed": seed, "start": iso(start_ms),
                          "files": files, "codec": codec})
    _write_json(out_dir / "manifest.json", manifest)  # last: its presence says the data set is complete
    return GeneratedSummary(
        out_dir=out_dir, telemetry_files=tuple(p.path for p in parts),
        telemetry_records=sum(p.counts["records"] for p in parts), events=len(schedule.events),
        devices=len(fleet.registry), anomalies=len(truth), manifest=out_dir / "manifest.json",
    )


def _records_in(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as fo:
            total += sum(block.num_records for block in fastavro.block_reader(fo))
    return total


def _start_ms(start: str | datetime) -> int:
    moment = datetime.fromisoformat(start) if isinstance(start, str) else start
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        # The pipeline's default period ends at a day boundary; the data's days must be its days.
        raise ValueError(f"start must be a UTC midnight, such as 2026-01-05T00:00:00Z (got {start})")
    return int(moment.timestamp()) * 1000


def _ground_truth(stream: TelemetryStream, fleet: Fleet) -> list[dict[str, Any]]:
    rows = []
    for s in stream.spikes:
        for i in range(s.dev.size):  # a few hundred spikes a day
            rows.append({
                "device_id": fleet.ids[int(s.dev[i])],
                "minute": iso(int(s.minute_ms[i])),
                "seq": int(s.seq[i]),
                "delta_c": float(s.delta[i]),
                "delay_ms": None if s.lost[i] else int(s.delay_ms[i]),
                "duplicated": bool(s.duplicated[i]),
                "lost": bool(s.lost[i]),
            })
    return sorted(rows, key=lambda r: (r["minute"], r["device_id"]))


def _manifest(out_dir: Path, fleet: Fleet, schedule: Schedule, parts: list[PartFile], truth: list[dict[str, Any]],
              params: GeneratorParams, parameters: dict[str, Any]) -> dict[str, Any]:
    files: dict[str, Any] = {}
    totals: Counter[str] = Counter()
    for part in parts:
        files[part.path.relative_to(out_dir).as_posix()] = {
            **part.counts,
            "ingest_first": None if part.ingest_first is None else iso(part.ingest_first),
            "ingest_last": None if part.ingest_last is None else iso(part.ingest_last),
        }
        totals.update(part.counts)
    events = schedule.events
    updates = [e for e in events if e["event_type"] == "FIRMWARE_UPDATE"]
    files["events/events.avro"] = {"records": len(events)}
    files["devices.json"] = {"records": len(fleet.registry)}
    files["ground_truth/anomalies.json"] = {"records": len(truth)}
    registered = {fleet.ids[i] for i in np.flatnonzero(fleet.registered).tolist()}
    late = sum(1 for t in truth if t["delay_ms"] is not None and t["delay_ms"] > 3 * MINUTE_MS)
    return {
        "generator": "kernel_iot.generate",
        "parameters": parameters,
        "period": {"start": iso(fleet.start_ms), "end": iso(fleet.end_ms)},
        "files": files,
        "telemetry": {"files": len(parts), **{k: totals[k] for k in parts[0].counts}},
        "events": {
            "records": len(events),
            "by_type": dict(sorted(Counter(e["event_type"] for e in events).items())),
            "firmware_updates": len(updates),
            "firmware_updates_failed": sum(1 for e in updates if e["success"] is False),
            "firmware_updates_rolled_back": schedule.updates["rolled_back"],
            "unknown_device": sum(1 for e in events if e["device_id"] not in registered),
        },
        "devices": {
            "rows": len(fleet.registry),
            "registered": int(fleet.registered.sum()),
            "repeated_ids": len(fleet.registry) - len({r["device_id"] for r in fleet.registry}),
            **{kind: int(rows.size) for kind, rows in fleet.kinds.items()},
            "unknown_reporting": int((~fleet.registered).sum()),
        },
        "anomalies": {
            "injected": len(truth),
            "ingest_over_3min_after_event": late,
            "duplicated": sum(1 for t in truth if t["duplicated"]),
            "lost": sum(1 for t in truth if t["lost"]),
        },
        "knobs": asdict(params),
    }


def _write_json(path: Path, value: Any) -> None:
    """JSON with one array item per line: readable, diffable, and the same bytes every time."""
    if isinstance(value, list):
        body = ",\n".join(json.dumps(item, ensure_ascii=False) for item in value)
        text = f"[\n{body}\n]\n" if value else "[]\n"
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel_iot.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the data set into")
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="2026-01-05T00:00:00Z", help="a UTC midnight (ISO-8601)")
    parser.add_argument("--files", type=int, default=None, help="telemetry files (default: one per day)")
    parser.add_argument("--codec", choices=CODECS, default="null")
    args = parser.parse_args(argv)
    try:
        summary = generate(args.out, devices=args.devices, days=args.days, seed=args.seed, start=args.start,
                           files=args.files, codec=args.codec)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{summary.out_dir}: {summary.telemetry_records} telemetry records in {len(summary.telemetry_files)} "
          f"files, {summary.events} events, {summary.devices} registry rows, {summary.anomalies} anomalies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
