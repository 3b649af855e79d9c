"""The flagship refreshed under faults: killed at its commit points, run twice at once, interrupted.

Each case starts from the same world (two refreshes done: gold and a window state), disturbs the third
refresh, runs it again undisturbed, and compares gold and state with those of an undisturbed third
refresh. ``benchmarks/faults.py`` kills at every point and counts; here, the points that decide.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from fault_support import Snapshot, World, make_data


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> World:
    data = make_data(tmp_path_factory.mktemp("faults") / "data")
    world = World(tmp_path_factory.mktemp("faults") / "base", data).create()
    for run_id, part in (("r1", 0), ("r2", 1)):
        done = world.run(run_id, part)
        assert done.returncode == 0, done.stderr
    return world


@pytest.fixture(scope="module")
def before(base: World) -> Snapshot:
    return base.snapshot()


@pytest.fixture(scope="module")
def after(base: World, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """Gold and state of the third refresh, undisturbed."""
    world = base.copy(tmp_path_factory.mktemp("faults") / "reference")
    done = world.run("r3", 2)
    assert done.returncode == 0, done.stderr
    return world.snapshot()


@pytest.fixture(scope="module")
def points(base: World, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return base.copy(tmp_path_factory.mktemp("faults") / "probe").points("r3", 2)


def deciding(points: list[str]) -> list[int]:
    """The kill points that decide (1-based): the first, each commit (a state manifest replaced, gold
    exchanged or renamed) and the operation after it, and the last."""
    chosen = {1, len(points)}
    for n, point in enumerate(points, start=1):
        operation, path = point.split("\t")
        if operation in ("exchange", "rename") or (path.endswith(".tmp") and "manifest.json" in path):
            chosen |= {n, n + 1}
    return sorted(p for p in chosen if p <= len(points))


def test_the_refresh_commits_state_and_gold_late_and_in_few_steps(points: list[str]) -> None:
    operations = [p.split("\t")[0] for p in points]
    assert operations.count("exchange") == 1  # the gold: one exchange
    manifests = [n for n, p in enumerate(points) if "manifest.json" in p]
    assert len(manifests) == 1 and manifests[0] < operations.index("exchange")


def test_a_kill_at_any_deciding_point_loses_nothing(
    base: World, before: Snapshot, after: Snapshot, points: list[str], tmp_path: Path
) -> None:
    assert before.differences(after)  # the third refresh changes gold and state
    chosen = deciding(points)
    assert len(chosen) >= 5
    for n in chosen:
        world = base.copy(tmp_path / f"kill-{n}")
        killed = world.run("r3", 2, FAULT_KILL_AT=str(n))
        assert killed.returncode == -signal.SIGKILL, f"point {n} ({points[n - 1]}): {killed.stderr}"
        now = world.snapshot()  # gold complete: old or new
        assert now.gold is not None and (not _gold_diff(now, before) or not _gold_diff(now, after)), n
        again = world.run("r3-again", 2)
        assert again.returncode == 0, f"point {n}: {again.stderr}"
        assert world.snapshot().differences(after) == [], f"point {n} ({points[n - 1]})"
        assert world.problems() == [], f"point {n}"


def _gold_diff(a: Snapshot, b: Snapshot) -> list[str]:
    return Snapshot(a.gold, None).differences(Snapshot(b.gold, None))


def test_two_refreshes_at_once_one_waits_and_redoes_nothing_twice(
    base: World, after: Snapshot, tmp_path: Path
) -> None:
    world = base.copy(tmp_path / "twice")
    first = world.start("r3", 2, "--wait")
    second = world.start("r3-overlap", 2, "--wait")
    assert first.wait(300) == 0 and second.wait(300) == 0
    assert world.snapshot().differences(after) == []  # the same refresh twice is the refresh once
    assert world.problems() == []


def test_a_refresh_refused_while_another_holds_the_state_changes_nothing(
    base: World, after: Snapshot, tmp_path: Path
) -> None:
    world = base.copy(tmp_path / "refused")
    first = world.start("r3", 2, "--wait")
    time.sleep(0.2)
    refused = world.run("r3-refused", 2)
    assert first.wait(300) == 0
    if refused.returncode == 2:  # it started while the first held the locks
        assert "in use by run r3" in refused.stderr
    else:  # the first had finished already: the second was a redo of the same refresh
        assert refused.returncode == 0, refused.stderr
    assert world.snapshot().differences(after) == []
    assert world.problems() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_refresh_then_a_rerun_is_the_refresh(
    base: World, before: Snapshot, after: Snapshot, tmp_path: Path, signum: int
) -> None:
    world = base.copy(tmp_path / "signal")
    run = world.start("r3", 2)
    # Into the run (its first steps), before its commit: once it says it has started, whatever the machine's
    # load (a signal before the command handles signals ends it as Python does, exit -15, nothing written).
    assert run.stdout is not None
    assert run.stdout.readline().startswith("run r3 of ")
    time.sleep(0.2)
    run.send_signal(signum)
    _, err = run.communicate(timeout=300)
    assert run.returncode in (0, 128 + signum), err
    assert "Traceback" not in err
    now = world.snapshot()
    assert not _gold_diff(now, before) or not _gold_diff(now, after)
    again = world.run("r3-again", 2)
    assert again.returncode == 0, again.stderr
    assert world.snapshot().differences(after) == []
    assert world.problems() == []
