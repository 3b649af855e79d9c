"""Executors: the same pipeline under inline, threads and processes; attempts scheduled as they finish;
plugin executors; steps that cannot be shipped are refused before anything runs."""

from __future__ import annotations

import importlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import ExecutorType, Kernel, PipelineError, PluginError, RunResult, hookimpl, step


def demo_kernel(*extra: tuple[str, object]) -> Kernel:
    demo = importlib.import_module("kernel_demo_steps")
    io = importlib.import_module("kernel_io.plugin")
    return Kernel(entry_points=False, plugins=[("demo", demo), ("io", io), *extra])


def branching(tmp_path: Path) -> list[dict[str, Any]]:
    """Steps that succeed (one after a retry), read and write files, fail, and are skipped."""
    source = tmp_path / "in.csv"
    source.write_text("x\n1\n2\n3\n4\n")
    return [
        {"name": "read", "uses": "io.read", "settings": {"path": str(source)}},
        {"name": "split", "uses": "demo.split", "needs": ["read"]},
        {"name": "scaled", "uses": "demo.scale", "needs": {"frame": "split.even"}},
        {"name": "flaky", "uses": "demo.flaky", "needs": {"frame": "split.odd"},
         "settings": {"counter": "${run.dir}/counter"}, "retries": {"attempts": 1, "delay": 0}},
        {"name": "both", "uses": "demo.concat", "needs": {"a": "scaled", "b": "flaky"}},
        {"name": "write", "uses": "io.write", "needs": {"frame": "both"},
         "settings": {"path": "${run.dir}/both.csv"}},
        {"name": "boom", "uses": "demo.boom", "needs": ["both"], "settings": {"message": "no luck"}},
        {"name": "after", "uses": "demo.scale", "needs": {"frame": "boom"}},
    ]


def summary(result: RunResult) -> dict[str, Any]:
    steps = result.record.steps
    return {
        "status": result.record.status,
        "steps": {
            n: (s.status, s.attempts, s.rows_in, s.rows_out, s.error, s.skipped_because) for n, s in steps.items()
        },
        "datasets": {n: [(d.mode, Path(d.path).name, d.rows) for d in s.datasets] for n, s in steps.items()},
        "written": (result.run.run_dir / "both.csv").read_text(),
        "signals": dict(result.record.signals),
    }


def test_the_same_pipeline_gives_the_same_run_under_every_built_in_executor(
    demo_installed: Path, tmp_path: Path
) -> None:
    kernel = demo_kernel()
    seen = {}
    for executor in ("inline", "threads", "processes"):
        (tmp_path / executor).mkdir()
        path = write_pipeline(tmp_path / executor, branching(tmp_path))
        result = kernel.run(path, runs_root=tmp_path / "runs", executor=executor, workers=2)
        assert result.record.executor == executor
        seen[executor] = summary(result)
    assert seen["inline"]["status"] == "failed"
    assert seen["inline"]["steps"]["flaky"][1] == 2  # retried once
    assert seen["inline"]["datasets"]["write"] == [("write", "both.csv", 4)]  # reported from the worker's context
    assert seen["threads"] == seen["inline"]
    assert seen["processes"] == seen["inline"]


def test_a_data_error_raised_in_a_worker_process_arrives_whole(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "bad", "uses": "demo.bad_data", "settings": {"file": "x.bin"}}])
    result = demo_kernel().run(path, runs_root=tmp_path / "runs", executor="processes")
    assert (result.record.status, result.exit_code) == ("failed", 2)
    assert result.record.steps["bad"].error == "x.bin: not a valid file"


