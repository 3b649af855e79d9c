"""Records per second of the declarative data generator (kernel_datagen), per format.

    python benchmarks/bench_datagen.py                       # retail-orders at scale 200: ~1M orders
    python benchmarks/bench_datagen.py --scale 1000 --repeat 3
    python benchmarks/bench_datagen.py --spec my/data.yaml --scale 10

Generates the spec (the retail-orders showcase's by default) with every table in one format, for each
format in turn, ``--repeat`` times, and prints the median wall time of ``generate`` (columns, defects,
files, manifest), records per second and megabytes written; then the same without defects, which says
what declaring them costs. Each run writes into a fresh temporary directory. For scale it also times
``fastavro.writer`` alone on 200,000 of the written Avro records as ready dicts: the floor of writing
each record through fastavro, as a per-record generator would.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import fastavro
from kernel_datagen import DataSpec, generate, read_spec
from kernel_datagen.spec import Defects, Reference

FORMATS = ("avro", "json", "csv", "parquet")


def in_format(spec: DataSpec, fmt: str, defects: bool) -> DataSpec:
    tables = {}
    for name, table in spec.tables.items():
        update: dict[str, object] = {"format": fmt}
        if not defects:
            update["defects"] = Defects()
            update["columns"] = {c: col.model_copy(update={"distribution": col.distribution.model_copy(
                update={"orphans": 0.0})}) if isinstance(col.distribution, Reference) else col
                for c, col in table.columns.items()}
        tables[name] = table.model_copy(update=update)
    return spec.model_copy(update={"tables": tables})


def fastavro_writer_us(spec: DataSpec, scale: float, n: int) -> tuple[float, int]:
    tmp = Path(tempfile.mkdtemp(prefix="datagen-bench-"))
    try:
        generate(in_format(spec, "avro", True), tmp, scale=scale, seed=1)
        rows: list[Any] = []
        schema: Any = None
        for path in sorted(tmp.rglob("*.avro"), key=lambda p: -p.stat().st_size)[:1]:
            with path.open("rb") as fo:
                reader = fastavro.reader(fo)
                schema = reader.writer_schema
                rows = [row for _, row in zip(range(n), reader, strict=False)]
        start = time.perf_counter()
        fastavro.writer(io.BytesIO(), fastavro.parse_schema(schema), rows)
        return (time.perf_counter() - start) / max(len(rows), 1) * 1e6, len(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(spec: DataSpec, scale: float, repeat: int) -> tuple[list[float], int, int]:
    times, rows, size = [], 0, 0
    for _ in range(repeat):
        tmp = Path(tempfile.mkdtemp(prefix="datagen-bench-"))
        try:
            start = time.perf_counter()
            manifest = generate(spec, tmp / "data", scale=scale, seed=1)
            times.append(time.perf_counter() - start)
            rows = manifest.rows
            size = sum(p.stat().st_size for p in (tmp / "data").rglob("*") if p.is_file())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return times, rows, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path(str(files("kernel_showcases") / "001-retail-orders" /
                                                                "data.yaml")))
    parser.add_argument("--scale", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = read_spec(args.spec)
    print("$ python benchmarks/bench_datagen.py " + " ".join(sys.argv[1:]))
    print(f"spec {args.spec.name} ({', '.join(spec.tables)}), scale {args.scale:g}, medians of {args.repeat}")
    print(f"{'format':10} {'defects':8} {'rows':>10} {'median s':>9} {'records/s':>11} {'MB':>7}   runs (s)")
    last = 0
    for defects in (True, False):
        for fmt in FORMATS:
            times, rows, size = run(in_format(spec, fmt, defects), args.scale, args.repeat)
            median = statistics.median(times)
            print(f"{fmt:10} {'yes' if defects else 'no':8} {rows:>10,} {median:>9.3f} {rows / median:>11,.0f} "
                  f"{size / 1e6:>7.1f}   {', '.join(f'{t:.3f}' for t in times)}")
            last = rows
    us, sample = fastavro_writer_us(spec, args.scale, 200_000)
    print(f"for scale: fastavro.writer alone on {sample:,} ready dicts: {us:.2f} us/record "
          f"({1e6 / us:,.0f} records/s; ~{us * last / 1e6:.1f} s for all)")


if __name__ == "__main__":
    main()
