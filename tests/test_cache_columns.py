"""Large columns stored once: a frame's large columns live in files named by their content, which every frame
holding the same column shares. A frame still reads back exactly, a column file that is gone or damaged
makes a miss (never a wrong frame), and prune keeps every column a kept frame names."""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_cache import threads
from kernel_cache.cache import writer
from kernel_cache.fingerprint import frame_fingerprint
from kernel_cache.store import CacheStore, StoredCopyDiffers

ROWS = 150_000  # 1.2 MB a column of 8-byte values: above the size that gets a file of its own


def columns_of(store: CacheStore) -> set[str]:
    return {p.name for p in (store.root / "columns").glob("*/*.arrow")}


def stored(store: CacheStore, frame: pd.DataFrame) -> str:
    fingerprint = frame_fingerprint(frame)
    store.put_frame(frame, fingerprint)
    return fingerprint


@pytest.fixture
def base() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "id": np.arange(ROWS, dtype="int64"),
        "value": rng.normal(size=ROWS),
        "when": pd.to_datetime(rng.integers(0, 10**12, ROWS), unit="ms", utc=True),
        "kind": pd.Categorical(rng.choice(["a", "b", "c"], ROWS)),
        "small": np.zeros(ROWS, dtype="int8"),
    })


def test_a_frame_that_adds_a_column_stores_only_that_column(tmp_path: Path, base: pd.DataFrame) -> None:
    store = CacheStore(tmp_path)
    first = stored(store, base)
    after_first = columns_of(store)
    # id, value and when are large; kind's codes (int8) and small are not, and stay in the frame's own file
    assert len(after_first) == 3
    wider = base.assign(doubled=base["value"] * 2)
    second = stored(store, wider)
    assert len(columns_of(store)) == 4 and after_first < columns_of(store)
    assert store.object_path(second).stat().st_size < 64 << 10  # names the shared columns, holds the small ones
    pd.testing.assert_frame_equal(store.get_frame(first), base, check_exact=True)
    pd.testing.assert_frame_equal(store.get_frame(second), wider, check_exact=True)


def test_the_same_bits_under_another_type_are_another_column(tmp_path: Path) -> None:
    # int64 0 and float64 0.0 have the same bytes and the same values digest: the type keeps them apart.
    store = CacheStore(tmp_path)
    ints = pd.DataFrame({"x": np.zeros(ROWS, dtype="int64")})
    floats = pd.DataFrame({"x": np.zeros(ROWS, dtype="float64")})
    fingerprints = [stored(store, ints), stored(store, floats)]
    assert len(columns_of(store)) == 2
    pd.testing.assert_frame_equal(store.get_frame(fingerprints[0]), ints, check_exact=True)
    pd.testing.assert_frame_equal(store.get_frame(fingerprints[1]), floats, check_exact=True)


FRAMES = st.fixed_dictionaries({}).flatmap(lambda _: st.integers(0, 12).flatmap(lambda n: st.fixed_dictionaries({
    "i": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
    "f": st.lists(st.one_of(st.floats(allow_nan=True), st.none()), min_size=n, max_size=n),
    "s": st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=n, max_size=n),
    "c": st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n),
    "n": st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n),
})))


@settings(max_examples=60, deadline=None)
@given(data=FRAMES, own=st.sampled_from([0, 1, 40]))
def test_frames_whose_columns_are_stored_apart_read_back_exactly(
    data: dict[str, list[object]], own: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    frame = pd.DataFrame({
        "i": pd.Series(data["i"], dtype="int64"),
        "f": pd.Series(data["f"], dtype="float64"),
        "s": pd.Series(data["s"], dtype="str"),
        "c": pd.Categorical(data["c"], categories=["a", "b", "unused"]),
        "n": pd.Series(data["n"], dtype="Int64"),
        "t": pd.to_datetime(pd.Series(data["i"], dtype="int64") // 10**9, unit="s", utc=True),
    })
    store = CacheStore(Path(tmp_path_factory.mktemp("store")))
    with mock.patch("kernel_cache.store._OWN_FILE_BYTES", own):
        fingerprint = stored(store, frame)
        renamed = frame.rename(columns={"i": "j"})  # every column shared, under another name
        other = stored(store, renamed)
    if own == 0:  # every column in a file of its own: the frame's file holds none
        with pa.OSFile(str(store.object_path(fingerprint)), "rb") as source:
            assert {f.type for f in pa.ipc.open_file(source).schema} == {pa.null()}
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), frame, check_exact=True)
    pd.testing.assert_frame_equal(store.get_frame(other), renamed, check_exact=True)


@pytest.mark.parametrize("fault", ["gone", "damaged"])
def test_a_column_file_gone_or_damaged_is_refused_then_stored_again(
    tmp_path: Path, base: pd.DataFrame, fault: str
) -> None:
    store = CacheStore(tmp_path)
    fingerprint = stored(store, base)
    victim = sorted((tmp_path / "columns").glob("*/*.arrow"))[0]
    if fault == "gone":
        victim.unlink()
    else:
        victim.write_bytes(b"not arrow")
    refused = StoredCopyDiffers if fault == "gone" else pa.ArrowInvalid
    with pytest.raises(refused, match="is gone" if fault == "gone" else None):
        store.get_frame(fingerprint)
    assert not victim.exists()  # a damaged column is not kept to fail again
    # What a step's lookup does then: drop the frame; the run that computes it stores it again.
    store.drop_frame(fingerprint)
    store.put_frame(base, fingerprint)
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), base, check_exact=True)


