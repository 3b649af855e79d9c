"""The stream's sink: parts merged like a counter as they pile up, read as if never merged, and a merge killed
half way loses and repeats nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kernel_stream.sink import merge, parts, read_sink, tidy


def batch(seq: int, rows: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"seq": [seq] * rows, "n": range(rows), "name": pd.Categorical([f"b{seq}"] * rows)})


def land(directory: Path, seqs: range | list[int], fanout: int, max_rows: int = 1_000_000) -> pd.DataFrame:
    """Write each batch's part and merge after it, as the stream does; every batch's rows, in order."""
    (directory / "out").mkdir(parents=True, exist_ok=True)
    frames = []
    for seq in seqs:
        frame = batch(seq)
        frame.to_parquet(directory / "out" / f"part-{seq:08d}.parquet", index=False)
        frames.append(frame)
        merge(directory / "out", fanout, max_rows)
    return pd.concat(frames, ignore_index=True)


def test_parts_are_merged_like_a_counter_and_read_as_if_never_merged(tmp_path: Path) -> None:
    whole = land(tmp_path, range(23), fanout=4)
    # 23 in base 4 is 113: one part of 16 batches, one of 4, three single ones.
    assert [p.path.name for p in parts(tmp_path / "out")] == [
        "part-00000000-00000015-l2.parquet", "part-00000016-00000019-l1.parquet", "part-00000020.parquet",
        "part-00000021.parquet", "part-00000022.parquet"]
    pd.testing.assert_frame_equal(read_sink(tmp_path, "out"), whole, check_categorical=False)


def test_batches_without_rows_leave_gaps_that_merged_parts_span(tmp_path: Path) -> None:
    whole = land(tmp_path, [0, 2, 3, 7, 9, 10], fanout=3)
    assert [p.path.name for p in parts(tmp_path / "out")] == [
        "part-00000000-00000003-l1.parquet", "part-00000007-00000010-l1.parquet"]
    pd.testing.assert_frame_equal(read_sink(tmp_path, "out"), whole, check_categorical=False)


def test_a_merge_that_would_be_too_large_is_not_made(tmp_path: Path) -> None:
    land(tmp_path, range(8), fanout=2, max_rows=12)  # 2 batches of 3 rows merge, 4 do, 8 (24 rows) do not
    levels = [p.level for p in parts(tmp_path / "out")]
    assert levels == [2, 2]


def test_a_merge_killed_after_its_rename_loses_and_repeats_nothing(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    whole = land(tmp_path, range(3), fanout=4)
    frame = batch(3)
    frame.to_parquet(tmp_path / "out" / "part-00000003.parquet", index=False)
    whole = pd.concat([whole, frame], ignore_index=True)

    def killed(self: Path, missing_ok: bool = False) -> None:
        raise KeyboardInterrupt("killed between the merged part's rename and the removals")

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt):
        merge(tmp_path / "out", 4, 1_000_000)
    monkeypatch.undo()
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["part-00000000-00000003-l1.parquet", *(f"part-{i:08d}.parquet" for i in range(4))]
    pd.testing.assert_frame_equal(read_sink(tmp_path, "out"), whole, check_categorical=False)  # covered: skipped
    tidy(tmp_path / "out")  # what a restart does
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["part-00000000-00000003-l1.parquet"]
    pd.testing.assert_frame_equal(read_sink(tmp_path, "out"), whole, check_categorical=False)


def test_a_merge_that_fails_before_its_rename_leaves_the_parts_as_they_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = land(tmp_path, range(3), fanout=4)
    batch(3).to_parquet(tmp_path / "out" / "part-00000003.parquet", index=False)
    whole = pd.concat([whole, batch(3)], ignore_index=True)

    def full_disk(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        Path(str(path)).write_bytes(b"PAR1 half")
        raise OSError("No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    with pytest.raises(OSError, match="No space left"):
        merge(tmp_path / "out", 4, 1_000_000)
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"part-{i:08d}.parquet" for i in range(4)]
    pd.testing.assert_frame_equal(read_sink(tmp_path, "out"), whole, check_categorical=False)
