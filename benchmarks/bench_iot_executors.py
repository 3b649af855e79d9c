"""The flagship at scale on Dask, in parts, beside the whole run inline: wall time, peak memory of the
orchestrator and of each worker, and what came to the orchestrator (summaries, never frames).

    python benchmarks/bench_iot_executors.py                          # 1,000 devices x 7 days
    python benchmarks/bench_iot_executors.py --devices 100 --days 2 --workers 2 --partitions 4

Generates the data set once (the same directory as bench_iot.py's), then runs each case in a fresh
process, one after the other: the pipeline inline and whole, then on a LocalCluster of --workers
single-threaded worker processes (started before the clock starts; its start-up is printed apart) with
``--param partitions=N``. Peak memory is the largest resident set size: sampled every 20 ms in the
orchestrator, the workers' own high-water mark (``ru_maxrss``) read from them at the end. The two runs'
gold directories are compared byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from bench_iot import peak_rss
from kernel_iot.generate import generate

from kernel import Kernel, load_pipeline
from kernel.logs import configure_quiet


def _gold_digest(gold: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in gold.iterdir() if p.name != ".kernel-results.json"):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_case(case: str, data: Path, days: int, workers: int, partitions: int) -> dict[str, Any]:
    """One run, in this process: what the parent prints."""
    configure_quiet()
    pipeline_file = Path(str(files("kernel_showcases") / "007-iot-windowed-kpi" / "pipeline.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        params = {"data": str(data), "refresh": f"{days}d", "gold": str(Path(tmp) / "gold")}
        options: dict[str, Any] = {}
        found: dict[str, Any] = {"case": case}
        cluster = None
        if case == "dask":
            from distributed import LocalCluster

            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
            found["cluster_start_s"] = time.perf_counter() - t0
            params["partitions"] = str(partitions)
            options = {"executor": "dask", "address": cluster.scheduler_address, "workers": workers}
        pipeline = load_pipeline(pipeline_file, params)
        kernel = Kernel(disable=("cache",))  # every step computed
        with peak_rss() as peak:
            t0 = time.perf_counter()
            result = kernel.run(pipeline, runs_root=Path(tmp) / "runs", run_id="bench", **options)  # gold names it
            found["wall_s"] = time.perf_counter() - t0
        if not result.ok:
            raise SystemExit(f"{case}: {result.record.error}")
        found["orchestrator_peak_mb"] = peak() / 2**20
        found["steps"] = {n: s.duration_s for n, s in result.record.steps.items()}
        found["partitions"] = {n: s.partitions for n, s in result.record.steps.items() if s.partitions}
        found["transfer"] = result.record.transfer
        found["gold"] = _gold_digest(Path(tmp) / "gold")
        if cluster is not None:
            from distributed import Client

            with Client(cluster) as client:
                found["worker_peak_mb"] = sorted(client.run(_worker_peak_mb).values())
            cluster.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--data", type=Path, default=None, help="data directory (generated if missing)")
    parser.add_argument("--case", choices=("inline", "dask"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data or Path(tempfile.gettempdir()) / f"iot-bench-{args.devices}x{args.days}-s{args.seed}"
    if args.case is not None:
        print(json.dumps(run_case(args.case, data, args.days, args.workers, args.partitions)))
        return
    if not data.exists():
        t0 = time.perf_counter()
        summary = generate(data, devices=args.devices, days=args.days, seed=args.seed)
        print(f"generated {summary.telemetry_records:,} telemetry records in {time.perf_counter() - t0:.1f} s")
    records = json.loads((data / "manifest.json").read_text())["telemetry"]["records"]
    print(f"{args.devices} devices x {args.days} days: {records:,} telemetry records")
    found = {}
    for case in ("inline", "dask"):
        command = [sys.executable, __file__, "--case", case, "--data", str(data), "--days", str(args.days),
                   "--workers", str(args.workers), "--partitions", str(args.partitions)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{case} failed:\n{done.stdout}\n{done.stderr}")
        found[case] = json.loads(done.stdout.strip().splitlines()[-1])
    inline, dask = found["inline"], found["dask"]
    print(f"{'step':<18} {'inline s':>9} {'dask s':>9}  parts")
    for name in inline["steps"]:
        print(f"{name:<18} {inline['steps'][name]:>9.2f} {dask['steps'][name]:>9.2f}  "
              f"{dask['partitions'].get(name, '')}")
    print(f"{'whole run':<18} {inline['wall_s']:>9.2f} {dask['wall_s']:>9.2f}  "
          f"(speed-up {inline['wall_s'] / dask['wall_s']:.2f}x; the cluster's start-up, "
          f"{dask['cluster_start_s']:.1f} s, not counted)")
    print(f"peak RSS inline: {inline['orchestrator_peak_mb']:,.0f} MB")
    print(f"peak RSS dask: orchestrator {dask['orchestrator_peak_mb']:,.0f} MB, workers "
          f"{', '.join(f'{mb:,.0f}' for mb in dask['worker_peak_mb'])} MB ({args.workers} workers, "
          f"--param partitions={args.partitions})")
    transfer = dask["transfer"]
    print(f"to the orchestrator: {transfer['summaries']} summaries, {transfer['summary_bytes']:,} bytes; "
          f"{transfer['frames_fetched']} frames ({transfer['bytes_fetched']:,} bytes)")
    print(f"gold identical: {inline['gold'] == dask['gold']}")


if __name__ == "__main__":
    main()
