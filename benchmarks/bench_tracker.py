"""What the tracker costs: per-step overhead on small frames, and one snapshot of a 10-million-row frame.

    python benchmarks/bench_tracker.py                      # 1,000-step chain, 10M rows, 5 repetitions
    python benchmarks/bench_tracker.py --steps 1000 --rows 1000000 --repeat 3

(1) The wall time of ``Runner.execute`` divided by the number of steps, for a chain of no-op steps that return
a small 3-column frame (int, float, string), and a 300-column one (100 of each), with the structured log to a
file as the command line configures it: the kernel alone; the kernel with a listener that does nothing on the
two signals the tracker's per-step work hangs on (``step_start`` and ``step_complete``): the least any plugin
that listens pays; then the tracker (default settings, then without OpenLineage events, then with ``samples:
0``); "added" is the difference to the kernel alone on the same frames. The 300-column chain is run twice:
its steps return the same frame (a step that hands on what it got), then a new frame of the same columns
each (``frame.copy(deep=False)``, as a step that makes its own frame). Median over the repetitions. Each
run's directory is removed once it is measured, so that no run waits for the files of the runs before it to
reach the disk.

(2) ``take_snapshot`` of a frame with 8 columns of mixed dtypes (int64, int32, float64 with NaNs,
float32, str with missing values, tz-aware datetime, category with missing values, bool), median over
the repetitions, beside ``frame.isna().sum()`` for reference.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import kernel_tracker.plugin
import numpy as np
import pandas as pd
from kernel_tracker.snapshot import take_snapshot
from noop_steps import NoopSteps
from noop_steps import chain as chain_steps

from kernel import Kernel, Listener, Plan, Run, hookimpl, signals
from kernel.config import Pipeline
from kernel.logs import configure_run_log
from kernel.run import Runner

FRAME = pd.DataFrame({"id": [1, 2, 3], "amount": [1.5, float("nan"), 3.0], "name": ["a", "b", None]})
# 300 columns, 100 each of int64, float64 (with a NaN) and str (with a missing value), three rows.
WIDE = pd.DataFrame({f"{kind}{i}": FRAME[column] for i in range(100)
                     for kind, column in (("id", "id"), ("amount", "amount"), ("name", "name"))})


def steps_plugin(frame: pd.DataFrame = FRAME, *, copy: bool = False) -> NoopSteps:
    return NoopSteps(frame, copy=copy)


class NoopListenerPlugin:
    """Listens to the tracker's two per-step signals and does nothing: the floor under any listener plugin."""

    @staticmethod
    def nothing(sender: Run, **_: object) -> None:
        return None

    @hookimpl
    def connect_listeners(self, run: Run) -> list[Listener]:
        return [Listener(signals.step_start, self.nothing), Listener(signals.step_complete, self.nothing)]


def chain(n: int, tracker: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "chain", "steps": chain_steps(n)}
    if tracker is not None:
        data["plugins"] = {"settings": {"tracker": tracker}}
    return data


