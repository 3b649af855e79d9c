"""Kernel overhead per step: no-op steps in a chain and in a fan-out/fan-in, beside a bare loop.

    python benchmarks/bench_overhead.py            # 1,000 and 10,000 steps, 7 repetitions
    python benchmarks/bench_overhead.py --steps 1000 --repeat 3

Each figure is the median over the repetitions of the wall (and CPU) time of ``Runner.execute``
(signals, hooks, run record, structured log to a file as the command line configures it) divided by
the number of steps. The cases take turns within each repetition. Planning (validating the file,
building the graph) is timed apart. "one" listener is a counting receiver on all eight signals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from noop_steps import NoopSteps
from noop_steps import chain as chain_steps

from kernel import Kernel, signals
from kernel.config import Pipeline
from kernel.logs import configure_run_log
from kernel.run import Runner

FRAME = pd.DataFrame({"x": [1, 2, 3]})


STEPS = NoopSteps(FRAME)
noop = STEPS.noop


def chain(n: int) -> dict[str, Any]:
    return {"name": "chain", "steps": chain_steps(n)}


def fan(n: int) -> dict[str, Any]:
    # one source, n - 2 parallel middles, one sink that needs every middle
    middles = [f"m{i}" for i in range(n - 2)]
    steps = [{"name": "src", "uses": "bench.noop"}]
    steps += [{"name": m, "uses": "bench.noop", "needs": ["src"]} for m in middles]
    steps.append({"name": "sink", "uses": "bench.noop", "needs": middles})
    return {"name": "fan", "steps": steps}


def bare_loop(order: list[str], needs: dict[str, list[str]]) -> float:
    outputs: dict[str, pd.DataFrame] = {}
    start = time.perf_counter()
    for name in order:
        outputs[name] = noop({k: outputs[k] for k in needs[name]})
    return time.perf_counter() - start


def reference_loop(order: list[str], needs: dict[str, list[str]]) -> float:
    """A minimal pluggy + blinker + networkx dispatch loop: the floor any such kernel stands on."""
    import networkx as nx
    import pluggy
    from blinker import Namespace

    spec_marker, impl_marker = pluggy.HookspecMarker("ref"), pluggy.HookimplMarker("ref")

    class Spec:
        @spec_marker
        def run_step(self, name: str) -> Any: ...

    class Impl:
        @impl_marker
        def run_step(self, name: str) -> Any:
            return noop

    pm = pluggy.PluginManager("ref")
    pm.add_hookspecs(Spec)
    pm.register(Impl())
    ns = Namespace()
    started, done = ns.signal("started"), ns.signal("done")
    graph: nx.DiGraph = nx.DiGraph()
    for name in order:
        graph.add_node(name)
        graph.add_edges_from((p, name) for p in needs[name])
    outputs: dict[str, pd.DataFrame] = {}
    start = time.perf_counter()
    for name in nx.topological_sort(graph):
        started.send(name)
        func = pm.hook.run_step(name=name)[0]
        outputs[name] = func({k: outputs[k] for k in needs[name]})
        done.send(name, output=outputs[name])
    return time.perf_counter() - start


class Case:
    """One shape, size and listener setting; its timings gather over the repetitions."""

    def __init__(self, kernel: Kernel, shape: Callable[[int], dict[str, Any]], n: int, listener: bool) -> None:
        self.shape, self.n, self.listener = shape.__name__, n, listener
        t0 = time.perf_counter()
        self.plan = kernel.plan(Pipeline.model_validate(shape(n)))
        self.plan_us = (time.perf_counter() - t0) / n * 1e6
        self.needs = {name: [p for p, _ in planned.inputs.values()] for name, planned in self.plan.steps.items()}
        self.kernel_wall: list[float] = []
        self.kernel_cpu: list[float] = []
        self.bare: list[float] = []
        self.ref: list[float] = []

    def run(self, kernel: Kernel, run_dir: Path) -> None:
        counts = {"n": 0}

        def count(sender: object, **_: object) -> None:
            counts["n"] += 1

        handle = configure_run_log(run_dir / "log.jsonl")
        runner = Runner(self.plan, kernel.pm, run_id=run_dir.name, run_dir=run_dir)
        if self.listener:
            for sig in signals.ALL:
                sig.connect(count)
        wall, cpu = time.perf_counter(), time.process_time()
        result = runner.execute()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for sig in signals.ALL:
            sig.disconnect(count)
        handle.close()
        assert result.ok, result.record.error
        assert counts["n"] == (2 * self.n + 2 if self.listener else 0), counts
        self.kernel_wall.append(wall / self.n * 1e6)
        self.kernel_cpu.append(cpu / self.n * 1e6)
        self.bare.append(bare_loop(list(self.plan.order), self.needs) / self.n * 1e6)
        self.ref.append(reference_loop(list(self.plan.order), self.needs) / self.n * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    kernel = Kernel(entry_points=False, plugins=[("bench", STEPS)])
    cases = [
        Case(kernel, shape, n, listener) for n in args.steps for shape in (chain, fan) for listener in (False, True)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # the cases take turns, so a change in the machine's load hits them alike
            for j, case in enumerate(cases):
                case.run(kernel, Path(tmp) / f"case{j}-{i}")
    median = statistics.median
    print(f"microseconds per step, medians of {args.repeat}")
    print(
        f"{'shape':<6} {'steps':>6} {'listener':>8} {'plan':>7} {'kernel wall':>12} {'kernel cpu':>11} "
        f"{'bare loop':>10} {'ref loop':>9}"
    )
    for c in cases:
        print(
            f"{c.shape:<6} {c.n:>6} {'one' if c.listener else 'none':>8} {c.plan_us:>7.1f} "
            f"{median(c.kernel_wall):>12.1f} {median(c.kernel_cpu):>11.1f} {median(c.bare):>10.1f} "
            f"{median(c.ref):>9.1f}"
        )
    print(f"load average when done: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
