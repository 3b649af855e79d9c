"""The cache's content fingerprints against what they stand for: equal frames agree (whatever their text's
storage or their slicing), any changed value disagrees, and a stored frame reads back with its fingerprint."""

from __future__ import annotations

import struct
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import xxhash
from hypothesis import example, given, settings
from hypothesis import strategies as st
from kernel_cache.fingerprint import Unfingerprintable, _raw, digests, file_hash, frame_fingerprint, path_hash
from kernel_cache.store import CacheStore, StoredCopyDiffers

TEXT = st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)), max_size=30)


def _column(values: list[str | None], dtype: object) -> pd.DataFrame:
    return pd.Series(values, dtype=dtype).to_frame("s")  # type: ignore[call-overload]


@settings(max_examples=200, deadline=None)
@given(values=TEXT)
def test_text_agrees_whatever_its_storage_and_a_changed_value_disagrees(values: list[str | None]) -> None:
    arrow = digests(_column(values, "str"))[2]
    python = digests(_column(values, pd.StringDtype("python", na_value=np.nan)))[2]
    assert arrow == python
    sliced = pd.Series(["x", *values], dtype="str").iloc[1:].reset_index(drop=True).to_frame("s")
    assert digests(sliced)[2] == arrow  # a slice's Arrow data starts part-way into its buffers
    for position, value in enumerate(values):
        changed = list(values)
        changed[position] = "" if value is None else None if value == "" else value + "x"
        assert digests(_column(changed, "str"))[2] != arrow, (position, value)


FRAMES = st.integers(0, 40).flatmap(
    lambda n: st.fixed_dictionaries({
        "i": st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n),
        "f": st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
        "s": st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=4)),
                      min_size=n, max_size=n),
        "n": st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n),
        "c": st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n),
        "t": st.lists(st.integers(0, 2**41), min_size=n, max_size=n),
        "o": st.lists(st.one_of(st.none(), st.integers(0, 3), st.text(max_size=2)), min_size=n, max_size=n),
    })
)


def _frame(data: dict[str, list[object]]) -> pd.DataFrame:
    return pd.DataFrame({
        "i": pd.Series(data["i"], dtype="int64"),
        "f": pd.Series(data["f"], dtype="float64"),
        "s": pd.Series(data["s"], dtype="str"),
        "n": pd.Series(data["n"], dtype="Int64"),
        "c": pd.Categorical(data["c"], categories=["a", "b", "c", "unused"]),
        "t": pd.to_datetime(pd.Series(data["t"], dtype="int64"), unit="ms", utc=True),
        "o": pd.Series(data["o"], dtype=object),
    })


ODD_NAN = struct.unpack("d", struct.pack("Q", 0x7FF8000000000001))[0]  # a NaN with a payload Arrow drops