def test_prune_keeps_the_columns_a_kept_frame_names(tmp_path: Path, base: pd.DataFrame) -> None:
    store = CacheStore(tmp_path)
    old = stored(store, base.drop(columns="value"))  # id and when, shared with the kept frame
    kept = stored(store, base)
    entry = {"pipeline": "p", "step": "s", "outputs": {"out": kept}, "files": []}
    store.put_entry("a" * 64, entry)
    past = time.time() - 10 * 86400
    for path in tmp_path.rglob("*.arrow"):
        os.utime(path, (past, past))
    before = store.usage()
    removed = store.prune(86400)
    assert removed.objects == 1 and not store.object_path(old).exists()
    assert len(columns_of(store)) == 3  # all three named by the kept frame
    pd.testing.assert_frame_equal(store.get_frame(kept), base, check_exact=True)
    assert before.bytes - removed.bytes == store.usage().bytes  # the column files are counted in the size
    for path in tmp_path.rglob("*.arrow"):
        os.utime(path, (past, past))
    (tmp_path / "entries").joinpath("aa", "a" * 64 + ".json").unlink()
    store.prune(86400)
    assert columns_of(store) == set() and store.usage().bytes == 0


def test_a_frame_handed_over_is_let_go_a_column_at_a_time(tmp_path: Path) -> None:
    # Beside a run, the store is the last to hold a frame: each large column is freed once its file is written,
    # before the frame's own file, so the next step reuses that memory.
    store = CacheStore(tmp_path)
    ints, floats = np.arange(ROWS, dtype="int64"), np.arange(ROWS, dtype="float64")
    alive = {"ints": weakref.ref(ints), "floats": weakref.ref(floats)}
    frame = pd.DataFrame({"ints": ints, "floats": floats, "small": np.zeros(ROWS, dtype="int8")}, copy=False)
    expected = frame.copy(deep=True)
    fingerprint = frame_fingerprint(frame)
    handed = weakref.ref(frame)
    del ints, floats
    seen: dict[str, list[bool]] = {"columns": [], "objects": []}
    put_table = CacheStore._put_table

    def recording(self: CacheStore, path: Path, table: pa.Table, batch_bytes: int | None = None) -> None:
        where = path.parent.parent.name
        seen[where].append(handed() is None and (where == "columns" or all(a() is None for a in alive.values())))
        put_table(self, path, table, batch_bytes)

    with mock.patch.object(CacheStore, "_put_table", recording):
        take = [frame].pop
        del frame
        store.put_handed(take, fingerprint)
    # The frame was let go at once; both columns were freed before the frame's own file was written.
    assert seen == {"columns": [True, True], "objects": [True]}
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), expected, check_exact=True)


@pytest.mark.skipif(sys.platform != "linux", reason="a priority per thread is Linux's")
def test_the_store_compresses_at_the_lowest_priority_the_steps_at_theirs() -> None:
    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    steps = priority()
    assert writer().submit(priority).result() == threads.BESIDE_NICENESS == 19
    with mock.patch.dict(threads._pools):  # a compressing pool of its own, started by the writer
        threads._pools.pop("column", None)
        assert writer().submit(lambda: threads.pool("column", beside=True).submit(priority).result()).result() == 19
    assert threads.pool("read").submit(priority).result() == steps  # what a step waits for: at its priority
    assert priority() == steps  # the step's own thread is left as it was


def test_a_damaged_frame_leaves_the_columns_it_shares_with_another(tmp_path: Path, base: pd.DataFrame) -> None:
    store = CacheStore(tmp_path)
    first = stored(store, base)
    wider = base.assign(doubled=base["value"] * 2)
    second = stored(store, wider)
    store.object_path(second).write_bytes(b"not arrow")
    with pytest.raises(pa.ArrowInvalid):
        store.get_frame(second)
    assert len(columns_of(store)) == 4
    pd.testing.assert_frame_equal(store.get_frame(first), base, check_exact=True)


def test_a_column_that_reads_back_different_is_the_one_removed(tmp_path: Path, base: pd.DataFrame) -> None:
    store = CacheStore(tmp_path)
    fingerprint = stored(store, base)
    shifted = base.assign(id=base["id"] + 1)  # shares value and when; its id column is a file of its own
    other = stored(store, shifted)
    files = {p.name: p for p in (tmp_path / "columns").glob("*/*.arrow")}
    assert len(files) == 4

    def holding(values: pd.Series) -> Path:
        (found,) = (p for p in files.values()
                    if pa.ipc.open_file(pa.OSFile(str(p))).read_all().column(0).equals(pa.chunked_array([values])))
        return found

    mine, theirs = holding(base["id"]), holding(shifted["id"])
    # Swap the two id files: each reads (same type and length), but not with the digest its frame recorded.
    mine_bytes, theirs_bytes = mine.read_bytes(), theirs.read_bytes()
    mine.write_bytes(theirs_bytes)
    theirs.write_bytes(mine_bytes)
    with pytest.raises(StoredCopyDiffers, match="does not read back identical"):
        store.get_frame(fingerprint)
    assert columns_of(store) == set(files) - {mine.name}  # the column it read wrong, not those it shares
    store.drop_frame(fingerprint)
    store.put_frame(base, fingerprint)
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), base, check_exact=True)
    with pytest.raises(StoredCopyDiffers):
        store.get_frame(other)
    store.drop_frame(other)
    store.put_frame(shifted, other)
    pd.testing.assert_frame_equal(store.get_frame(other), shifted, check_exact=True)
