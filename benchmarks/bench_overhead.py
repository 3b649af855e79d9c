"""Kernel overhead per step: no-op steps in a chain and in a fan-out/fan-in, beside a bare loop.

    python benchmarks/bench_overhead.py            # 1,000 and 10,000 steps, 5 repetitions
    python benchmarks/bench_overhead.py --steps 1000 --repeat 3

Each figure is the median over the repetitions of the wall time of ``Runner.execute`` (signals,
hooks, run record, structured log to a file as the command line configures it) divided by the
number of steps. Planning (validating the file, building the graph) is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from kernel import Kernel, hookimpl, signals, step
from kernel.config import Pipeline
from kernel.logs import configure_run_log
from kernel.run import Runner

FRAME = pd.DataFrame({"x": [1, 2, 3]})


@step("bench.noop", inputs=None)
def noop(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return FRAME


class BenchPlugin:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [noop]


def chain(n: int) -> dict[str, Any]:
    steps = [{"name": "s0", "uses": "bench.noop"}]
    steps += [{"name": f"s{i}", "uses": "bench.noop", "needs": [f"s{i - 1}"]} for i in range(1, n)]
    return {"name": "chain", "steps": steps}


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


def measure(kernel: Kernel, data: dict[str, Any], repeat: int, listener: bool, tmp: Path) -> dict[str, float]:
    n = len(data["steps"])
    t0 = time.perf_counter()
    pipeline = Pipeline.model_validate(data)
    plan = kernel.plan(pipeline)
    plan_s = time.perf_counter() - t0
    needs = {name: [p for p, _ in planned.inputs.values()] for name, planned in plan.steps.items()}
    counts = {"n": 0}

    def count(sender: object, **_: object) -> None:
        counts["n"] += 1

    kernel_times, bare_times, ref_times = [], [], []
    for i in range(repeat):
        run_dir = tmp / f"{data['name']}-{n}-{listener}-{i}"
        handle = configure_run_log(run_dir / "log.jsonl")
        runner = Runner(plan, kernel.pm, run_id=f"bench-{i}", run_dir=run_dir)
        receivers: list[Callable[..., None]] = []
        if listener:
            for sig in signals.ALL:
                sig.connect(count)
                receivers.append(count)
        start = time.perf_counter()
        result = runner.execute()
        kernel_times.append(time.perf_counter() - start)
        for sig in signals.ALL:
            sig.disconnect(count)
        handle.close()
        assert result.ok, result.record.error
        bare_times.append(bare_loop(list(plan.order), needs))
        ref_times.append(reference_loop(list(plan.order), needs))
    if listener:
        assert counts["n"] == repeat * (2 * n + 2), counts
    return {
        "plan_us": plan_s / n * 1e6,
        "kernel_us": statistics.median(kernel_times) / n * 1e6,
        "bare_us": statistics.median(bare_times) / n * 1e6,
        "ref_us": statistics.median(ref_times) / n * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    kernel = Kernel(entry_points=False, plugins=[("bench", BenchPlugin())])
    print(
        f"{'shape':<6} {'steps':>6} {'listener':>8} {'plan us/step':>13} {'kernel us/step':>15} "
        f"{'bare us/step':>13} {'overhead us/step':>17} {'ref loop us/step':>17}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.steps:
            for shape in (chain, fan):
                for listener in (False, True):
                    r = measure(kernel, shape(n), args.repeat, listener, Path(tmp))
                    print(
                        f"{shape.__name__:<6} {n:>6} {'one' if listener else 'none':>8} {r['plan_us']:>13.1f} "
                        f"{r['kernel_us']:>15.1f} {r['bare_us']:>13.1f} {r['kernel_us'] - r['bare_us']:>17.1f} "
                        f"{r['ref_us']:>17.1f}"
                    )


if __name__ == "__main__":
    main()
