"""Aggregations on columns of every kind, compared with a few lines of plain pandas: text, boolean and
nullable columns; NaN and infinities count as missing (docs/windowing.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_window.steps import tumbling
from window_support import T0

AGGREGATIONS = {"texts": "count(txt)", "flags": "count(flag)", "ints": "count(i)", "mean": "mean(t)",
                "max": "max(t)", "min": "min(t)", "sum": "sum(t)", "finite": "count(t)", "top": "max(i)"}
FLOATS = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf]))
RECORD = st.tuples(st.integers(0, 5 * 60 - 1), st.sampled_from(["a", "b", None]), st.sampled_from([True, False, None]),
                   st.one_of(st.none(), st.integers(-5, 5)), FLOATS)


def frame(records: list[tuple[int, str | None, bool | None, int | None, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "device_id": "d1",
        "event_time": [T0 + pd.Timedelta(seconds=r[0]) for r in records],
        "txt": pd.array([r[1] for r in records], dtype="str"),
        "flag": pd.array([r[2] for r in records], dtype="boolean"),
        "i": pd.array([r[3] for r in records], dtype="Int64"),
        "t": np.array([r[4] for r in records], dtype=np.float64),
    })


def plain(records: pd.DataFrame) -> pd.DataFrame:
    """The same figures by hand: one batch, every window flushed, nothing late."""
    t = records["t"].where(np.isfinite(records["t"]))
    grouped = records.assign(t=t, window_start=records["event_time"].dt.floor("1min")).groupby("window_start")
    return pd.DataFrame({"texts": grouped["txt"].count(), "flags": grouped["flag"].count(),
                         "ints": grouped["i"].count(), "mean": grouped["t"].mean(), "max": grouped["t"].max(),
                         "min": grouped["t"].min(), "sum": grouped["t"].sum(), "finite": grouped["t"].count(),
                         "top": grouped["i"].max()}).reset_index()


@settings(max_examples=60, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=40))
def test_every_column_kind_in_every_aggregation_matches_plain_pandas(
    records: list[tuple[int, str | None, bool | None, int | None, float]],
) -> None:
    data = frame(records)
    out = tumbling({"records": data}, time_column="event_time", arrival_column=None, keys=["device_id"],
                   size="1min", watermark="2min", trigger=None, aggregations=AGGREGATIONS)["windows"]
    got = out[["window_start", *AGGREGATIONS]].sort_values("window_start").reset_index(drop=True)
    expected = plain(data)
    for name in AGGREGATIONS:
        mine, theirs = got[name].astype("Float64"), expected[name].astype("Float64")
        if name == "sum":  # a window with no finite value: no sum (null), where pandas says 0
            theirs = theirs.where(expected["finite"] > 0)
        assert mine.isna().tolist() == theirs.isna().tolist(), name
        np.testing.assert_allclose(mine.dropna().to_numpy(float), theirs.dropna().to_numpy(float), rtol=1e-9,
                                   err_msg=name)


STAMP = st.one_of(st.none(), st.integers(-10**6, 10**6))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5 * 60 - 1), STAMP), min_size=1, max_size=40),
       st.sampled_from(["datetime64[ms, Europe/Paris]", "datetime64[ns, UTC]", "datetime64[s]"]))
def test_min_and_max_of_a_timestamp_column_match_plain_pandas(records: list[tuple[int, int | None]],
                                                              dtype: str) -> None:
    seen = pd.Series([None if r[1] is None else T0 + pd.Timedelta(seconds=r[1]) for r in records],
                     dtype="datetime64[ns, UTC]")
    seen = seen.dt.tz_localize(None).astype(dtype) if "," not in dtype else seen.astype(dtype)
    data = pd.DataFrame({"device_id": "d1", "event_time": [T0 + pd.Timedelta(seconds=r[0]) for r in records],
                         "seen": seen})
    out = tumbling({"records": data}, time_column="event_time", arrival_column=None, keys=["device_id"],
                   size="1min", watermark="2min", trigger=None,
                   aggregations={"first_seen": "min(seen)", "last_seen": "max(seen)"})["windows"]
    got = out.sort_values("window_start").reset_index(drop=True)
    grouped = data.groupby(data["event_time"].dt.floor("1min"))["seen"]
    for name, expected in (("first_seen", grouped.min()), ("last_seen", grouped.max())):
        assert str(got[name].dtype) == dtype
        assert got[name].tolist() == expected.reset_index(drop=True).tolist(), name
