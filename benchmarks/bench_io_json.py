"""Reading JSON lines: ``kernel_io.read_json`` (Arrow's columnar reader, converted as the record reader would)
beside the same function reading record by record (its path before), ``pyarrow.json`` and ``polars``.

    python benchmarks/bench_io_json.py                     # 1,000,000 records, 3 repetitions
    python benchmarks/bench_io_json.py --records 200000 --repeat 5

The records: a text id of 1,000 devices, an integer sequence, a float, a boolean and a mostly-null text. Each
figure is the median wall time over the repetitions, the readers taking turns; the frames of the two kernel
paths are compared (identical, or the script fails).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.json as pj  # type: ignore[import-untyped]
from kernel_io import json_records
from kernel_io.json_records import read_json


def _write(path: Path, records: int) -> None:
    rng = np.random.default_rng(0)
    temps = rng.normal(20, 5, records)
    with path.open("w") as out:
        for i in range(records):
            row = {"device_id": f"dev-{i % 1000:04d}", "seq": i, "temp": float(temps[i]), "ok": bool(i % 3),
                   "note": None if i % 7 else "checked"}
            out.write(json.dumps(row) + "\n")


def _record_by_record(path: Path) -> pd.DataFrame:
    original = json_records._read_lines_columnar
    json_records._read_lines_columnar = lambda _: None
    try:
        return read_json(path)
    finally:
        json_records._read_lines_columnar = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        _write(path, args.records)
        readers: dict[str, Callable[[], Any]] = {
            "kernel_io.read_json": lambda: read_json(path),
            "the same, record by record": lambda: _record_by_record(path),
            "pyarrow.json.read_json": lambda: pj.read_json(path),
            "polars.read_ndjson": lambda: pl.read_ndjson(path),
        }
        pd.testing.assert_frame_equal(read_json(path), _record_by_record(path), check_exact=True)
        times: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.repeat):
            for name, read in readers.items():
                started = time.perf_counter()
                read()
                times[name].append(time.perf_counter() - started)
        size = path.stat().st_size / 1e6
        print(f"{args.records:,} records, {size:.0f} MB of JSON lines, median of {args.repeat}")
        ours = statistics.median(times["kernel_io.read_json"])
        for name, found in times.items():
            median = statistics.median(found)
            print(f"  {name:<30} {median:7.3f} s  ({median / ours:5.2f}x kernel_io.read_json)")


if __name__ == "__main__":
    main()
