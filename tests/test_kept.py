"""Under Dask, frames stay on the workers: the orchestrator gets summaries made next to each step (rows,
schema, the tracker's snapshots, the validator's findings), and a listener that reads a frame brings it
over, counted in run.json. The run is the run inline gives."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import Kernel, RunResult, events, signals

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster(demo_site: Path) -> Iterator[str]:
    """One small cluster for the module's runs (the kernel uses it through its address); its workers
    import the demo plugin."""
    from distributed import LocalCluster

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(demo_site), os.environ.get("PYTHONPATH")])))
        patch.syspath_prepend(str(demo_site))  # what spawned processes start from
        local = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", processes=True)
    with local:
        yield str(local.scheduler_address)


def make_kernel() -> Kernel:
    names = {"demo": "kernel_demo_steps", "io": "kernel_io.plugin", "dask": "kernel_dask.plugin",
             "validator": "kernel_validator.plugin", "tracker": "kernel_tracker.plugin"}
    return Kernel(entry_points=False, plugins=[(n, importlib.import_module(m)) for n, m in names.items()])


STEPS: list[dict[str, Any]] = [
    {"name": "numbers", "uses": "demo.numbers", "settings": {"n": 12}},
    {"name": "split", "uses": "demo.split", "needs": ["numbers"]},
    {"name": "scaled", "uses": "demo.scale", "needs": {"frame": "split.even"}, "settings": {"factor": 3},
     "checks": [{"check": "in_range", "column": "x", "max": 20, "on_fail": "quarantine"},
                {"check": "row_count", "min": 1}]},
    {"name": "both", "uses": "demo.concat", "needs": {"a": "scaled", "b": "split.odd"},
     "checks": [{"check": "foreign_key", "column": "x", "ref": "numbers", "severity": "warn"}]},
]


def run(tmp_path: Path, executor: str, address: str | None = None, **options: Any) -> RunResult:
    where = tmp_path / executor
    where.mkdir(exist_ok=True)
    return make_kernel().run(write_pipeline(where, STEPS), runs_root=where / "runs", executor=executor,
                             address=address, workers=2, **options)


def run_json(result: RunResult) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((result.run.run_dir / "run.json").read_text())
    return data


def plain(result: RunResult, name: str) -> Any:
    """A file of the run without what differs from run to run (ids, times)."""
    text = (result.run.run_dir / name).read_text().replace(result.run.run_id, "RUN")
    data = json.loads(text)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if not (k.endswith("_s") or k.endswith("_at") or k in ("run_dir", "duration"))}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


def test_frames_stay_on_the_workers_and_the_run_is_the_run_inline_gives(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    inline = run(tmp_path, "inline")
    dask = run(tmp_path, "dask", cluster)
    assert inline.ok and dask.ok, dask.record.error
    for name in ("validation.json", "tracker.json"):
        assert plain(dask, name) == plain(inline, name), name
    assert {n: s.rows_out for n, s in dask.record.steps.items()} == {
        "numbers": {"out": 12}, "split": {"even": 6, "odd": 6}, "scaled": {"out": 4}, "both": {"out": 10}}
    quarantined = pd.read_parquet(dask.run.run_dir / "quarantine" / "scaled.out.parquet")
    assert quarantined["x"].tolist() == [24, 30]  # 8 and 10, times 3: over 20, kept with their reason
    assert set(quarantined["reason"]) == set(pd.read_parquet(
        inline.run.run_dir / "quarantine" / "scaled.out.parquet")["reason"])
    transfer = run_json(dask)["transfer"]
    assert transfer["summaries"] == 4  # one per step; no frame came to the orchestrator
    assert transfer["frames_fetched"] == 0 and transfer["bytes_fetched"] == 0
    assert transfer["summary_bytes"] > 0
    assert run_json(inline).get("transfer") is None  # nothing is kept elsewhere inline


def test_a_listener_that_reads_a_frame_gets_it_and_its_transfer_is_counted(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    seen: dict[str, pd.DataFrame] = {}

    def keep(sender: object, *, event: events.StepCompleted, **_: object) -> None:
        if event.step.name == "scaled":
            seen["scaled"] = event.outputs["out"]
            seen["summary"] = pd.DataFrame({"rows": [event.rows["out"]]})

    with signals.step_complete.connected_to(keep):
        result = run(tmp_path, "dask", cluster)
    assert result.ok
    assert seen["scaled"]["x"].tolist() == [0, 6, 12, 18]  # as judged: the quarantined rows are not there
    transfer = run_json(result)["transfer"]
    assert transfer["frames_fetched"] == 1
    assert transfer["bytes_fetched"] == int(seen["scaled"].memory_usage(index=True, deep=False).sum())


def test_kept_outputs_come_back_as_frames_when_the_caller_asks_for_them(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    inline = run(tmp_path, "inline", keep_outputs=True)
    dask = run(tmp_path, "dask", cluster, keep_outputs=True)
    for name, outputs in inline.outputs.items():
        for key, frame in outputs.items():
            pd.testing.assert_frame_equal(dask.outputs[name][key], frame)
    assert run_json(dask)["transfer"]["frames_fetched"] == 5


def test_a_step_that_returns_no_frame_fails_as_it_does_inline(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    steps = [{"name": "numbers", "uses": "demo.numbers"}, {"name": "bad", "uses": "demo.wrong_return"},
             {"name": "after", "uses": "demo.concat", "needs": ["bad", "numbers"]}]
    errors = {}
    for executor, address in (("inline", None), ("dask", cluster)):
        where = tmp_path / executor
        where.mkdir()
        result = make_kernel().run(write_pipeline(where, steps), runs_root=where / "runs", executor=executor,
                                   address=address, workers=2)
        errors[executor] = {n: (s.status, s.error) for n, s in result.record.steps.items()}
    assert errors["dask"] == errors["inline"]
    assert errors["dask"]["bad"] == (
        "failed", "PluginError: plugin 'demo': step type 'demo.wrong_return' output 'out' is list, not a DataFrame")


def test_a_cluster_whose_workers_cannot_import_a_step_fails_the_step_naming_the_module(
    demo_installed: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONPATH", raising=False)  # these workers do not have the demo plugin
        patch.setattr(sys, "path", [p for p in sys.path if p != str(demo_installed)])
        local = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0", processes=True)
    with local:
        result = run(tmp_path, "dask", str(local.scheduler_address))
    assert result.record.status == "failed"
    error = result.record.steps["numbers"].error or ""
    assert "cannot import kernel_demo_steps: install the step plugins on every worker" in error
    assert result.record.steps["both"].status == "skipped"


def test_a_run_on_dask_stores_what_an_inline_run_then_reuses(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    """The cache's fingerprints, taken next to the steps on the workers (the judged outputs too), key the
    steps as an inline run keys them: the inline run after it computes nothing."""
    names = {"demo": "kernel_demo_steps", "io": "kernel_io.plugin", "dask": "kernel_dask.plugin",
             "validator": "kernel_validator.plugin", "cache": "kernel_cache.plugin"}
    kernel = Kernel(entry_points=False, plugins=[(n, importlib.import_module(m)) for n, m in names.items()])
    path = write_pipeline(tmp_path, STEPS)
    first = kernel.run(path, runs_root=tmp_path / "runs", executor="dask", address=cluster, workers=2)
    assert first.ok and run_json(first)["transfer"]["frames_fetched"] == 0
    again = kernel.run(path, runs_root=tmp_path / "runs")
    assert {n: s.cache for n, s in again.record.steps.items()} == dict.fromkeys(first.record.steps, "hit")
    assert plain(again, "validation.json") == plain(first, "validation.json")


def test_a_head_too_large_for_an_event_comes_by_a_task_of_its_own(
    demo_installed: Path, tmp_path: Path, cluster: str
) -> None:
    """Thousands of rejected rows make the head of the checked step too large for Dask's event log: it is
    read by a second task, and the run is the run inline gives."""
    from distributed import Client
    from kernel_dask.executor import HEAD_EVENT_BYTES

    big = [{**s, "settings": {"n": 6000}} if s["name"] == "numbers" else s for s in STEPS]

    def prefixes() -> set[str]:
        with Client(cluster) as client:
            found: list[str] = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        return set(found)

    before = prefixes()
    results = {}
    for executor, address in (("inline", None), ("dask", cluster)):
        where = tmp_path / executor
        where.mkdir()
        results[executor] = make_kernel().run(write_pipeline(where, big), runs_root=where / "runs",
                                              executor=executor, address=address, workers=2)
    assert results["dask"].ok and results["inline"].ok
    assert plain(results["dask"], "validation.json") == plain(results["inline"], "validation.json")
    quarantined = pd.read_parquet(results["dask"].run.run_dir / "quarantine" / "scaled.out.parquet")
    assert len(quarantined) == 3000 - 4 and quarantined.memory_usage(deep=True).sum() > HEAD_EVENT_BYTES
    assert "head" in prefixes() - before
