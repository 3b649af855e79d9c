"""Writing Parquet, CSV, JSON lines and Avro: ``kernel_io.write_frame`` beside its paths before (pandas'
``to_parquet`` with pyarrow's defaults, ``to_csv`` and ``to_json``; for Avro, the same writer handing fastavro a
record at a time), on a frame shaped like the flagship's ``telemetry_1min`` gold table.

    python benchmarks/bench_io_write.py                     # 1,000,000 rows, 3 repetitions
    python benchmarks/bench_io_write.py --rows 200000 --repeat 5

The frame: a categorical device id (1,000 devices), window starts and ends (one a minute), counts, floats
with few distinct values, a text firmware version (10 values), a categorical status and an event time in
milliseconds that is nearly always distinct. Each figure is the median wall time over the repetitions, the
writers taking turns; the two Parquet and the two Avro files are read back and compared (identical frames),
the two CSV files and the two JSON files byte for byte, or the script fails.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from kernel_io import read_frame, write_frame
from kernel_io.avro_write import write_avro


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    devices = 1000
    minute = np.arange(rows) // devices
    start = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(minute, unit="min")
    return pd.DataFrame({
        "device_id": pd.Categorical.from_codes(np.arange(rows) % devices,
                                               [f"dev-{i:04d}" for i in range(devices)]),
        "window_start": start,
        "window_end": start + pd.Timedelta(minutes=1),
        "records": rng.integers(0, 4, rows),
        "temperature_mean": np.round(rng.normal(20, 5, rows), 1),
        "battery_min": np.round(rng.uniform(0, 100, rows), 0),
        "firmware_version": pd.Series(rng.integers(0, 10, rows)).map(lambda i: f"1.{i}.0").astype("str"),
        "status": pd.Categorical(rng.choice(["ONLINE", "OFFLINE", "DEGRADED"], rows)),
        "last_event_time": (start + pd.to_timedelta(rng.integers(0, 60_000, rows), unit="ms")).astype(
            "datetime64[ms, UTC]"),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = _frame(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: Path(tmp) / name.replace(" ", "_") for name in
                 ("kernel.parquet", "pandas.parquet", "kernel.csv", "pandas.csv", "kernel.json", "pandas.json",
                  "kernel.avro", "pandas.avro")}
        writers: dict[str, Callable[[], None]] = {
            "kernel.parquet": lambda: write_frame(frame, paths["kernel.parquet"]),
            "pandas.parquet": lambda: frame.to_parquet(paths["pandas.parquet"], engine="pyarrow", index=False),
            "kernel.csv": lambda: write_frame(frame, paths["kernel.csv"]),
            "pandas.csv": lambda: frame.to_csv(paths["pandas.csv"], index=False),
            "kernel.json": lambda: write_frame(frame, paths["kernel.json"], lines=True),
            "pandas.json": lambda: frame.to_json(paths["pandas.json"], orient="records", lines=True,
                                                 date_format="iso", date_unit="us", force_ascii=False),
            "kernel.avro": lambda: write_frame(frame, paths["kernel.avro"]),
            "pandas.avro": lambda: write_avro(frame, paths["pandas.avro"], columnar=False),
        }
        times: dict[str, list[float]] = {name: [] for name in writers}
        for _ in range(args.repeat):
            for name, write in writers.items():
                start = time.perf_counter()
                write()
                times[name].append(time.perf_counter() - start)
        pd.testing.assert_frame_equal(read_frame(paths["kernel.parquet"]), read_frame(paths["pandas.parquet"]))
        pd.testing.assert_frame_equal(read_frame(paths["kernel.parquet"]), frame)
        pd.testing.assert_frame_equal(read_frame(paths["kernel.avro"]), read_frame(paths["pandas.avro"]))
        for fmt in ("csv", "json"):
            if paths[f"kernel.{fmt}"].read_bytes() != paths[f"pandas.{fmt}"].read_bytes():
                raise SystemExit(f"the {fmt} files differ")
        print(f"{args.rows:,} rows, {len(frame.columns)} columns, medians of {args.repeat}, seconds")
        for fmt, ext, before in (("Parquet", "parquet", "pandas to_parquet (pyarrow's defaults)"),
                                 ("CSV", "csv", "pandas to_csv"), ("JSON lines", "json", "pandas to_json"),
                                 ("Avro", "avro", "a record at a time")):
            ours = statistics.median(times[f"kernel.{ext}"])
            theirs = statistics.median(times[f"pandas.{ext}"])
            size = paths[f"kernel.{ext}"].stat().st_size / 2**20
            size_before = paths[f"pandas.{ext}"].stat().st_size / 2**20
            print(f"{fmt:10} write_frame {ours:7.3f} ({size:6.1f} MB)   {before} {theirs:7.3f} ({size_before:6.1f} MB)"
                  f"   {theirs / ours:5.2f}x faster")


if __name__ == "__main__":
    main()
