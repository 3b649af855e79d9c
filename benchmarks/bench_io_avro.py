"""How fast io reads Avro: ``read_frame`` against fastavro's records turned into a DataFrame.

Writes an Avro file shaped like the IoT showcase's telemetry (docs: shared/specs/iot-windowed-kpi.md),
then times each way of reading it (median of ``--repeat`` runs) in its own process, so each one's
peak memory (maximum resident set size above the process's size after imports) is its own. The
file is written by a process of its own too: a child inherits its parent's maximum RSS on Linux.
Run it as::

    python benchmarks/bench_io_avro.py --records 1000000
    python benchmarks/bench_io_avro.py --file DIR      # a directory of Avro files: read_frame and polars only

Given a directory (the flagship's telemetry, say), ``read_frame`` reads it whole (its files side by side, joined
a column at a time) and polars reads its files one after another, as ``bench_iot.py``'s anchor does.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TELEMETRY: dict[str, Any] = {
    "type": "record",
    "name": "Telemetry",
    "namespace": "iot",
    "fields": [
        {"name": "device_id", "type": "string"},
        {"name": "seq", "type": "long"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ingest_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["ONLINE", "DEGRADED", "OFFLINE"]}},
        {"name": "firmware_version", "type": "string"},
        {"name": "temperature_c", "type": ["null", "double"], "default": None},
        {"name": "battery_pct", "type": ["null", "double"], "default": None},
        {"name": "rssi_dbm", "type": ["null", "int"], "default": None},
    ],
}
METHODS = ("fastavro+DataFrame", "read_frame, a record at a time", "read_frame", "polars.read_avro")


def _use_repo() -> None:
    """Import kernel and kernel_io from this checkout, installed or not."""
    for path in (ROOT, ROOT / "plugins"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def write_telemetry(path: Path, records: int, devices: int, seed: int) -> None:
    import numpy as np
    import pandas as pd

    _use_repo()
    from kernel_io import write_frame

    rng = np.random.default_rng(seed)
    device = rng.integers(0, devices, records)
    start = pd.Timestamp("2024-03-01", tz="UTC")
    event = start + pd.to_timedelta(np.sort(rng.integers(0, 7 * 86_400_000, records)), unit="ms")
    missing = rng.random(records) < 0.02  # sensors that did not report a value
    frame = pd.DataFrame({
        "device_id": pd.Series([f"dev-{i:05d}" for i in range(devices)], dtype="str").iloc[device].to_numpy(),
        "seq": np.arange(records),
        "event_time": event.as_unit("ms"),
        "ingest_time": (event + pd.to_timedelta(rng.exponential(800, records).astype(int), unit="ms")).as_unit("ms"),
        "status": pd.Categorical.from_codes(rng.choice(3, records, p=[0.9, 0.07, 0.03]),
                                            dtype=pd.CategoricalDtype(["ONLINE", "DEGRADED", "OFFLINE"])),
        "firmware_version": np.array(["2.3.1", "2.4.0", "2.10.0"])[rng.integers(0, 3, records)],
        "temperature_c": np.where(missing, np.nan, rng.normal(38, 4, records).round(2)),
        "battery_pct": np.where(rng.random(records) < 0.01, np.nan, rng.uniform(5, 100, records).round(1)),
        "rssi_dbm": pd.arrays.IntegerArray(rng.integers(-110, -40, records), missing),
    })
    write_frame(frame, path, avro_schema=TELEMETRY)


def measure(method: str, path: Path, repeat: int) -> dict[str, Any]:
    """Run in a child process: read ``path`` ``repeat`` times; times and peak memory."""
    import fastavro
    import pandas as pd

    _use_repo()
    from kernel_io import read_frame

    def bare() -> int:
        with path.open("rb") as fo:
            return len(pd.DataFrame(list(fastavro.reader(fo))))

    def ours() -> int:
        return len(read_frame(path, "avro"))

    def records() -> int:  # the reader before it decoded with polars
        from kernel_io.avro_read import read_avro

        return len(read_avro(path, columnar=False))

    def polars() -> int:  # the anchor: a columnar Avro decoder in Rust, to a polars frame (not pandas)
        import polars as pl

        files = sorted(path.glob("*.avro")) if path.is_dir() else [path]
        return sum(pl.read_avro(file).height for file in files)

    run = {"fastavro+DataFrame": bare, "read_frame": ours, "read_frame, a record at a time": records,
           "polars.read_avro": polars}[method]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"method": method, "rows": rows, "times_s": times, "peak_mb": (peak - before) / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--file", type=Path, help="read this Avro file (or directory of them) instead of writing one")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    # The jobs of the child processes:
    parser.add_argument("--measure", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:
        print(json.dumps(measure(args.measure, args.file, args.repeat)))
        return 0
    if args.write:
        write_telemetry(args.file, args.records, args.devices, args.seed)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "telemetry.avro"
        if args.file is None:
            start = time.perf_counter()
            _child("--write", "--file", str(path), "--records", str(args.records), "--devices",
                   str(args.devices), "--seed", str(args.seed))
            print(f"wrote {args.records:,} records ({path.stat().st_size / 1e6:.1f} MB) "
                  f"with write_frame in {time.perf_counter() - start:.1f} s")
        methods = ("read_frame", "polars.read_avro") if path.is_dir() else METHODS
        results = [json.loads(_child("--measure", method, "--file", str(path), "--repeat", str(args.repeat)))
                   for method in methods]

    print(f"{'method':<32} {'median s':>9} {'records/s':>11} {'peak MB':>8}   runs (s)")
    for r in results:
        median = statistics.median(r["times_s"])
        runs = ", ".join(f"{t:.2f}" for t in r["times_s"])
        print(f"{r['method']:<32} {median:>9.2f} {r['rows'] / median:>11,.0f} {r['peak_mb']:>8.0f}   {runs}")
    found = {r["method"]: r for r in results}
    median = {m: statistics.median(r["times_s"]) for m, r in found.items()}
    ours, anchor = found["read_frame"], found["polars.read_avro"]
    before = found.get("read_frame, a record at a time")
    if before is None:
        print(f"read_frame: {median['read_frame'] / median['polars.read_avro']:.2f}x polars.read_avro's time; peak "
              f"memory {ours['peak_mb']:.0f} MB ({anchor['peak_mb']:.0f} MB polars)")
    else:
        faster = median["read_frame, a record at a time"] / median["read_frame"]
        print(f"read_frame: {faster:.1f}x faster than a record at a time, "
              f"{median['read_frame'] / median['polars.read_avro']:.2f}x polars.read_avro's time; peak "
              f"memory {ours['peak_mb']:.0f} MB against {before['peak_mb']:.0f} MB a record at a time "
              f"({anchor['peak_mb']:.0f} MB polars)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"records": args.records, "results": results}, indent=2))
    return 0


def _child(*args: str) -> str:
    return subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout


if __name__ == "__main__":
    sys.exit(main())
