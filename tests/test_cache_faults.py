"""The cache under faults: a run killed at each of its writes into the cache directory, and two runs
storing the same steps at once. Neither may lose a result nor make a later run reuse something wrong."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fault_support import command
from helpers import write_pipeline

QUIET = ["-p", "no:report", "-p", "no:tracker", "-p", "no:validator"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "numbers.csv").write_text("x\n1\n2\n3\n")
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": "numbers.csv"}},
        {"name": "doubled", "uses": "io.read", "settings": {"path": "numbers.csv"}},
        {"name": "save", "uses": "io.write", "needs": ["src"], "settings": {"path": "copy.csv"}},
    ], name="copy")
    return tmp_path


def run(project: Path, run_id: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KERNEL_CACHE_DIR": str(project / "cache"), "FAULT_ROOTS": str(project / "cache"),
                   **env}
    return subprocess.run(command("run", "pipeline.yaml", "--run-id", run_id, *QUIET), cwd=project,
                          capture_output=True, text=True, timeout=120, env=environment)


def caching(project: Path, run_id: str) -> dict[str, str]:
    steps = json.loads((project / "runs" / "copy" / run_id / "run.json").read_text())["steps"]
    return {name: step["cache"] for name, step in steps.items()}


def test_a_run_killed_at_any_write_into_the_cache_leaves_it_usable(project: Path) -> None:
    log = project / "points.log"
    first = run(project, "counted", FAULT_LOG=str(log))
    assert first.returncode == 0, first.stderr
    points = len(log.read_text().splitlines())
    assert points >= 6  # a frame and two entry files per step, each written under a temporary name
    for n in range(1, points + 1):
        for leftover in ("cache", "runs"):
            subprocess.run(["rm", "-rf", str(project / leftover)], check=True)
        (project / "copy.csv").unlink(missing_ok=True)
        killed = run(project, f"killed-{n}", FAULT_KILL_AT=str(n))
        assert killed.returncode == -9, (n, killed.stderr)
        after = run(project, f"after-{n}")
        assert after.returncode == 0, (n, after.stderr)
        assert (project / "copy.csv").read_text() == "x\n1\n2\n3\n"
        # What the killed run finished storing is reused; nothing half-written is.
        assert set(caching(project, f"after-{n}").values()) <= {"hit", "miss"}
        again = run(project, f"again-{n}")
        assert again.returncode == 0, (n, again.stderr)
        assert caching(project, f"again-{n}") == {"src": "hit", "doubled": "hit", "save": "hit"}, n


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    # Columns of 150,000 values: each stored in a file of its own, which the second step's frame shares.
    (tmp_path / "numbers.csv").write_text("x,y\n" + "".join(f"{i},{i % 7}\n" for i in range(150_000)))
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": "numbers.csv"}},
        {"name": "renamed", "uses": "transform.select", "needs": ["src"],
         "settings": {"rename": {"x": "a"}, "cast": {"y": "float64"}}},
    ], name="copy")
    return tmp_path


def test_a_run_killed_at_each_write_of_a_shared_column_leaves_the_cache_usable(wide: Path) -> None:
    log = wide / "points.log"
    first = run(wide, "counted", FAULT_LOG=str(log))
    assert first.returncode == 0, first.stderr
    points = [line.split("\t") for line in log.read_text().splitlines()]
    # Each commit point of a column file or of a frame naming columns (the entries' are swept above): killed
    # at the rename that puts it in place, and so before everything after it.
    renames = [int(n) for n, operation, path in points
               if operation == "replace" and ("/columns/" in path or "/objects/" in path)]
    assert sum("/columns/" in path for _, operation, path in points if operation == "replace") == 3  # x, y, y as floats
    for n in renames:
        subprocess.run(["rm", "-rf", str(wide / "cache"), str(wide / "runs")], check=True)
        killed = run(wide, f"killed-{n}", FAULT_KILL_AT=str(n))
        assert killed.returncode == -9, (n, killed.stderr)
        after = run(wide, f"after-{n}")
        assert after.returncode == 0, (n, after.stderr)
        assert set(caching(wide, f"after-{n}").values()) <= {"hit", "miss"}
        again = run(wide, f"again-{n}")
        assert again.returncode == 0, (n, again.stderr)
        assert caching(wide, f"again-{n}") == {"src": "hit", "renamed": "hit"}, n


def _race(where: Path, *extra: str) -> None:
    """Two runs of ``where``'s pipeline at once, sharing its cache; both must succeed."""
    environment = {**os.environ, "KERNEL_CACHE_DIR": str(where / "cache")}
    racers = [
        subprocess.Popen(command("run", "pipeline.yaml", "--run-id", f"racer-{i}", *QUIET, *extra), cwd=where,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        for i in range(2)
    ]
    for racer in racers:
        _, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err


def test_two_runs_storing_the_same_steps_at_once_both_succeed(project: Path) -> None:
    _race(project, "--wait")
    third = run(project, "third")
    assert third.returncode == 0, third.stderr
    assert caching(project, "third") == {"src": "hit", "doubled": "hit", "save": "hit"}
    assert not list((project / "cache").rglob(".tmp-*"))


def test_two_runs_storing_the_same_columns_at_once_both_succeed(wide: Path) -> None:
    # Both write the same column files and frames at the same time: each rename puts the same bytes in place.
    _race(wide)
    third = run(wide, "third")
    assert third.returncode == 0, third.stderr
    assert caching(wide, "third") == {"src": "hit", "renamed": "hit"}
    assert len(list((wide / "cache" / "columns").glob("*/*.arrow"))) == 3  # x, y, y as floats
    assert not list((wide / "cache").rglob(".tmp-*"))