def run_once(kernel: Kernel, plan: Plan, run_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``Runner.execute``, with the run log as the command line writes it."""
    handle = configure_run_log(run_dir / "log.jsonl")
    runner = Runner(plan, kernel.pm, run_id=run_dir.name, run_dir=run_dir)
    gc.collect()  # every run starts with no garbage of the one before (the collector stays on during the run)
    wall, cpu = time.perf_counter(), time.process_time()
    result = runner.execute()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    handle.close()
    assert result.ok, result.record.error
    assert not result.record.listener_errors, result.record.listener_errors
    # Gone before the next run: the system writes a file's pages back to disk after a few seconds, and a
    # run that wrote while the last runs' 100 MB went to disk took twice as long here (writes wait).
    shutil.rmtree(run_dir)
    return wall, cpu


def big_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "qty": rng.integers(0, 100, rows).astype(np.int32),
        "price": np.where(rng.random(rows) < 0.05, np.nan, rng.random(rows)),
        "score": rng.random(rows).astype(np.float32),
        "name": pd.array(np.where(rng.random(rows) < 0.02, None, "item"), dtype="str"),
        "ts": pd.date_range("2024-01-01", periods=rows, freq="s", tz="UTC"),
        "cat": pd.Categorical.from_codes(rng.integers(-1, 5, rows), categories=list("abcde")),
        "flag": rng.random(rows) < 0.5,
    })


def median_ms(fn: Any, repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    bare = Kernel(entry_points=False, plugins=[("bench", steps_plugin())])
    tracked = Kernel(entry_points=False, plugins=[("bench", steps_plugin()), ("tracker", kernel_tracker.plugin)])
    listened = Kernel(entry_points=False, plugins=[("bench", steps_plugin()), ("noop", NoopListenerPlugin())])
    bare_wide = Kernel(entry_points=False, plugins=[("bench", steps_plugin(WIDE))])
    tracked_wide = Kernel(entry_points=False, plugins=[("bench", steps_plugin(WIDE)),
                                                       ("tracker", kernel_tracker.plugin)])
    bare_copied = Kernel(entry_points=False, plugins=[("bench", steps_plugin(WIDE, copy=True))])
    tracked_copied = Kernel(entry_points=False, plugins=[("bench", steps_plugin(WIDE, copy=True)),
                                                         ("tracker", kernel_tracker.plugin)])
    cases = [
        ("kernel alone", bare, None),
        ("a listener doing nothing", listened, None),
        ("tracker, defaults", tracked, {}),
        ("tracker, no OpenLineage", tracked, {"openlineage": {"enabled": False}}),
        ("tracker, samples 0, no OpenLineage", tracked, {"samples": 0, "openlineage": {"enabled": False}}),
        ("kernel alone, 300 columns", bare_wide, None),
        ("tracker, defaults, 300 columns", tracked_wide, {}),
        ("tracker, no OpenLineage, 300 columns", tracked_wide, {"openlineage": {"enabled": False}}),
        ("kernel alone, 300 columns, new frames", bare_copied, None),
        ("tracker, defaults, 300 columns, new frames", tracked_copied, {}),
        ("tracker, no OpenLineage, 300 columns, new frames", tracked_copied, {"openlineage": {"enabled": False}}),
    ]
    plans = [(label, kernel, kernel.plan(Pipeline.model_validate(chain(args.steps, settings))))
             for label, kernel, settings in cases]
    walls: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # the cases take turns, so a change in the machine's load hits them alike
            for j, (label, kernel, plan) in enumerate(plans):
                wall, cpu = run_once(kernel, plan, Path(tmp) / f"case{j}-{i}")
                walls[label].append(wall / args.steps * 1e6)
                cpus[label].append(cpu / args.steps * 1e6)
    print(f"(1) chain of {args.steps} no-op steps, 3-row frames of 3 (and 300) columns, median of {args.repeat}")
    print(f"{'case':<48} {'wall us/step':>13} {'added us':>9} {'cpu us/step':>12} {'added us':>9}")
    for label, _, _ in cases:
        base = ("kernel alone, 300 columns, new frames" if "new frames" in label
                else "kernel alone, 300 columns" if "300 columns" in label else "kernel alone")
        base_wall, base_cpu = statistics.median(walls[base]), statistics.median(cpus[base])
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        print(f"{label:<48} {wall:>13.1f} {wall - base_wall:>9.1f} {cpu:>12.1f} {cpu - base_cpu:>9.1f}")
    print(f"load average when done: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")

    frame = big_frame(args.rows)
    print(f"\n(2) snapshot of a {args.rows:,}-row frame, {frame.shape[1]} columns, median of {args.repeat}")
    print(f"{'case':<36} {'wall ms':>13} {'cpu ms':>21}")
    for label, fn in (("take_snapshot(frame, samples=3)", lambda: take_snapshot(frame, 3)),
                      ("frame.isna().sum() (reference)", lambda: frame.isna().sum())):
        wall, cpu = median_ms(fn, args.repeat)
        print(f"{label:<36} {wall:>13.1f} {cpu:>21.1f}")


if __name__ == "__main__":
    main()
