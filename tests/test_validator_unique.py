"""The ``unique`` check counts dense keys (categories, booleans, integers, timestamps on a step) with one
``bincount``; it must mark exactly the rows pandas' ``duplicated`` marks, for every ``keep``."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_validator.builtin import Unique
from kernel_validator.checks import _dense_codes, repeated_rows, unique

MINUTE = 60_000_000_000


def _column(kind: str, draw: Any, rows: int) -> pd.Series:
    small = draw(st.lists(st.integers(0, 4), min_size=rows, max_size=rows))
    if kind == "category":
        values = [None if v == 0 else f"d{v}" for v in small]
        return pd.Series(values, dtype="category")
    if kind == "int":
        return pd.Series(np.array(small, dtype=np.int64) * draw(st.sampled_from([1, 7, 2**40])) - 3)
    if kind == "extremes":  # offsets from the least would overflow int64: pandas' own path
        ends = np.array([np.iinfo(np.int64).min, -1, 0, 1, np.iinfo(np.int64).max], dtype=np.int64)
        return pd.Series(ends[np.array(small, dtype=np.int64)])
    if kind == "bool":
        return pd.Series(np.array(small) % 2 == 0)
    if kind == "minutes":  # window starts: a regular step far from zero
        stamps = pd.to_datetime(np.array(small, dtype=np.int64) * MINUTE + 1_700_000_000 * 10**9, utc=True)
        return pd.Series(stamps)
    if kind == "nat":  # a missing timestamp: pandas' own path
        stamps = pd.to_datetime([None if v == 0 else v * MINUTE for v in small], utc=True)
        return pd.Series(stamps)
    return pd.Series([None if v == 0 else str(v) for v in small], dtype="str")  # text: pandas' own path


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    rows = draw(st.integers(0, 40))
    kinds = draw(st.lists(st.sampled_from(["category", "int", "extremes", "bool", "minutes", "nat", "text"]),
                          min_size=1, max_size=3))
    return pd.DataFrame({f"c{i}": _column(kind, draw, rows) for i, kind in enumerate(kinds)})


@settings(max_examples=300, deadline=None)
@given(frames(), st.sampled_from(["none", "first", "last"]))
def test_unique_marks_the_rows_pandas_duplicated_marks(frame: pd.DataFrame, keep: str) -> None:
    columns = list(frame.columns)
    mask = unique(frame, Unique(columns=tuple(columns), keep=keep))  # type: ignore[arg-type]
    expected = ~frame.duplicated(columns, keep=False if keep == "none" else keep).to_numpy()  # type: ignore[arg-type]
    assert mask.passed.tolist() == expected.tolist()


def test_window_keys_are_counted_without_hashing() -> None:
    devices = pd.Series(["a", "b", "a", "b", "a"], dtype="category")
    starts = pd.Series(pd.to_datetime(np.array([0, 0, 1, 1, 0]) * MINUTE + 10**18, utc=True))
    frame = pd.DataFrame({"device_id": devices, "window_start": starts})
    assert repeated_rows(frame, ["device_id", "window_start"]).tolist() == [True, False, False, False, True]
    assert repeated_rows(frame.astype({"device_id": "str"}), ["device_id", "window_start"]) is None


@settings(max_examples=200, deadline=None)
@given(frames(), st.sampled_from(["none", "first", "last"]), st.booleans())
def test_rows_in_order_of_their_keys_are_compared_with_their_neighbours(frame: pd.DataFrame, keep: str,
                                                                        reverse: bool) -> None:
    # A window step's output is in order (by window, then key): no count per possible key is made for it.
    columns = list(frame.columns)
    if not len(frame):
        return
    coded = [_dense_codes(frame[c], 4 * len(frame) + 4096) for c in columns]
    if any(c is None for c in coded):
        return
    major = [c[0] for c in coded if c is not None]
    order = np.lexsort(major if reverse else major[::-1])  # lexsort's last key is the major one
    frame = frame.iloc[order].reset_index(drop=True)
    with mock.patch.object(np, "bincount", side_effect=AssertionError("counted")):
        mask = unique(frame, Unique(columns=tuple(columns), keep=keep))  # type: ignore[arg-type]
    expected = ~frame.duplicated(columns, keep=False if keep == "none" else keep).to_numpy()  # type: ignore[arg-type]
    assert mask.passed.tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(frames(), st.sampled_from(["none", "first", "last"]), st.booleans())
def test_rows_in_order_are_compared_as_pandas_holds_them_with_no_codes_made(frame: pd.DataFrame, keep: str,
                                                                             reverse: bool) -> None:
    # The codes are columns as long as the frame, made at the window step's peak: rows in order need none.
    columns = [c for c in frame.columns if frame[c].dtype != "str"]
    if not len(frame) or not columns:
        return
    held = [frame[c].cat.codes.to_numpy() if frame[c].dtype == "category" else
            frame[c].array.view(np.int64) if frame[c].dtype.kind == "M" else frame[c].to_numpy() for c in columns]
    frame = frame[columns].iloc[np.lexsort(held if reverse else held[::-1])].reset_index(drop=True)
    with mock.patch("kernel_validator.checks._dense_codes", side_effect=AssertionError("coded")):
        mask = unique(frame, Unique(columns=tuple(columns), keep=keep))  # type: ignore[arg-type]
    expected = ~frame.duplicated(columns, keep=False if keep == "none" else keep).to_numpy()  # type: ignore[arg-type]
    assert mask.passed.tolist() == expected.tolist()
