"""Timestamps for checks: bounds and columns compared in UTC (a value without an offset is UTC)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def parse_timestamp(value: Any) -> pd.Timestamp:
    """A UTC timestamp from ISO text, a date or a datetime; raises ValueError on anything else."""
    if isinstance(value, bool) or not isinstance(value, str | date | datetime | pd.Timestamp):
        raise ValueError(f"expected a timestamp (ISO-8601 text), got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a timestamp: {value!r} ({exc})") from None
    if pd.isna(stamp):
        raise ValueError(f"not a timestamp: {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def utc_column(series: pd.Series[Any]) -> pd.Series[Any]:
    """The column as UTC timestamps; text is parsed, numbers are refused (their unit is unknown)."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        converted: pd.Series[Any] = series.dt.tz_convert("UTC")
        return converted
    if pd.api.types.is_datetime64_dtype(dtype):
        localized: pd.Series[Any] = series.dt.tz_localize("UTC")
        return localized
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise TypeError(f"column '{series.name}' holds {dtype}, not timestamps")
    return pd.to_datetime(series, utc=True)


def like_column(bound: Any, series: pd.Series[Any]) -> Any:
    """A range bound in the column's terms: timestamps for a timestamp column, the value itself otherwise."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return parse_timestamp(bound).tz_convert(dtype.tz)
    if pd.api.types.is_datetime64_dtype(dtype):
        return parse_timestamp(bound).tz_localize(None)
    if _holds_dates(series):
        if isinstance(bound, datetime):
            raise ValueError(f"column '{series.name}' holds dates: give the bound as a date, not {bound!r}")
        if isinstance(bound, date):
            return bound
        try:
            return date.fromisoformat(str(bound))
        except ValueError:
            raise ValueError(f"column '{series.name}' holds dates: {bound!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(bound, str) and (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        # A bound from a parameter (min: "-${params.limit}") is text: a number written as text is that number.
        try:
            return float(bound) if any(c in bound for c in ".eE") or "inf" in bound.lower() else int(bound)
        except ValueError:
            raise ValueError(f"column '{series.name}' holds numbers: {bound!r} is not a number") from None
    return bound


def _holds_dates(series: pd.Series[Any]) -> bool:
    """Calendar dates (Parquet's and Avro's ``date``): Python dates in an object column, or Arrow's date32/64."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa  # type: ignore[import-untyped]

        return bool(pa.types.is_date(dtype.pyarrow_dtype))
    if dtype is not np.dtype(object):
        return False
    present = series.dropna()
    return not present.empty and all(type(v) is date for v in present.iloc[:1])