@settings(max_examples=60, deadline=None)
@given(data=FRAMES)
@example(data={"i": [0], "f": [ODD_NAN], "s": [None], "n": [None], "c": ["a"], "t": [0], "o": [None]})
def test_a_stored_frame_reads_back_exactly(data: dict[str, list[object]],
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    frame = _frame(data).drop(columns="o")
    store = CacheStore(Path(tmp_path_factory.mktemp("store")))
    fingerprint = frame_fingerprint(frame)
    assert frame_fingerprint(frame.copy(deep=True)) == fingerprint
    store.put_frame(frame, fingerprint)
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), frame, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(data=FRAMES, batch_bytes=st.sampled_from([1, 40, 1 << 20]))
def test_a_frame_stored_in_batches_reads_back_exactly(data: dict[str, list[object]], batch_bytes: int,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    # A large frame is compressed a batch of rows at a time, not all at once beside the frame.
    frame = _frame(data).drop(columns="o")
    store = CacheStore(Path(tmp_path_factory.mktemp("store")))
    fingerprint = frame_fingerprint(frame)
    with mock.patch("kernel_cache.store._BATCH_BYTES", batch_bytes):
        store.put_frame(frame, fingerprint)
    with pa.OSFile(str(store.object_path(fingerprint)), "rb") as source:
        batches = pa.ipc.open_file(source).num_record_batches
    if batch_bytes == 1 and len(frame):
        assert batches == len(frame)
    elif len(frame):
        assert batches >= 1
    pd.testing.assert_frame_equal(store.get_frame(fingerprint), frame, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(data=FRAMES)
def test_python_objects_are_stored_and_read_back_exactly_or_not_reused(
    data: dict[str, list[object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    frame = _frame(data)[["o"]]
    store = CacheStore(Path(tmp_path_factory.mktemp("store")))
    fingerprint = frame_fingerprint(frame)
    try:
        store.put_frame(frame, fingerprint)
    except Exception:  # a column Parquet cannot hold (mixed objects): not stored, so never reused
        return
    outcome: pd.DataFrame | str
    try:
        outcome = store.get_frame(fingerprint)
    except StoredCopyDiffers as exc:  # stored, but not as it was: refused, never reused wrong
        outcome = str(exc)
    if isinstance(outcome, str):
        assert "does not read back identical" in outcome
    else:
        pd.testing.assert_frame_equal(outcome, frame, check_exact=True)


def test_a_directory_is_listed_from_the_hashes_a_step_reported_for_its_files(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for name in ("a.avro", "b.avro"):
        (tmp_path / "d" / name).write_bytes(name.encode() * 1000)
    a, b = (str(tmp_path / "d" / name) for name in ("a.avro", "b.avro"))
    fresh = path_hash(str(tmp_path / "d"))
    # The hashes the step reported, as it read the files: the same listing, without reading them again.
    assert path_hash(str(tmp_path / "d"), {a: file_hash(a), b: file_hash(b)}) == fresh
    # A reported hash is used as it is (what the step read), and a file it did not report is read now.
    assert path_hash(str(tmp_path / "d"), {a: "sha256:" + "0" * 64}) != fresh
    (tmp_path / "d" / "c.avro").write_bytes(b"new")
    assert path_hash(str(tmp_path / "d"), {a: file_hash(a), b: file_hash(b)}) == path_hash(str(tmp_path / "d"))


def _whole(values: np.ndarray) -> bytes:
    """The digest's bytes of a float column as they were first made: the column whole, NaNs made one NaN."""
    nans = np.isnan(values)
    return np.where(nans, np.array(np.nan, dtype=values.dtype), values).tobytes() if nans.any() else values.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False, width=32), st.integers(0, 2**51 - 1).map(
           lambda payload: struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0000 | payload))[0])),
           max_size=60), st.sampled_from([1, 7, 1 << 18]), st.sampled_from(["float64", "float32", "complex128"]))
def test_a_float_column_read_a_part_at_a_time_has_the_digest_of_the_whole(values: list[float], part: int,
                                                                           dtype: str) -> None:
    # Fingerprints stay those of earlier runs (stored cache entries match), and NaNs of any bits agree.
    column = np.array(values, dtype=np.float64).astype(dtype)
    expected = xxhash.xxh3_128(_whole(column)).hexdigest()
    with mock.patch("kernel_cache.fingerprint._PART", part):
        found = xxhash.xxh3_128()
        _raw(found, column)
    assert found.hexdigest() == expected


@settings(max_examples=60, deadline=None)
@given(data=FRAMES)
def test_columns_fingerprinted_side_by_side_give_the_same_digests(data: dict[str, list[object]]) -> None:
    frame = _frame(data)
    with mock.patch("kernel_cache.fingerprint._SIDE_BY_SIDE", 1 << 62):
        alone = digests(frame)
    with mock.patch("kernel_cache.fingerprint._SIDE_BY_SIDE", 0):
        assert digests(frame) == alone
        assert digests(frame, alone) == alone  # text digests given, the others hashed on the threads


def test_a_column_that_cannot_be_fingerprinted_is_named_on_the_threads_too() -> None:
    frame = pd.DataFrame({"x": [1, 2], "nested": pd.Series([[1], [2]], dtype=object)})
    with mock.patch("kernel_cache.fingerprint._SIDE_BY_SIDE", 0), pytest.raises(Unfingerprintable, match="nested"):
        digests(frame)
