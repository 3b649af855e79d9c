"""Data values as JSON can carry them, for the files plugins write about data (snapshots, check results)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

TEXT_LIMIT = 200  # characters of a text value kept


def json_safe(value: Any, *, items: int | None = None) -> Any:
    """``value`` as JSON can carry it: times and durations as ISO 8601 text, NaN, NaT and NA as null,
    infinities as ``"Infinity"``/``"-Infinity"``, numpy scalars as Python ones, text cut at
    :data:`TEXT_LIMIT` characters (``…`` marks a cut), bytes as UTF-8 text, anything else as its text.
    Mappings and sequences are converted item by item, their first ``items`` only when given."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "…"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # float(): numpy.float64 is a float too, but orjson writes only float itself
        return float(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, np.timedelta64):
        return None if np.isnat(value) else pd.Timedelta(value).isoformat()
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, timedelta):
        try:
            return pd.Timedelta(value).isoformat()
        except (OverflowError, ValueError):  # beyond pandas' nanosecond range (about 292 years)
            return str(value)
    if isinstance(value, Decimal):
        return None if value.is_nan() else str(value)
    if isinstance(value, bytes | bytearray):
        return json_safe(bytes(value[: TEXT_LIMIT * 4]).decode("utf-8", errors="replace"))
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, items=items) for k, v in islice(value.items(), items)}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [json_safe(v, items=items) for v in islice(value, items)]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return json_safe(str(value))