def test_attempts_are_handled_as_they_finish_not_in_the_order_they_started(
    demo_installed: Path, tmp_path: Path
) -> None:
    # 'slow' waits until 'unblock' runs; 'unblock' needs 'fast', which finishes while 'slow' is still waiting.
    # Waiting on the oldest attempt first would hold 'unblock' back until 'slow' gave up (after 20 s).
    release = tmp_path / "release"
    steps = [
        {"name": "src", "uses": "demo.numbers"},
        {"name": "slow", "uses": "demo.wait", "needs": ["src"],
         "settings": {"started": str(tmp_path / "slow"), "release": str(release), "seconds": 20}},
        {"name": "fast", "uses": "demo.scale", "needs": ["src"]},
        {"name": "unblock", "uses": "demo.wait", "needs": ["fast"],
         "settings": {"started": str(release), "seconds": 0}},
    ]
    start = time.monotonic()
    result = demo_kernel().run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs", executor="threads",
                               workers=2)
    assert result.ok
    assert time.monotonic() - start < 10
    # Each step's own signals keep their order; the steps completed in the order they finished.
    slow, unblock = result.record.steps["slow"], result.record.steps["unblock"]
    assert slow.start_s is not None and slow.duration_s is not None and unblock.start_s is not None
    assert unblock.start_s < slow.start_s + slow.duration_s


class SerialPlugin:
    @hookimpl
    def register_executors(self) -> list[ExecutorType]:
        make = lambda workers, address: ThreadPoolExecutor(1)  # noqa: E731
        return [ExecutorType("serial", make, ships=False, description="one thread")]


def test_a_plugin_adds_an_executor_chosen_by_name_on_the_command_line_or_in_the_file(
    demo_installed: Path, tmp_path: Path
) -> None:
    kernel = demo_kernel(("serial", SerialPlugin()))
    assert "serial" in kernel.executors
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "demo.numbers"}], executor="serial")
    assert kernel.run(path, runs_root=tmp_path / "runs").record.executor == "serial"
    assert kernel.run(path, runs_root=tmp_path / "runs", executor="threads").record.executor == "threads"
    names = r"\(executors: inline, processes, serial, threads\)"
    with pytest.raises(PipelineError, match=r"no executor is named 'dask' " + names):
        kernel.run(path, runs_root=tmp_path / "runs", executor="dask")
    with pytest.raises(PipelineError, match="executor 'serial' takes no address"):
        kernel.run(path, runs_root=tmp_path / "runs", executor="serial", address="tcp://127.0.0.1:1")


def test_an_executor_name_taken_is_refused_naming_the_plugin() -> None:
    class Again:
        @hookimpl
        def register_executors(self) -> list[ExecutorType]:
            return [ExecutorType("threads", lambda workers, address: None, ships=False)]

    with pytest.raises(PluginError, match="plugin 'again': executor 'threads' is already added by the kernel"):
        Kernel(entry_points=False, plugins=[("again", Again())])


def test_a_step_that_cannot_be_shipped_is_refused_before_anything_runs(tmp_path: Path) -> None:
    @step("local.numbers")
    def numbers(inputs: Any) -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    class Local:
        @hookimpl
        def register_steps(self) -> list[Any]:
            return [numbers]

    kernel = Kernel(entry_points=False, plugins=[("local", Local())])
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "local.numbers"}])
    with pytest.raises(PipelineError) as info:
        kernel.run(path, runs_root=tmp_path / "runs", executor="processes")
    message = str(info.value)
    assert "step 'n': field 'uses': step type 'local.numbers' cannot run on the 'processes' executor" in message
    assert "is defined inside another function" in message
    assert not (tmp_path / "runs").exists()
    assert kernel.run(path, runs_root=tmp_path / "runs", executor="threads").ok  # threads share the process


def test_the_dask_executor_runs_the_pipeline_on_a_local_cluster_as_inline_does(
    demo_installed: Path, tmp_path: Path
) -> None:
    import kernel_dask.plugin

    kernel = demo_kernel(("dask", kernel_dask.plugin))
    seen = {}
    for executor in ("inline", "dask"):
        (tmp_path / executor).mkdir()
        path = write_pipeline(tmp_path / executor, branching(tmp_path))
        result = kernel.run(path, runs_root=tmp_path / "runs", executor=executor, workers=2)
        assert result.record.executor == executor
        seen[executor] = summary(result)
    assert seen["dask"] == seen["inline"]


