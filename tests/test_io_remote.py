"""Reading and writing at URLs (fsspec's memory and local filesystems stand in for s3://, gs://, abfs://):
the same frames, errors naming the URL, and a cache that notices when the data behind a URL changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from helpers import write_pipeline
from kernel_io.formats import read_frame, write_frame

from kernel import DataError, Kernel

FRAME = pd.DataFrame({
    "id": pd.Series([1, 2, 3], dtype="int64"),
    "name": pd.Series(["a", "b", None], dtype="str"),
    "at": pd.to_datetime([0, 60_000, 120_000], unit="ms", utc=True),
})


@pytest.fixture
def bucket() -> Iterator[str]:
    """A fresh directory of the in-memory filesystem, removed afterwards."""
    root = f"memory://bucket-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.mark.parametrize("extension", ["parquet", "avro", "json", "csv"])
def test_a_frame_written_to_a_url_reads_back_as_from_a_local_file(bucket: str, tmp_path: Path,
                                                                  extension: str) -> None:
    url, local = f"{bucket}/out/frame.{extension}", tmp_path / f"frame.{extension}"
    write_frame(FRAME, url)
    write_frame(FRAME, local)
    pd.testing.assert_frame_equal(read_frame(url), read_frame(local))
    fs = fsspec.filesystem("memory")
    assert [p.rsplit("/", 1)[1] for p in fs.ls(f"{bucket}/out", detail=False)] == [f"frame.{extension}"]


def test_a_directory_and_a_glob_at_a_url_read_their_files_in_name_order(bucket: str) -> None:
    write_frame(FRAME.iloc[:1], f"{bucket}/parts/b.parquet")
    write_frame(FRAME.iloc[1:], f"{bucket}/parts/a.parquet")
    whole = read_frame(f"{bucket}/parts", file_column="file")
    assert whole["id"].tolist() == [2, 3, 1] and whole["file"].tolist() == ["a.parquet", "a.parquet", "b.parquet"]
    assert read_frame(f"{bucket}/parts/*.parquet")["id"].tolist() == [2, 3, 1]


def test_a_file_url_is_a_local_file(tmp_path: Path) -> None:
    write_frame(FRAME, tmp_path / "frame.parquet")
    pd.testing.assert_frame_equal(read_frame(f"file://{tmp_path}/frame.parquet"), FRAME)


def test_bad_data_or_a_missing_file_at_a_url_is_one_line_naming_the_url(bucket: str) -> None:
    with pytest.raises(DataError) as missing:
        read_frame(f"{bucket}/nothing.csv")
    assert str(missing.value) == f"{bucket}/nothing.csv: no such file or directory"
    with fsspec.open(f"{bucket}/bad.avro", "wb") as fo:
        fo.write(b"not avro at all")
    with pytest.raises(DataError) as bad:
        read_frame(f"{bucket}/bad.avro")
    assert str(bad.value) == f"{bucket}/bad.avro: not an Avro file (it looks like CSV or other text)"
    write_frame(FRAME, f"{bucket}/parts/a.csv")
    with fsspec.open(f"{bucket}/parts/b.csv", "wb") as fo:
        fo.write(b"")
    for where in (f"{bucket}/parts", f"{bucket}/parts/*.csv"):
        with pytest.raises(DataError) as empty:
            read_frame(where)
        assert str(empty.value) == f"{bucket}/parts/b.csv: empty CSV file (no header line)"


def test_publish_refuses_a_url_before_the_run(tmp_path: Path, bucket: str) -> None:
    path = write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": f"{bucket}/in.csv"}},
        {"name": "out", "uses": "io.publish", "needs": ["src"], "settings": {"path": f"{bucket}/gold"}},
    ])
    with pytest.raises(Exception, match=r"io\.publish replaces a local directory whole"):
        Kernel().plan(Kernel().load(path))


def test_a_pipeline_reads_and_writes_urls_and_its_cache_sees_remote_changes(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_frame(FRAME, f"{bucket}/in.csv")
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": f"{bucket}/in.csv"}},
        {"name": "copy", "uses": "io.write", "needs": ["src"], "settings": {"path": f"{bucket}/out/copy.parquet"}},
    ], name="remote")
    monkeypatch.chdir(tmp_path)
    kernel = Kernel(disable=["report", "tracker"])
    first = kernel.run("pipeline.yaml", runs_root="runs")
    assert first.ok, first.record.error
    assert read_frame(f"{bucket}/out/copy.parquet")["id"].tolist() == [1, 2, 3]
    assert [d.path for d in first.record.steps["src"].datasets] == [f"{bucket}/in.csv"]
    again = kernel.run("pipeline.yaml", runs_root="runs")
    assert {n: s.cache for n, s in again.record.steps.items()} == {"src": "hit", "copy": "hit"}
    write_frame(FRAME.iloc[:2], f"{bucket}/in.csv")
    changed = kernel.run("pipeline.yaml", runs_root="runs")
    assert changed.record.steps["src"].cache_reason == f"{bucket}/in.csv, which it read, changed"
    assert read_frame(f"{bucket}/out/copy.parquet")["id"].tolist() == [1, 2]


def test_steps_shipped_to_worker_processes_read_and_write_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_frame(FRAME, tmp_path / "in.parquet")
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": f"file://{tmp_path}/in.parquet"}},
        {"name": "copy", "uses": "io.write", "needs": ["src"],
         "settings": {"path": f"file://{tmp_path}/out/copy.csv"}},
    ], name="shipped")
    monkeypatch.chdir(tmp_path)
    result = Kernel(disable=["report", "tracker", "cache"]).run("pipeline.yaml", runs_root="runs",
                                                                executor="processes", workers=2)
    assert result.ok, result.record.error
    assert read_frame(tmp_path / "out" / "copy.csv")["id"].tolist() == [1, 2, 3]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != "copy.csv"]  # no temporary left


def test_a_write_to_a_url_killed_at_any_point_leaves_the_old_file_or_the_new(tmp_path: Path) -> None:
    import os
    import subprocess

    from fault_support import command

    write_frame(FRAME, tmp_path / "in.parquet")
    out = tmp_path / "out"
    write_frame(FRAME.iloc[:1], out / "copy.csv")  # the old version
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": f"file://{tmp_path}/in.parquet"}},
        {"name": "copy", "uses": "io.write", "needs": ["src"], "settings": {"path": f"file://{out}/copy.csv"}},
    ], name="killed")
    quiet = ["-p", "no:report", "-p", "no:tracker", "-p", "no:validator", "-p", "no:cache"]

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command("run", "pipeline.yaml", *quiet), cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "FAULT_ROOTS": str(out), **env})

    log = tmp_path / "points.log"
    counted = run(FAULT_LOG=str(log))
    assert counted.returncode == 0, counted.stderr
    points = [line.split("\t")[1] for line in log.read_text().splitlines()]
    assert "rename" in points or "replace" in points
    for n in range(1, len(points) + 1):
        write_frame(FRAME.iloc[:1], out / "copy.csv")
        killed = run(FAULT_KILL_AT=str(n))
        assert killed.returncode == -9, (n, killed.stderr)
        assert read_frame(out / "copy.csv")["id"].tolist() in ([1], [1, 2, 3]), n  # old or new, never part
        done = run()
        assert done.returncode == 0, (n, done.stderr)
        assert read_frame(out / "copy.csv")["id"].tolist() == [1, 2, 3]
