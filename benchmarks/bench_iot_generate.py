"""Time and peak memory of the IoT showcase's data generator.

    python benchmarks/bench_iot_generate.py --devices 1000 --days 7     # the benchmark size, ~10M records
    python benchmarks/bench_iot_generate.py --devices 200 --codec deflate --keep DIR

Prints the wall time of ``generate`` (everything: plan, records, Avro, JSON, manifest), records per
second, the process's peak resident memory (``ru_maxrss``) before and after, and the bytes written.
For scale it also times ``fastavro.writer`` alone on 200,000 of the written records as dicts, the
way that writing every record through fastavro would go (dicts made ahead, so this is its floor).
"""

from __future__ import annotations

import argparse
import copy
import io
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import fastavro
from kernel_iot.generate import generate
from kernel_iot.schemas import TELEMETRY


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def plain_longs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with timestamps as plain longs: the records then hold integers, as the generator has them."""
    schema = copy.deepcopy(schema)
    for field in schema["fields"]:
        kinds = field["type"] if isinstance(field["type"], list) else [field["type"]]
        for i, kind in enumerate(kinds):
            if isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis":
                kinds[i] = "long"
        field["type"] = kinds if isinstance(field["type"], list) else kinds[0]
    return schema


def fastavro_writer_us(path: Path, n: int) -> tuple[float, int]:
    with path.open("rb") as fo:
        reader = fastavro.reader(fo, reader_schema=plain_longs(TELEMETRY))
        rows = [row for _, row in zip(range(n), reader, strict=False)]
    start = time.perf_counter()
    fastavro.writer(io.BytesIO(), fastavro.parse_schema(TELEMETRY), rows)
    return (time.perf_counter() - start) / max(len(rows), 1) * 1e6, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--codec", choices=("null", "deflate"), default="null")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the data set")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="iot-bench-")) if args.keep is None else None
    out: Path = args.keep if tmp is None else tmp / "data"
    try:
        before = peak_rss_mb()
        start = time.perf_counter()
        summary = generate(out, devices=args.devices, days=args.days, seed=args.seed, codec=args.codec)
        seconds = time.perf_counter() - start
        after = peak_rss_mb()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        n = summary.telemetry_records
        print(f"devices {args.devices}, days {args.days}, seed {args.seed}, codec {args.codec}")
        print(f"telemetry records {n:,} in {len(summary.telemetry_files)} files; events {summary.events:,}; "
              f"anomalies {summary.anomalies:,}")
        print(f"wall time {seconds:.1f} s ({n / seconds:,.0f} records/s, {seconds / n * 1e6:.2f} us/record)")
        print(f"peak RSS {after:,.0f} MB (after imports: {before:,.0f} MB); written {size / 1e6:,.0f} MB")
        us, sample = fastavro_writer_us(summary.telemetry_files[0], 200_000)
        print(f"for scale: fastavro.writer alone on {sample:,} ready dicts: {us:.2f} us/record "
              f"(~{us * n / 1e6:,.0f} s for all)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
