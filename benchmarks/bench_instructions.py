"""The kernel's cost per step in machine instructions, which the machine's load does not move.

    python benchmarks/bench_instructions.py                  # 2,000-step chain, no listener
    python benchmarks/bench_instructions.py --listener       # a counting receiver on all eight signals

Runs this script twice under ``valgrind --tool=cachegrind --cache-sim=no`` (valgrind must be on the
PATH): once executing the plan once, once executing it twice, with the garbage collector off in both;
the difference, divided by the number of steps, is what one ``Runner`` construction and ``execute``
cost per step (string hashing is seeded the same in every run, and the once-a-second rewrite of
``run.json`` while a run goes on is left out: valgrind's slowdown would multiply it). Wall times (``bench_overhead.py``)
are what users see; this count is for comparing two versions of the code on a noisy machine. Each
valgrind run takes about a minute.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_overhead import STEPS, chain

from kernel import Kernel, signals
from kernel.config import Pipeline
from kernel.logs import configure_run_log
from kernel.run import Runner


def execute(steps: int, runs: int, listener: bool) -> None:
    """The measured program: plan a chain, then run it ``runs`` times."""
    gc.disable()
    kernel = Kernel(entry_points=False, plugins=[("bench", STEPS)])
    plan = kernel.plan(Pipeline.model_validate(chain(steps)))

    def count(sender: object, **_: object) -> None:
        return None

    if listener:
        for sig in signals.ALL:
            sig.connect(count)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            run_dir = Path(tmp) / f"run{i}"
            handle = configure_run_log(run_dir / "log.jsonl")
            runner = Runner(plan, kernel.pm, run_id=f"run{i}", run_dir=run_dir)
            # run.json is rewritten at most once a second while a run goes on: under valgrind, 50 times
            # slower, that would be 50 times as often per step as in real time. Only the first and the
            # last write are counted here.
            runner._writer.interval_s = float("inf")
            assert runner.execute().ok
            handle.close()


def instructions(steps: int, runs: int, listener: bool) -> int:
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--inner", str(runs), "--steps", str(steps)]
    command += ["--listener"] if listener else []
    # A fixed hash seed: string hashing decides dict and set layouts, and with them some of the count.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--listener", action="store_true")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)  # the program valgrind runs
    args = parser.parse_args()
    if args.inner:
        execute(args.steps, args.inner, args.listener)
        return
    once, twice = (instructions(args.steps, runs, args.listener) for runs in (1, 2))
    listener = "one counting listener" if args.listener else "no listener"
    print(f"chain of {args.steps} steps, {listener}: {(twice - once) / args.steps:,.0f} instructions per step")


if __name__ == "__main__":
    main()
