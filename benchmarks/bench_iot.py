"""The flagship showcase at scale: wall time per step and peak memory, beside polars reading its files.

    python benchmarks/bench_iot.py                       # 1,000 devices x 7 days (about 10 million records)
    python benchmarks/bench_iot.py --devices 100 --days 2
    python benchmarks/bench_iot.py --bare                # also a bare fastavro decode (a minute more)
    python benchmarks/bench_iot.py --repeat 5            # 5 fresh processes, one after another: each
                                                         # run's figures on a line, then their medians

Generates the data set (once, into --data), runs the whole pipeline through the kernel as
`kernel run` does, then, in the same process, reads the same telemetry files with ``polars.read_avro``
(the anchor: a columnar decoder in Rust) and, with ``--bare``, decodes them with fastavro into
DataFrames (one per file, then concatenated). Like ``kernel run``, the process keeps the memory it
frees (``kernel/memory.py``; ``KERNEL_RETURN_FREED_MEMORY=1`` runs it as a program importing the kernel
would). Peak memory is the largest resident set size sampled every 20 ms during each phase, also per
step; the pipeline's CPU time (all threads) is split into user and system time, the latter mostly the
kernel giving the process fresh zeroed memory (page faults, also per step and for polars' read). What a
fresh page costs is measured too, before the pipeline and after polars' read: on a virtual machine it swings
with the host (1.5 to 7.2 us on this machine, 2026-12-06), and with it the pipeline's time, which takes about four times
the page faults polars' read does.
"""

from __future__ import annotations

# First, as `kernel run` does: before NumPy's and Arrow's threads exist, so that every thread allocates from
# the one kept heap (asked later, a thread started at import keeps an arena of its own: about 60 MB more at
# the flagship's peak than `kernel run` holds).
from kernel.memory import keep_freed_memory

KEPT = keep_freed_memory() if __name__ == "__main__" else False  # imported (for peak_rss): nothing asked

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from importlib.resources import files  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import fastavro  # noqa: E402
import pandas as pd  # noqa: E402
from kernel_iot.generate import generate  # noqa: E402

