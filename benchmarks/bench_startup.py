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
no:NAME``). Bytecode caches are written (the first round warms them), as in a user's environment. Last,
each run's time over the floor's: the machine's speed moves both, their ratio far less (1.48x at a quick
hour and 1.49x at a slow one on 2026-12-06, when the run itself took 0.484 and 0.615 s).

``--phases`` says where the two-step run's time goes instead: each phase's median over fresh processes, timed
inside the process (the command's own functions wrapped with a clock), and the interpreter's start and exit
from outside it. It also says how the kernel is installed here: an editable install (``pip install -e``)
adds its import hook to every process's start (about 13 ms here), which ``pip install .`` does not.
"""

from __future__ import annotations

import argparse
import json
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


FLOOR = "import all of the above, networkx; freeze"


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
        FLOOR: [
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


def _env() -> dict[str, str]:
    # No live console; and bytecode caches written as in a user's environment (this machine's shell sets
    # PYTHONDONTWRITEBYTECODE, which would compile the kernel's modules anew in every process: about 0.1 s).
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"CI": "true"}


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - started


# Runs the two-step pipeline as ``kernel.entry.main`` does, with the command's phases timed; prints them as JSON.
PHASES = r"""
import json, sys, time
started = time.perf_counter()
from kernel.startup import one_blas_thread, pause_collector
one_blas_thread(); pause_collector()  # as kernel.entry.main starts
spent = {}
def add(label, since):
    spent[label] = spent.get(label, 0.0) + time.perf_counter() - since
def clocked(owner, name, label):
    inner = getattr(owner, name)
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            add(label, t)
    setattr(owner, name, timed)
t = time.perf_counter(); import kernel.cli; add("import the command line", t)
t = time.perf_counter(); import kernel.run; add("import what a run needs", t)
import kernel.app, kernel.graph, kernel.hooks
clocked(kernel.app.Kernel, "__init__", "find and load the plugins")
clocked(kernel.app.Kernel, "_plan", "plan")
clocked(kernel.graph.Plan, "loaded", "import the steps' modules")
clocked(kernel.run.Runner, "__init__", "make the runner")
execute = kernel.run.Runner.execute
depth = [0, 0]  # in execute; hooks under way
def executing(self):
    depth[0] += 1
    t = time.perf_counter()
    try:
        return execute(self)
    finally:
        add("execute", t)
        depth[0] -= 1
kernel.run.Runner.execute = executing
call = kernel.hooks.PluginHook.__call__
def hooked(self, **kwargs):
    depth[1] += 1
    t = time.perf_counter()
    try:
        return call(self, **kwargs)
    finally:
        depth[1] -= 1
        if depth[0] and not depth[1]:  # a plugin's hook in the run, not one it called itself
            add("hook " + self.hook, t)
kernel.hooks.PluginHook.__call__ = hooked
sys.argv = ["kernel", *sys.argv[1:]]
t = time.perf_counter()
try:
    kernel.cli.main()
except SystemExit:
    pass
add("the command", t)
import gc; gc.freeze()  # as kernel.entry.main ends
print(json.dumps({"started": started, "ended": time.perf_counter(), "spent": spent}), file=sys.stderr)
"""


LABELS = {
    "start": "start the interpreter (to the command's first line)",
    "import the command line": "import the command line (click, pydantic, the kernel's modules)",
    "import what a run needs": "import what a run needs (pandas, pyarrow, networkx, the runner)",
    "find and load the plugins": "find the plugins and import them (Kernel())",
    "rest": "the rest of the command (options, the pipeline file, what it prints)",
    "plan": "plan",
    "import the steps' modules": "import the step types' modules",
    "make the runner": "make the runner (structlog's import)",
    "execute": "execute the run",
    "hook connect_listeners": "  the plugins' connect_listeners (their listeners' modules)",
    "hook reuse_step": "  the plugins' reuse_step (the cache's lookups)",
    "hook after_run": "  the plugins' after_run (the report)",
    "other hooks": "  the plugins' other hooks",
    "steps": "  the steps, the signals and their listeners, run.json",
    "exit": "exit (Python's teardown)",
    "total": "total, from outside",
}


def _phases(work: Path, repeat: int) -> None:
    run = _cases(work)["kernel run (2 steps)"][1:]
    env = _env()
    found: dict[str, list[float]] = {}
    for round_ in range(repeat + 1):  # the first warms the caches
        spawned = time.perf_counter()  # the same clock as the child's (CLOCK_MONOTONIC)
        done = subprocess.run([sys.executable, "-c", PHASES, *run], check=True, capture_output=True, text=True,
                              env=env)
        gone = time.perf_counter()
        if round_ == 0:
            continue
        timed = json.loads(done.stderr.strip().splitlines()[-1])
        spent: dict[str, float] = timed["spent"]
        command, execute = spent.pop("the command"), spent["execute"]
        hooks = {k: v for k, v in spent.items() if k.startswith("hook ")}
        named = {k: hooks.pop(k, 0.0) for k in ("hook connect_listeners", "hook reuse_step", "hook after_run")}
        within = sum(v for k, v in spent.items() if not k.startswith("hook ") and not k.startswith("import "))
        phases = {"start": timed["started"] - spawned, **{k: v for k, v in spent.items() if not k.startswith("hook ")},
                  **named, "other hooks": sum(hooks.values()),
                  "steps": execute - sum(named.values()) - sum(hooks.values()), "rest": command - within,
                  "exit": gone - timed["ended"], "total": gone - spawned}
        for name, value in phases.items():
            found.setdefault(name, []).append(value)
    print(f"kernel run of two steps: median ms of {repeat} fresh processes ({_installed()})")
    for name, label in LABELS.items():
        print(f"  {label:<72} {statistics.median(found[name]) * 1e3:7.1f}")


def _installed() -> str:
    """How the kernel is installed in this environment: editable installs put an import hook in every start."""
    import importlib.metadata

    url = json.loads(importlib.metadata.distribution("pipeline-kernel").read_text("direct_url.json") or "{}")
    kind = "an editable install" if url.get("dir_info", {}).get("editable") else "installed"
    return f"{kind}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--phases", action="store_true", help="where the two-step run's time goes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        if args.phases:
            _phases(work, args.repeat)
            return
        cases = _cases(work)
        for command in cases.values():  # warm the file cache once
            _time(command)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, command in cases.items():
                times[name].append(_time(command))
        bare = statistics.median(times["python -c pass"])
        print(f"median wall time of {args.repeat} fresh processes ({_installed()})")
        for name, found in times.items():
            median = statistics.median(found)
            print(f"  {name:<44} {median:6.3f} s  ({median - bare:+.3f} s over the bare interpreter)")
        # The run beside its floor: both move with the machine's speed, their ratio far less.
        floor = statistics.median(times[FLOOR])
        for name in ("kernel run (2 steps)", "kernel run (2 steps, no listeners)"):
            run = statistics.median(times[name])
            print(f"{name}: {run / floor:.2f}x the floor of a run, {run - floor:+.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
