"""Durations in pipeline files, read without pandas, give pandas' own values (kernel.parse_duration)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.errors import OutOfBoundsTimedelta

from kernel import parse_duration

UNITS = ["W", "D", "days", "day", "h", "hr", "hour", "hours", "m", "min", "minute", "minutes", "s", "sec",
         "second", "seconds", "ms", "millisecond", "milliseconds", "us", "µs", "microseconds", "ns", "nanos",
         "nanoseconds"]
number = st.one_of(
    st.integers(0, 10_000).map(str),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"),
)
pair = st.tuples(number, st.sampled_from(["", " "]), st.sampled_from(UNITS)).map("".join)
unit_text = st.tuples(st.sampled_from(["", "-", "+"]), st.lists(pair, min_size=1, max_size=3)).map(
    lambda t: t[0] + " ".join(t[1])
)
iso_text = st.tuples(
    st.sampled_from(["", "-"]),
    st.none() | st.integers(0, 30),
    st.none() | st.integers(0, 48),
    st.none() | st.integers(0, 90),
    st.none() | st.sampled_from(["0", "5", "1.5", "59.25"]),
).filter(lambda t: any(v is not None for v in t[1:])).map(
    lambda t: t[0] + "P" + (f"{t[1]}D" if t[1] is not None else "")
    + ("T" + "".join(f"{v}{u}" for v, u in zip(t[2:], "HMS", strict=True) if v is not None)
       if any(v is not None for v in t[2:]) else "")
)
clock_text = st.tuples(
    st.none() | st.integers(0, 9), st.integers(0, 99), st.integers(0, 59), st.integers(0, 59),
    st.none() | st.integers(0, 999_999_999),
).map(lambda t: (f"{t[0]} days " if t[0] is not None else "") + f"{t[1]:02d}:{t[2]:02d}:{t[3]:02d}"
      + (f".{t[4]:09d}" if t[4] is not None else ""))


def _pandas(text: str) -> int | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecates some unit spellings; their values are what counts
        try:
            return int(pd.Timedelta(text).value)
        except OutOfBoundsTimedelta:
            return None


@given(st.one_of(unit_text, iso_text, clock_text))
def test_a_duration_has_the_value_pandas_gives_it(text: str) -> None:
    ours, theirs = parse_duration(text), _pandas(text)
    if theirs is None:  # more than an int64 of nanoseconds
        assert ours is None
        return
    assert ours is not None
    # Equal, but for pandas' float arithmetic on fractions (each can be 1 ns short, '0.141W'; more when large,
    # '64.1W' 7 ns): ours is exact.
    assert abs(ours - theirs) <= 3 + abs(theirs) * 1e-15  # up to three fractions


@pytest.mark.parametrize("text", ["", "1", "120", "s", "1 mins", "1e3s", "1M", "1MIN", "1y", "P", "PT", "01:00",
                                  "1h x", "abc", "--1s", "1:00:00:00"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(("text", "ns"), [("1d", 86_400 * 10**9), ("2w", 14 * 86_400 * 10**9),
                                          ("1.5 hours", 5_400 * 10**9), ("500ms", 5 * 10**8), ("1ns", 1)])
def test_what_people_write(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


def test_checking_a_pipeline_with_durations_imports_no_pandas() -> None:
    code = ("import sys; from kernel_window.settings import TumblingSettings as T; "
            "T.model_validate({'time_column': 't', 'size': '1min', 'watermark': '2min', "
            "'aggregations': {'n': 'count'}}); print('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
