"""``io.publish`` and the function behind it: a results directory is replaced whole, only when it is the
kernel's, and a kill at any point leaves the complete old or the complete new version."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kernel_io import publish as results

from kernel import DataError

PIPELINE = "p"


def writer(version: str, files: int = 3) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        for n in range(files):
            (directory / f"t{n}.txt").write_text(f"{version} {n}\n" * (n + 1))

    return write


def publish(target: Path, version: str, pipeline: str = PIPELINE) -> None:
    results.publish_directory(target, writer(version), pipeline=pipeline, run_id=version)


def version_of(target: Path) -> str:
    """The one version ``target`` holds, checked complete: every file of it and its marker, nothing else."""
    marker = json.loads((target / results.MARKER).read_text())
    assert marker["state"] == "complete"
    version = marker["run_id"]
    expected = {p.name for p in _written(version)} | {results.MARKER}
    assert {p.name for p in target.iterdir()} == expected
    for name, content in _contents(version).items():
        assert (target / name).read_text() == content
    return str(version)


def _written(version: str) -> list[Path]:
    return [Path(f"t{n}.txt") for n in range(3)]


def _contents(version: str) -> dict[str, str]:
    return {f"t{n}.txt": f"{version} {n}\n" * (n + 1) for n in range(3)}


def beside(target: Path) -> set[str]:
    return {p.name for p in target.parent.iterdir()} - {target.name, f".{target.name}.lock"}


def test_a_missing_directory_is_created_with_its_marker(tmp_path: Path) -> None:
    target = tmp_path / "gold"
    publish(target, "v1")
    assert version_of(target) == "v1"
    marker = json.loads((target / results.MARKER).read_text())
    assert marker["pipeline"] == PIPELINE and set(marker["files"]) == {"t0.txt", "t1.txt", "t2.txt"}
    publish(target, "v2")
    assert version_of(target) == "v2"
    assert beside(target) == set()  # no staging or old version left


def test_an_empty_directory_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "gold").mkdir()
    publish(tmp_path / "gold", "v1")
    assert version_of(tmp_path / "gold") == "v1"


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda d: (d / "input.avro").write_bytes(b"data"), id="a working directory"),
        pytest.param(lambda d: (d / "runs" / "p" / "r1").mkdir(parents=True), id="the parent of the runs"),
        pytest.param(lambda d: (d / ".kernel-results.json").write_text("{}"), id="a marker that is not ours"),
    ],
)
def test_a_directory_the_kernel_did_not_write_is_refused_and_kept(tmp_path: Path, setup: Any) -> None:
    target = tmp_path / "work"
    target.mkdir()
    setup(target)
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    with pytest.raises(DataError, match="refusing to replace a directory this kernel did not write") as caught:
        publish(target, "v1")
    assert caught.value.file == str(target)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before
    assert beside(target) == set()


def test_a_file_is_not_a_results_directory(tmp_path: Path) -> None:
    target = tmp_path / "gold"
    target.write_text("mine")
    with pytest.raises(DataError, match="is not a directory"):
        publish(target, "v1")
    assert target.read_text() == "mine"


def test_results_of_another_pipeline_are_refused(tmp_path: Path) -> None:
    publish(tmp_path / "gold", "v1", pipeline="sales")
    with pytest.raises(DataError, match="refusing to replace the results of pipeline 'sales' with those of 'p'"):
        publish(tmp_path / "gold", "v2")
    assert version_of(tmp_path / "gold") == "v1"


def test_a_file_added_to_the_results_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "gold"
    publish(target, "v1")
    (target / "notes.md").write_text("my notes")
    with pytest.raises(DataError, match=r"'notes\.md' was not written by this kernel"):
        publish(target, "v2")
    assert (target / "notes.md").read_text() == "my notes"


def test_a_file_changed_in_the_results_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "gold"
    publish(target, "v1")
    (target / "t1.txt").write_text("edited by hand, longer than before")
    with pytest.raises(DataError, match=r"'t1\.txt' changed since run v1 wrote it"):
        publish(target, "v2")
    assert (target / "t1.txt").read_text() == "edited by hand, longer than before"


def test_a_symlinked_target_stays_a_link_to_the_new_results(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    link = tmp_path / "gold"
    link.symlink_to(tmp_path / "store" / "gold-dir")
    publish(link, "v1")
    publish(link, "v2")
    assert link.is_symlink() and os.readlink(link) == str(tmp_path / "store" / "gold-dir")
    assert version_of(link) == "v2"
    assert beside(tmp_path / "store" / "gold-dir") == set()


def test_without_an_exchange_two_renames_do_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    publish(tmp_path / "gold", "v1")
    publish(tmp_path / "gold", "v2")
    assert version_of(tmp_path / "gold") == "v2"
    assert beside(tmp_path / "gold") == set()


def test_a_failed_write_leaves_the_old_results_and_nothing_beside(tmp_path: Path) -> None:
    publish(tmp_path / "gold", "v1")

    def failing(directory: Path) -> None:
        (directory / "t0.txt").write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        results.publish_directory(tmp_path / "gold", failing, pipeline=PIPELINE, run_id="v2")
    assert version_of(tmp_path / "gold") == "v1"
    assert beside(tmp_path / "gold") == set()


# -- kills at every commit point ---------------------------------------------------------------------------

# Every call that renames, exchanges or removes: a kill just before any of them is a kill at a commit point.
KILL_POINTS = ("rename", "replace", "unlink", "rmdir")


def _killed_at(point: int, target: Path, version: str, exchange: bool) -> bool:
    """Publish ``version`` in a forked child that SIGKILLs itself before its ``point``-th file operation;
    whether it was killed (False: it finished first)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            calls = [0]

            def killing(func: Callable[..., Any]) -> Callable[..., Any]:
                def call(*args: Any, **kwargs: Any) -> Any:
                    calls[0] += 1
                    if calls[0] == point:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return func(*args, **kwargs)

                return call

            for name in KILL_POINTS:
                setattr(os, name, killing(getattr(os, name)))
            results.exchange = killing(results.exchange if exchange else lambda a, b: False)  # type: ignore[assignment]
            publish(target, version)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two renames"])
def test_a_kill_at_any_point_leaves_the_old_or_the_new_results(tmp_path: Path, exchange: bool) -> None:
    (tmp_path / "keep.txt").write_text("not the kernel's")
    target = tmp_path / "gold"
    publish(target, "v0")
    seen = []
    point = 1
    while _killed_at(point, target, f"v{point}", exchange):
        if exchange or target.exists():
            assert version_of(target) in {"v0", f"v{point}"}, f"point {point}"
        # The next publish recovers what the killed one left (two renames: the gap between them is closed).
        results.recover(target)
        assert version_of(target) in {"v0", f"v{point}"}, f"point {point}"
        seen.append(version_of(target) == f"v{point}")
        assert beside(target) == {"keep.txt"}, f"point {point}"
        publish(target, "v0")
        point += 1
    assert point > 5  # the sweep really killed the publish at several points
    assert version_of(target) == f"v{point}" and beside(target) == {"keep.txt"}
    assert any(seen) and not all(seen)  # killed both before and after the commit
    assert (tmp_path / "keep.txt").read_text() == "not the kernel's"
