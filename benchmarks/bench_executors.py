"""What each executor costs and gives: per-step overhead on a chain of no-op steps, beside Dask's own
floor (a bare ``client.submit`` chain), and the wall time of a fan-out of CPU-bound pandas steps.

    python benchmarks/bench_executors.py [--steps 1000] [--fan 8] [--rounds 250] [--workers 2] [--repeat 3]

Each case runs ``--repeat`` times and the median is printed; all cases run in one process, one after the
other, so that their ratios are measured under the same load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from noop_steps import CpuSteps, chain

from kernel import Kernel
from kernel.config import Pipeline
from kernel.logs import configure_quiet

EXECUTORS = ("inline", "threads", "processes", "dask")


def _kernel() -> Kernel:
    import kernel_dask.plugin

    return Kernel(entry_points=False, plugins=[("bench", CpuSteps()), ("dask", kernel_dask.plugin)])


def _run(kernel: Kernel, data: dict[str, Any], executor: str, workers: int) -> float:
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        result = kernel.run(Pipeline.model_validate(data), runs_root=runs, executor=executor, workers=workers)
        elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"{executor}: {result.record.error}")
    return elapsed


def _on_cluster(kernel: Kernel, data: dict[str, Any], workers: int) -> float:
    """The run on a cluster started before the clock starts (``--address``): the steps' cost alone."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
            tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        result = kernel.run(Pipeline.model_validate(data), runs_root=runs, executor="dask", workers=workers,
                            address=cluster.scheduler_address)
        elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"dask on a cluster: {result.record.error}")
    return elapsed


def _median(repeat: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeat))


def _dask_floor(steps: int, workers: int) -> tuple[float, float]:
    """Seconds for ``steps`` tasks on a LocalCluster: submitted one after another, each waited for (the
    round trips the kernel makes), and as one chain of dependent futures (no round trip)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.submit(_identity, 0).result()  # warm up
        start = time.perf_counter()
        for i in range(steps):
            client.submit(_identity, i, pure=False).result()
        waited = time.perf_counter() - start
        start = time.perf_counter()
        future = client.submit(_identity, 0, pure=False)
        for _ in range(steps - 1):
            future = client.submit(_identity, future, pure=False)
        future.result()
        chained = time.perf_counter() - start
    return waited, chained


def _identity(x: Any) -> Any:
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--fan", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_quiet()
    kernel = _kernel()

    print(f"(1) a chain of {args.steps} no-op steps, --workers {args.workers}: ms per step, median of {args.repeat}")
    data = {"name": "chain", "steps": chain(args.steps)}
    per_step = {}
    for executor in EXECUTORS:
        workers = 1 if executor == "inline" else args.workers
        per_step[executor] = _median(args.repeat, lambda e=executor, w=workers: _run(kernel, data, e, w)) / args.steps
    waited, chained = _dask_floor(args.steps, args.workers)
    for executor, seconds in per_step.items():
        print(f"  kernel, {executor:<10} {seconds * 1000:8.3f}")
    print(f"  dask client.submit(...).result() one by one {waited / args.steps * 1000:8.3f}")
    print(f"  dask client.submit chain of futures          {chained / args.steps * 1000:8.3f}")
    print(f"  kernel dask / submit one by one: {per_step['dask'] / (waited / args.steps):.2f}x, "
          f"/ chain: {per_step['dask'] / (chained / args.steps):.2f}x")

    print(f"(2) a fan-out of {args.fan} CPU-bound steps ({args.rounds} group-bys over 200,000 rows each), "
          f"--workers {args.workers}: wall s, median of {args.repeat}")
    fan = [{"name": f"cpu{i}", "uses": "bench.cpu", "settings": {"rounds": args.rounds, "seed": i}}
           for i in range(args.fan)]
    data = {"name": "fan", "steps": fan}
    walls = {}
    for executor in EXECUTORS:
        workers = 1 if executor == "inline" else args.workers
        walls[executor] = _median(args.repeat, lambda e=executor, w=workers: _run(kernel, data, e, w))
    walls["dask, cluster up"] = _median(args.repeat, lambda: _on_cluster(kernel, data, args.workers))
    for executor, seconds in walls.items():
        print(f"  {executor:<16} {seconds:8.2f}   speed-up over inline {walls['inline'] / seconds:5.2f}x")
    print(f"load average when done: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
