"""How long a command takes before it does anything, and a run's fixed cost, beside the bare interpreter.

    python benchmarks/bench_startup.py              # 7 repetitions
    python benchmarks/bench_startup.py --repeat 3

Each figure is the median wall time of a fresh process (the ``kernel`` script of this environment), the cases
taking turns within each repetition. Anchors: ``python -c pass`` (the interpreter alone) and an import of what
every command needs (click, pydantic, pluggy, blinker, PyYAML), and the floor of a run: that, pandas, pyarrow
and networkx, started and ended as the kernel's command line is (one BLAS thread, the garbage collector paused
while it imports, its objects frozen at the end: kernel/startup.py, kernel/entry.py).
``showcase list`` reads the hundred showcases' pipeline files. "run" is a two-step pipeline (read a 2-row CSV,
write Parquet) with the default plugins, and with the tracker, validator, report and cache switched off (``-p
no:NAME``). Bytecode caches are written (the first round warms them), as in a user's environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "showcases" / "007-iot-windowed-kpi" / "pipeline.yaml"
LISTENERS_OFF = ["-p", "no:tracker", "-p", "no:validator", "-p", "no:report", "-p", "no:cache"]


def _kernel() -> list[str]:
    script = Path(sys.executable).with_name("kernel")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kernel"]


def _cases(work: Path) -> dict[str, list[str]]:
    kernel = _kernel()
    flagship = [str(FLAGSHIP), "--param", "data=unused", "--param", "gold=unused"]
    pipeline = work / "two.yaml"
    (work / "in.csv").write_text("a,b\n1,x\n2,y\n")
    pipeline.write_text(
        "name: two\nsteps:\n"
        f"  - {{name: read, uses: io.read, settings: {{path: {work / 'in.csv'}}}}}\n"
        "  - {name: write, uses: io.write, needs: {frame: read}, settings: {path: '${run.dir}/out.parquet'}}\n"
    )
    runs = ["--runs-dir", str(work / "runs")]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import click, pydantic, pluggy, blinker, yaml": [sys.executable, "-c",
                                                          "import click, pydantic, pluggy, blinker, yaml"],
        "import pandas, pyarrow": [sys.executable, "-c", "import pandas, pyarrow"],
        # what no run can do without, starting and ending as the kernel's command line does (kernel/entry.py):
        # one BLAS thread, the collector paused while it imports, its objects frozen at the end
        "import all of the above, networkx; freeze": [
            sys.executable, "-c", "import os; os.environ.update(OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1', "
                                  "MKL_NUM_THREADS='1'); import gc; gc.disable(); "
                                  "import click, pydantic, pluggy, blinker, yaml, pandas, pyarrow, networkx; "
                                  "gc.freeze()"],
        "kernel --help": [*kernel, "--help"],
        "kernel steps": [*kernel, "steps"],
        "kernel plugins": [*kernel, "plugins"],
        "kernel showcase list": [*kernel, "showcase", "list"],
        "kernel validate (flagship)": [*kernel, "validate", *flagship],
        "kernel graph (flagship)": [*kernel, "graph", *flagship],
        "kernel run (2 steps)": [*kernel, "run", str(pipeline), *runs],
        "kernel run (2 steps, no listeners)": [*kernel, "run", str(pipeline), *runs, *LISTENERS_OFF],
    }


def _time(command: list[str]) -> float:
    # No live console; and bytecode caches written as in a user's environment (this machine's shell sets
    # PYTHONDONTWRITEBYTECODE, which would compile the kernel's modules anew in every process: about 0.1 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"CI": "true"}
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        cases = _cases(work)
        for command in cases.values():  # warm the file cache once
            _time(command)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, command in cases.items():
                times[name].append(_time(command))
        bare = statistics.median(times["python -c pass"])
        print(f"median wall time of {args.repeat} fresh processes")
        for name, found in times.items():
            median = statistics.median(found)
            print(f"  {name:<44} {median:6.3f} s  ({median - bare:+.3f} s over the bare interpreter)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
