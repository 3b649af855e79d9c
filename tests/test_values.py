"""kernel.json_safe: data values as the JSON files about data (snapshots, check results) carry them."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import orjson
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from kernel import json_safe


def test_values_json_cannot_hold_become_text_or_null() -> None:
    assert json_safe(math.nan) is None and json_safe(pd.NaT) is None and json_safe(pd.NA) is None
    assert json_safe(np.float64("inf")) == "Infinity" and json_safe(-math.inf) == "-Infinity"
    assert json_safe(pd.Timestamp("2024-01-01 00:01", tz="UTC")) == "2024-01-01T00:01:00+00:00"
    assert json_safe(np.datetime64("NaT")) is None
    assert json_safe(timedelta(minutes=2)) == json_safe(pd.Timedelta("2min")) == "P0DT0H2M0S"
    assert json_safe(Decimal("1.50")) == "1.50" and json_safe(Decimal("NaN")) is None
    assert json_safe(date(2024, 1, 2)) == "2024-01-02"
    assert json_safe(timedelta.max) == str(timedelta.max)  # beyond pandas' range: still text
    assert json_safe(b"caf\xc3\xa9") == "café"
    assert type(json_safe(np.int64(3))) is int and type(json_safe(np.float32(0.5))) is float


def test_long_text_is_cut_and_collections_keep_their_first_items_when_asked() -> None:
    assert json_safe("x" * 500) == "x" * 200 + "…"
    assert json_safe(list(range(50)), items=20) == list(range(20))
    assert json_safe({str(i): i for i in range(50)}, items=3) == {"0": 0, "1": 1, "2": 2}
    assert json_safe(list(range(50))) == list(range(50))


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300)
    | st.datetimes()
    | st.timedeltas()
    | st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2250, 1, 1)).map(pd.Timestamp)
    | st.decimals(allow_nan=True, allow_infinity=False)
    | st.binary(max_size=50)
)


@given(st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner)))
def test_whatever_comes_in_orjson_can_write(value: object) -> None:
    orjson.dumps(json_safe(value))
