"""The flagship's gold is the same on every executor: inline, threads, processes and a Dask cluster."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("iot-executors")
    done = kernel("showcase", "data", "iot-windowed-kpi", "--out", "data", "--devices", "12", "--days", "1",
                  "--seed", "5", "--files", "4", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@functools.cache  # one run per executor: a run id is never reused
def gold_of(workdir: Path, executor: str) -> dict[str, bytes]:
    done = kernel("showcase", "run", "iot-windowed-kpi", "--data", "data", "--param", "refresh=1d",
                  "--param", f"gold=gold-{executor}", "--executor", executor, "--workers", "2",
                  "--runs-dir", f"runs-{executor}", "--run-id", "same",  # gold names its run
                  "-p", "no:cache", cwd=workdir)  # every executor computes every step
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"executor {executor}" in done.stdout
    gold = workdir / f"gold-{executor}"
    return {p.name: p.read_bytes() for p in sorted(gold.iterdir()) if p.name != ".kernel-results.json"}


def test_the_flagship_gold_is_identical_under_every_executor(workdir: Path) -> None:
    inline = gold_of(workdir, "inline")
    assert {"kpis.json", "device_uptime_daily.parquet"} <= set(inline)
    for executor in ("threads", "processes", "dask"):
        assert gold_of(workdir, executor) == inline, executor
    record = json.loads((workdir / "runs-dask" / "iot-windowed-kpi" / "same" / "run.json").read_text())
    # Under Dask the frames stayed on the workers: one summary per step came back, and no frame.
    assert record["transfer"]["summaries"] == len(record["steps"])
    assert record["transfer"]["frames_fetched"] == 0


@pytest.mark.parametrize("executor", ["inline", "processes", "dask"])
def test_the_flagship_in_parts_gives_the_gold_of_the_whole_run(workdir: Path, executor: str) -> None:
    done = kernel("showcase", "run", "iot-windowed-kpi", "--data", "data", "--param", "refresh=1d",
                  "--param", "partitions=3", "--param", f"gold=gold-parted-{executor}", "--executor", executor,
                  "--workers", "2", "--runs-dir", f"runs-parted-{executor}", "--run-id", "same", "-p", "no:cache",
                  cwd=workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    gold = workdir / f"gold-parted-{executor}"
    parted = {p.name: p.read_bytes() for p in sorted(gold.iterdir()) if p.name != ".kernel-results.json"}
    record = json.loads((workdir / f"runs-parted-{executor}" / "iot-windowed-kpi" / "same" / "run.json").read_text())
    # Four telemetry files read in three runs of files; the devices' windows and uptime in three parts.
    assert record["steps"]["ingest"]["partitions"] == 3
    assert record["steps"]["window"]["partitions"] == 3
    assert record["steps"]["device_uptime"]["partitions"] == 3
    reads = [d["path"] for d in record["steps"]["ingest"]["datasets"]]
    assert len(reads) == len(set(reads)) == 4 + 3  # each file once: telemetry, events, registry, truth
    assert parted == gold_of(workdir, "inline")
