"""The flagship's gold is the same on every executor: inline, threads, processes and a Dask cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("iot-executors")
    done = kernel("showcase", "data", "iot-windowed-kpi", "--out", "data", "--devices", "12", "--days", "1",
                  "--seed", "5", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


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
