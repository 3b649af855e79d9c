"""Column checks and conversions: input columns to the plain numpy arrays the algorithm works on.

Times become ``int64`` nanoseconds since the epoch (UTC) with :data:`NAT` for a missing value;
values that only need ordering become ``int64``/``float64`` arrays in which a null is the lowest
value, so "largest" and "smallest" mean the same thing for every dtype.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pandas as pd

from kernel import DataError
from kernel_window.settings import WindowConfig

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

NAT = np.iinfo(np.int64).min
_NANOSECONDS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}  # the units pandas stores
# Columns the step adds to the records it sends to the late and quarantine outputs.
LATE_COLUMNS = ("window_start", "watermark", "reason")
# pandas' constructor of a timestamp array from checked values, without a copy (utc)
_WRAP = getattr(pd.arrays.DatetimeArray, "_simple_new", None)


def utc(ticks: np.ndarray, unit: str = "ns") -> pd.Series:
    """Ticks of ``unit`` since the epoch (:data:`NAT`: NaT) as a UTC timestamp column on the same memory:
    give it an array that nothing else holds or changes.

    pandas' public constructors localise a copy. At the window step's peak each copy is as long as its
    output (78 MB for the flagship's 9.8 million windows), so the array is wrapped with pandas' own
    constructor for arrays it has checked; a pandas without it gets the public copy.
    """
    values = np.asarray(ticks, dtype=np.int64).view(f"M8[{unit}]")
    dtype = pd.DatetimeTZDtype(unit=unit, tz="UTC")  # type: ignore[call-overload]
    if _WRAP is not None:
        try:
            wrapped: pd.Series = pd.Series(_WRAP(values, dtype=dtype), copy=False)
            return wrapped
        except TypeError:  # a signature of another pandas
            pass
    copied: pd.Series = pd.Series(values, dtype=dtype, copy=False)
    return copied


def let_go(frame: pd.DataFrame, keep: Collection[str]) -> None:
    """Drop every column of ``frame`` but ``keep``: a frame the step owns (``kernel.take_input``) frees each
    column's memory once the step is done with it."""
    for name in [c for c in frame.columns if c not in keep]:
        del frame[name]


def reduced_columns(config: WindowConfig) -> set[str]:
    """The input columns the aggregation reads once the records are laid out as pieces."""
    ends = config.columns_of("first", "last")
    return {*(config.order_by if ends else ()), *ends, *config.columns_of("count", "sum", "mean", "min", "max")}


def check_columns(frame: pd.DataFrame, config: WindowConfig) -> None:
    """Fail with one line naming the setting when a column the settings name is not in ``frame``, when
    ``sum``/``mean`` name a column that is not numeric, or when the input has a column the step adds."""
    named: list[tuple[str, str]] = [("time_column", config.time_column)]
    if config.arrival_column is not None:
        named.append(("arrival_column", config.arrival_column))
    named += [("keys", key) for key in config.keys]
    named += [(f"aggregations.{a.name}", a.column) for a in config.aggregations if a.column is not None]
    named += [("order_by", column) for column in config.order_by]
    for setting, column in named:
        if column not in frame.columns:
            have = ", ".join(map(str, frame.columns[:12])) + (", ..." if len(frame.columns) > 12 else "")
            raise DataError(f"column '{column}' is not in the input (columns: {have or 'none'})",
                            field=f"settings.{setting}")
    clash = [name for name in LATE_COLUMNS if name in frame.columns]
    if clash:
        raise DataError(f"input column '{clash[0]}' clashes with a column the step adds to its late and "
                        f"quarantine outputs ({', '.join(LATE_COLUMNS)}); rename it first")
    for a in config.aggregations:
        if a.fn in ("sum", "mean") and a.column is not None and not _is_numeric(frame[a.column]):
            raise DataError(f"{a.fn} needs a numeric column; '{a.column}' is {frame[a.column].dtype}",
                            field=f"settings.aggregations.{a.name}")


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)