def test_without_dask_installed_the_dask_executor_is_refused_before_the_run(
    demo_installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kernel_dask.plugin

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    kernel = demo_kernel(("dask", kernel_dask.plugin))
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "demo.numbers"}])
    with pytest.raises(PipelineError, match=r"field 'executor': executor 'dask': the dask executor needs dask"):
        kernel.run(path, runs_root=tmp_path / "runs", executor="dask")
    assert not (tmp_path / "runs").exists()
    assert kernel.run(path, runs_root=tmp_path / "runs").ok  # the kernel itself needs no dask


def test_making_a_kernel_imports_no_dask() -> None:
    import subprocess

    code = (
        "import sys; from kernel import Kernel; k = Kernel(); "
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules), 'dask' in k.executors)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[] True", done.stderr


def test_the_dask_executor_uses_the_cluster_at_the_address_given_and_records_its_dashboard(
    demo_installed: Path, tmp_path: Path
) -> None:
    import kernel_dask.plugin
    from distributed import LocalCluster

    kernel = demo_kernel(("dask", kernel_dask.plugin))
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "demo.numbers"}, {"name": "s", "uses": "demo.scale",
                                                                            "needs": ["n"]}])
    with pytest.raises(PipelineError, match=r"an address needs an executor that uses a cluster \(dask\)"):
        kernel.run(path, runs_root=tmp_path / "runs", address="tcp://127.0.0.1:1")
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        result = kernel.run(path, runs_root=tmp_path / "runs", executor="dask", address=cluster.scheduler_address)
        assert result.ok
        # The tasks ran on that cluster: its scheduler saw them.
        assert "attempt_kept" in cluster.scheduler.task_prefixes
    assert result.record.dashboard is not None and result.record.dashboard.startswith("http")
    assert read_record(result)["dashboard"] == result.record.dashboard


def read_record(result: RunResult) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads((result.run.run_dir / "run.json").read_text())
    return data


def test_inline_runs_one_step_at_a_time_whatever_the_workers(demo_installed: Path, tmp_path: Path) -> None:
    from kernel import signals

    seen: list[str] = []

    def note(sender: object, *, event: Any, **_: object) -> None:
        seen.append(f"{type(event).__name__}:{event.step.name}")

    steps = [{"name": "a", "uses": "demo.numbers"}, {"name": "b", "uses": "demo.numbers"}]
    with signals.step_start.connected_to(note), signals.step_complete.connected_to(note):
        result = demo_kernel().run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs", executor="inline",
                                   workers=2)
    assert result.ok
    assert seen == ["StepStarted:a", "StepCompleted:a", "StepStarted:b", "StepCompleted:b"]


class NeedsTwo(Exception):
    def __init__(self, what: str, why: str) -> None:  # pickled as one argument: cannot be rebuilt
        super().__init__(f"{what}: {why}")


@step("odd.fails")
def odd_fails(inputs: Any) -> pd.DataFrame:
    raise NeedsTwo("sensor", "out of range")


class Odd:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [odd_fails]


def test_an_error_that_cannot_cross_a_process_boundary_arrives_as_its_text(tmp_path: Path) -> None:
    kernel = Kernel(entry_points=False, plugins=[("odd", Odd())])
    path = write_pipeline(tmp_path, [{"name": "s", "uses": "odd.fails"}])
    result = kernel.run(path, runs_root=tmp_path / "runs", executor="processes")
    step_ = result.record.steps["s"]
    assert step_.error == "RuntimeError: NeedsTwo: sensor: out of range"
    assert step_.error_at is not None and step_.error_at.endswith("in odd_fails")
    assert step_.traceback is not None and step_.traceback.endswith("NeedsTwo: sensor: out of range")