from kernel import Kernel, Run, load_pipeline, signals  # noqa: E402
from kernel.events import StepCompleted, StepStarted  # noqa: E402
from kernel.logs import configure_run_log  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def peak_rss(running: dict[str, int] | None = None) -> Iterator[Callable[[], int]]:
    """The largest RSS sampled every 20 ms; with ``running`` (step -> its peak so far, for the steps running
    now), each running step's peak too."""
    peak = [rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            rss = rss_bytes()
            peak[0] = max(peak[0], rss)
            if running is not None:
                for name, seen in list(running.items()):
                    running[name] = max(seen, rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0]
    finally:
        done.set()
        thread.join()


def polars_read(telemetry: Path) -> int:
    import polars as pl

    return sum(pl.read_avro(path).height for path in sorted(telemetry.glob("*.avro")))


def fresh_page_us(megabytes: int = 256) -> float:
    """What a page of fresh memory costs here now: microseconds per 4 KB page, touched once in a new mapping
    (not from malloc, which this process may keep and reuse). On a virtual machine this swings with the host."""
    import mmap

    import numpy as np

    size = megabytes << 20
    with mmap.mmap(-1, size) as mapping:
        pages = np.frombuffer(mapping, dtype=np.uint8)[:: mmap.PAGESIZE]
        t0 = time.perf_counter()
        pages[:] = 1  # one write a page: the page fault is the cost
        seconds = time.perf_counter() - t0
        del pages
    return seconds / (size // mmap.PAGESIZE) * 1e6


def bare_decode(telemetry: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(telemetry.glob("*.avro")):
        with path.open("rb") as handle:
            frames.append(pd.DataFrame.from_records(list(fastavro.reader(handle))))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="data directory (generated if missing)")
    parser.add_argument("--bare", action="store_true", help="also decode the telemetry with fastavro")
    parser.add_argument("--partitions", type=int, default=1, help="the pipeline's partitions parameter")
    parser.add_argument("--executor", default=None, help="inline (default), threads, processes, dask")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes, one after another; medians")
    parser.add_argument("--summary", action="store_true", help=argparse.SUPPRESS)  # a repetition's last line
    args = parser.parse_args()
    if args.repeat > 1:
        repeat(args.repeat)
        return
    data = args.data or Path(tempfile.gettempdir()) / f"iot-bench-{args.devices}x{args.days}-s{args.seed}"
    if not data.exists():
        t0 = time.perf_counter()
        summary = generate(data, devices=args.devices, days=args.days, seed=args.seed)
        print(f"generated {summary.telemetry_records:,} telemetry records in {time.perf_counter() - t0:.1f} s")
    manifest = json.loads((data / "manifest.json").read_text())
    records = manifest.get("telemetry", {}).get("records")
    pipeline_file = Path(str(files("kernel_showcases") / "007-iot-windowed-kpi" / "pipeline.yaml"))
    page_us_before = fresh_page_us()
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = load_pipeline(pipeline_file, {"data": str(data), "refresh": f"{args.days}d",
                                                 "partitions": args.partitions,
                                                 "gold": str(Path(tmp) / "gold")})
        handle = configure_run_log(Path(tmp) / "log.jsonl")
        kept = KEPT  # as `kernel run` does (KERNEL_RETURN_FREED_MEMORY=1: as a program would)
        kernel = Kernel()
        running: dict[str, int] = {}  # step -> peak RSS while it runs (steps that overlap share peaks)
        step_peaks: dict[str, int] = {}
        inputs_bytes: list[int] = []

        cpu_at: dict[str, resource.struct_rusage] = {}
        # user and system seconds of the process while the step ran, and the page faults it took
        step_cpu: dict[str, tuple[float, float, int]] = {}

        def started(sender: Run, *, event: StepStarted, **_: object) -> None:
            running[event.step.name] = rss_bytes()
            cpu_at[event.step.name] = resource.getrusage(resource.RUSAGE_SELF)

        def ended(sender: Run, *, event: StepCompleted, **_: object) -> None:
            step_peaks[event.step.name] = max(running.pop(event.step.name, 0), rss_bytes())
            now, then = resource.getrusage(resource.RUSAGE_SELF), cpu_at.pop(event.step.name)
            step_cpu[event.step.name] = (now.ru_utime - then.ru_utime, now.ru_stime - then.ru_stime,
                                         now.ru_minflt - then.ru_minflt)
            if event.step.name == "ingest":  # the input, as the pipeline holds it in memory
                inputs_bytes.append(sum(int(event.outputs[key].memory_usage(deep=True).sum())
                                        for key in event.outputs))

        signals.step_start.connect(started)
        signals.step_complete.connect(ended)
        base_mb = rss_bytes() / 2**20
        with peak_rss(running) as pipeline_peak:
            t0, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            result = kernel.run(pipeline, runs_root=Path(tmp) / "runs", executor=args.executor, workers=args.workers)
            pipeline_s = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_SELF)
            user_s, system_s = after.ru_utime - used.ru_utime, after.ru_stime - used.ru_stime
            faults = after.ru_minflt - used.ru_minflt
        handle.close()
        signals.step_start.disconnect(started)
        signals.step_complete.disconnect(ended)
        assert result.ok, result.record.error
        pipeline_mb = pipeline_peak() / 2**20
        steps: dict[str, Any] = {name: s.duration_s for name, s in result.record.steps.items()}
        del result
    polars_base = rss_bytes()  # the pipeline's process may keep the memory it freed (kernel/memory.py)
    with peak_rss() as polars_peak:
        t0, faults_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        rows = polars_read(data / "telemetry")
        polars_s = time.perf_counter() - t0
        polars_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    page_us = fresh_page_us()
    print(f"telemetry records: {rows:,}" + (f" (manifest: {records:,})" if records else ""))
    print(f"{'step':<20} {'wall s':>9} {'user s':>7} {'system s':>9} {'page faults':>12} {'peak RSS MB':>12}"
          "   (CPU and faults: all threads)")
    for name, seconds in steps.items():
        user, system, step_faults = step_cpu.get(name, (0.0, 0.0, 0))
        print(f"{name:<20} {seconds:>9.2f} {user:>7.2f} {system:>9.2f} {step_faults:>12,} "
              f"{step_peaks.get(name, 0) / 2**20:>12,.0f}")
    print(f"{'whole pipeline':<20} {pipeline_s:>9.2f}   peak RSS {pipeline_mb:,.0f} MB "
          f"({pipeline_mb - base_mb:,.0f} MB above the {base_mb:,.0f} MB before the run)")
    if inputs_bytes:
        input_mb = inputs_bytes[0] / 2**20
        print(f"{'':<20} input in memory (ingest's outputs, deep): {input_mb:,.0f} MB; peak above the start / "
              f"input: {(pipeline_mb - base_mb) / input_mb:.2f}x")
    print(f"{'':<20} CPU: user {user_s:.2f} s, system {system_s:.2f} s (page faults: {faults:,}), all threads; "
          f"freed memory {'kept' if kept else 'returned'} (kernel/memory.py)")
    print(f"{'polars.read_avro':<20} {polars_s:>9.2f}   peak RSS {polars_peak() / 2**20:,.0f} MB "
          f"({(polars_peak() - polars_base) / 2**20:,.0f} MB above its start; page faults: {polars_faults:,})")
    print(f"pipeline / polars.read_avro: {pipeline_s / polars_s:.2f}x; ingest / polars.read_avro: "
          f"{steps['ingest'] / polars_s:.2f}x")
    print(f"fresh memory here: {page_us_before:.2f} us a 4 KB page before the pipeline, {page_us:.2f} us after "
          "polars (256 MB touched once in a new mapping)")
    if args.summary:
        print("SUMMARY " + json.dumps({
            "pipeline_s": pipeline_s, "polars_s": polars_s, "ratio": pipeline_s / polars_s,
            "ingest_ratio": steps["ingest"] / polars_s, "faults": faults, "polars_faults": polars_faults,
            "peak_over_input": (pipeline_mb - base_mb) / (inputs_bytes[0] / 2**20) if inputs_bytes else None,
            "page_us_before": page_us_before, "page_us_after": page_us}))
    if args.bare:
        with peak_rss() as decode_peak:
            t0 = time.perf_counter()
            frame = bare_decode(data / "telemetry")
            decode_s = time.perf_counter() - t0
        del frame
        print(f"{'bare fastavro decode':<20} {decode_s:>9.2f}   peak RSS {decode_peak() / 2**20:,.0f} MB")


def repeat(times: int) -> None:
    """Run this benchmark ``times`` times, each in a fresh process with the same arguments; print each run's
    figures on a line, then their medians (this machine is noisy: one run says little)."""
    argv: list[str] = []
    given = iter(sys.argv[1:])
    for arg in given:  # the same arguments but --repeat
        if arg == "--repeat":
            next(given, None)
        elif not arg.startswith("--repeat="):
            argv.append(arg)
    runs: list[dict[str, Any]] = []
    print(f"{'run':<5} {'pipeline s':>10} {'polars s':>9} {'ratio':>6} {'ingest':>7} {'faults':>9} "
          f"{'polars':>8} {'peak/input':>10} {'page us (before-after)':>22}")
    for n in range(1, times + 1):
        done = subprocess.run([sys.executable, __file__, *argv, "--summary"], capture_output=True, text=True,
                              check=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith("SUMMARY "))
        run = json.loads(line.removeprefix("SUMMARY "))
        runs.append(run)
        print(f"{n:<5} {run['pipeline_s']:>10.2f} {run['polars_s']:>9.2f} {run['ratio']:>5.2f}x "
              f"{run['ingest_ratio']:>6.2f}x {run['faults']:>9,} {run['polars_faults']:>8,} "
              f"{run['peak_over_input'] or 0:>9.2f}x {run['page_us_before']:>5.2f}-{run['page_us_after']:.2f}")
    med = {key: statistics.median(r[key] for r in runs) for key in ("pipeline_s", "polars_s", "ratio",
                                                                    "ingest_ratio", "peak_over_input")}
    print(f"{'median':<5} {med['pipeline_s']:>10.2f} {med['polars_s']:>9.2f} {med['ratio']:>5.2f}x "
          f"{med['ingest_ratio']:>6.2f}x {'':>9} {'':>8} {med['peak_over_input']:>9.2f}x")


if __name__ == "__main__":
    main()
