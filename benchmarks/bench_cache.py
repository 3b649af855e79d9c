"""What the step cache saves and costs.

    python benchmarks/bench_cache.py [--devices 300] [--days 7] [--rows 10000000] [--chain 500] [--repeat 3]

1. The flagship showcase, each run a fresh ``kernel`` process as a user starts it, on one data set:
   without the cache plugin (``-p no:cache``), a first run with an empty cache (which stores every
   step's outputs), the same run again with nothing changed, and a run with one setting of
   ``firmware_adoption`` changed. Wall time of each, and what each step did (ran or reused, and why).
2. Bookkeeping: a chain of ``--chain`` no-op steps (each a 3-row frame) in one process, without the
   cache plugin, with an empty cache (an entry stored per step) and again (every step reused): ms per step.
3. Fingerprinting: the cache's content fingerprint of a frame of ``--rows`` rows (int64, float64, a UTC
   timestamp, a categorical), in GB/s of the frame's memory, beside one plain pass over the same bytes
   (an XOR reduction over them as 64-bit words) and pandas' ``hash_pandas_object``; and a text column
   of the same length. Medians of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from kernel_cache.fingerprint import frame_fingerprint

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = REPO / "showcases" / "007-iot-windowed-kpi" / "pipeline.yaml"


def _kernel(*args: str, cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kernel {' '.join(args)} failed:\n{done.stderr}")
    run_dir = next(line.split("run directory: ", 1)[1] for line in done.stdout.splitlines() if "run directory:" in line)
    return wall, json.loads((cwd / run_dir / "run.json").read_text())


def flagship(devices: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "KERNEL_CACHE_DIR": str(root / "cache")}
        data = root / "data"
        subprocess.run([sys.executable, "-m", "kernel", "showcase", "data", "iot-windowed-kpi", "--out", str(data),
                        "--devices", str(devices), "--days", str(days)], check=True, env=env, capture_output=True)
        base = ["run", str(FLAGSHIP), "--param", f"data={data}", "--param", f"gold={root / 'gold'}"]
        cases = [
            ("no cache plugin", [*base, "-p", "no:cache"]),
            ("first run, empty cache", base),
            *[(f"again, nothing changed ({i + 1})", base) for i in range(3)],
            ("firmware_targets changed", [*base, "--param", 'firmware_targets={"TH-100": "2.1.0"}']),
        ]
        print(f"flagship, {devices} devices x {days} days, one kernel process per run:")
        walls: dict[str, float] = {}
        durations: dict[str, float] = {}
        for name, args in cases:
            wall, record = _kernel(*args, cwd=root, env=env)
            walls[name] = wall
            durations[name] = float(record["duration_s"])  # type: ignore[arg-type]
            steps = record["steps"]
            ran = [n for n, s in steps.items() if s.get("cache") != "hit"]
            took = f"wall {wall:7.2f} s, run {record['duration_s']:7.2f} s"
            print(f"  {name:<26} {took}; ran: {', '.join(ran) or 'none'}")
            for n in ran:
                if steps[n].get("cache_reason"):
                    print(f"      {n}: {steps[n]['cache_reason']}")
        again = statistics.median(walls[f"again, nothing changed ({i + 1})"] for i in range(3))
        again_run = statistics.median(durations[f"again, nothing changed ({i + 1})"] for i in range(3))
        first, first_run = walls["first run, empty cache"], durations["first run, empty cache"]
        print(f"  again (median of 3) / first run: wall {again / first:.3f}, run {again_run / first_run:.3f}; "
              f"first run / no cache plugin: wall {first / walls['no cache plugin']:.3f}")


def _median(repeat: int, measure: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        measure()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fingerprints(rows: int, repeat: int) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "id": rng.integers(0, 1 << 40, rows),
        "value": rng.random(rows),
        "at": pd.to_datetime(rng.integers(1_700_000_000_000, 1_800_000_000_000, rows), unit="ms", utc=True),
        "kind": pd.Categorical.from_codes(rng.integers(0, 20, rows), categories=[f"k{i}" for i in range(20)]),
    })
    size = int(frame.memory_usage(index=False, deep=False).sum())
    words = [np.ascontiguousarray(frame[c].to_numpy()).view(np.uint8) for c in ("id", "value")] + [
        frame["at"].array.asi8.view(np.uint8), frame["kind"].cat.codes.to_numpy().view(np.uint8)
    ]

    def plain() -> None:
        for w in words:
            usable = w[: len(w) // 8 * 8].view(np.uint64)
            np.bitwise_xor.reduce(usable)
            np.bitwise_xor.reduce(w[len(w) // 8 * 8:])

    ours = _median(repeat, lambda: frame_fingerprint(frame))
    read = _median(repeat, plain)
    pandas_hash = _median(repeat, lambda: pd.util.hash_pandas_object(frame, index=False))
    print(f"fingerprint of {rows:,} rows x 4 columns ({size / 1e9:.2f} GB in memory), medians of {repeat}:")
    print(f"  cache fingerprint   {ours:7.3f} s  {size / ours / 1e9:6.2f} GB/s")
    print(f"  plain pass (xor)    {read:7.3f} s  {size / read / 1e9:6.2f} GB/s")
    print(f"  hash_pandas_object  {pandas_hash:7.3f} s  {size / pandas_hash / 1e9:6.2f} GB/s")
    text = pd.Series(rng.integers(0, 1_000_000, rows).astype(str))
    text_bytes = int(text.str.len().sum())
    took = _median(repeat, lambda: frame_fingerprint(text.to_frame("s")))
    print(f"  a text column of {rows:,} values ({text_bytes / 1e6:.0f} MB of characters, {text.dtype}): "
          f"{took:.3f} s, {rows / took / 1e6:.1f} million values/s")


def bookkeeping(steps: int) -> None:
    import kernel_cache.plugin
    from noop_steps import NoopSteps, chain

    from kernel import Kernel
    from kernel.config import Pipeline

    frame = pd.DataFrame({"x": [1, 2, 3]})
    pipeline = Pipeline.model_validate({"name": "chain", "steps": chain(steps)})
    print(f"a chain of {steps} no-op steps, ms per step (one process, wall time of Kernel.run):")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KERNEL_CACHE_DIR"] = str(Path(tmp) / "cache")
        cases = [("no cache plugin", False), ("empty cache", True), ("again, all reused", True)]
        for name, cached in cases:
            plugins: list[tuple[str, object]] = [("bench", NoopSteps(frame))]
            if cached:
                plugins.append(("cache", kernel_cache.plugin))
            kernel = Kernel(entry_points=False, plugins=plugins)
            start = time.perf_counter()
            result = kernel.run(pipeline, runs_root=str(Path(tmp) / "runs"))
            took = time.perf_counter() - start
            assert result.ok, result.record.error
            print(f"  {name:<20} {took / steps * 1000:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chain", type=int, default=500)
    parser.add_argument("--skip-flagship", action="store_true")
    args = parser.parse_args()
    bookkeeping(args.chain)
    fingerprints(args.rows, args.repeat)
    if not args.skip_flagship:
        flagship(args.devices, args.days)


if __name__ == "__main__":
    main()