def utc_nanoseconds(column: pd.Series, setting: str) -> Int64s:
    """Nanoseconds since the epoch (UTC); :data:`NAT` where a value is null, unparseable or out of range.

    Timestamps without a zone are UTC; text is parsed as ISO 8601 (with or without an offset).
    """
    dtype = column.dtype
    stored = time_ticks(column)
    if stored is not None:  # read in place rather than convert a copy
        ticks, unit = stored
    else:
        if pd.api.types.is_datetime64_any_dtype(dtype):
            parsed = pd.to_datetime(column, utc=True)
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            # pandas warns that numbers inside text columns will one day be read as epochs; today they are
            # unparseable, which is what rule 2 wants for them.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
        else:
            raise DataError(f"column '{column.name}' is not a time column ({dtype}): expected timestamps "
                            f"or ISO-8601 text", field=f"settings.{setting}")
        values = parsed.dt.tz_localize(None).to_numpy()
        unit, _ = np.datetime_data(values.dtype)
        ticks = values.view(np.int64)
    scale = _NANOSECONDS[unit]
    if scale == 1:
        out: Int64s = ticks.view()
        out.flags.writeable = False  # may be the column's own memory
        return out
    # Coarser units reach further than nanoseconds do; a value beyond 1677..2262 counts as unparseable.
    bound = np.iinfo(np.int64).max // scale
    if len(ticks) and -bound < int(ticks.min()) and int(ticks.max()) < bound:
        out = ticks * scale  # no null and nothing out of range: one pass
        return out
    inside = (ticks > -bound) & (ticks < bound)
    out = np.where(inside, ticks * scale, NAT)
    return out


def time_ticks(column: pd.Series) -> tuple[Int64s, str] | None:
    """A timestamp column's ticks as pandas stores them (UTC, in the column's unit, NaT the smallest
    int64), read in place, and the unit; None for other dtypes (text, Arrow-backed timestamps)."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        unit = str(dtype.unit)
    elif isinstance(dtype, np.dtype) and dtype.kind == "M":
        unit = str(np.datetime_data(dtype.str)[0])
    else:
        return None
    ticks: Int64s = np.asarray(column.array.view(np.int64))
    return ticks, unit


def numbers(column: pd.Series) -> tuple[Int64s | Floats, Bools]:
    """A numeric column as (a writable copy of its values, present mask); integers stay exact. NaN and
    infinities are missing, as nulls are: one would make a window's mean or sum meaningless."""
    present = column.notna().to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(column.dtype):
        values = np.array(column.to_numpy(dtype=np.float64, na_value=np.nan))
        return values, present & np.isfinite(values)
    return np.array(column.to_numpy(dtype=np.int64, na_value=0)), present


def present(column: pd.Series) -> Bools:
    """Which values of a column of any dtype count: not null, and finite when it is a float column."""
    if pd.api.types.is_float_dtype(column.dtype):
        return numbers(column)[1]
    return column.notna().to_numpy(dtype=bool)


def is_float(column: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(column.dtype) and not isinstance(column.dtype, pd.ArrowDtype)


def ranks(column: pd.Series, *, flip: bool = False) -> Int64s:
    """Integers that order like the column and put nulls lowest (highest with ``flip``, which reverses the
    whole order)."""
    if is_float(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan) + 0.0  # -0.0 ties with 0.0, as they compare
        bits = values.view(np.int64)
        # The bits of a float order like the float once a negative one's are flipped; a null is made the
        # smallest int64, below -inf (as a float, a null could only tie with -inf).
        ints = np.where(bits < 0, bits ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), bits)
        ints[np.isnan(values)] = np.iinfo(np.int64).min
    elif pd.api.types.is_datetime64_any_dtype(column.dtype):
        ints = pd.to_datetime(column, utc=True).dt.tz_localize(None).to_numpy().view(np.int64)
    elif pd.api.types.is_integer_dtype(column.dtype) and not column.hasnans:
        ints = column.to_numpy(dtype=np.int64)
    else:
        ints, _ = factorize_sorted(column)
    return np.invert(ints) if flip else ints  # ~x = -x - 1: reverses the order and cannot overflow


def factorize_sorted(column: pd.Series) -> tuple[Int64s, pd.Index]:
    """Codes that order like the values (``-1`` for null) and the distinct values."""
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError as exc:
        # Values of several types (say, numbers and text) have no order to pick a first or last by.
        raise DataError(f"column '{column.name}' mixes values that cannot be ordered: {exc}") from None
    return codes.astype(np.int64, copy=False), pd.Index(uniques)
