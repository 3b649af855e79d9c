"""The built-in checks' functions (their settings and declarations are in :mod:`kernel_validator.builtin`),
imported where a step's checks run.

Value checks (in_range, in_set, matches) run pandera's built-in check functions (those behind
``pa.Check.in_range``, ``isin`` and ``str_matches``) on the column alone, which gives the outcome
per row; counts and failing values follow from it. Neither ``DataFrameSchema.validate`` nor
``Check.__call__`` is used: they build failure-case tables this plugin does not need and cost several
times the check itself on small frames, once per check and step (figures in docs/validator.md).
not_null and unique are plain pandas (``notna``, ``duplicated``): in pandera they are schema
properties, reported only through a schema validation. pandera is imported when a run first needs
it, so pipelines without these checks never pay for the import.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from kernel import parse_duration
from kernel_validator.builtin import Freshness, InRange, InSet, Matches, NotNull, RowCount, Unique
from kernel_validator.checktype import FrameResult, RowMask
from kernel_validator.timestamps import like_column, parse_timestamp, utc_column


def _values_check(series: pd.Series[Any], outcome: Any) -> RowMask:
    """A value check's outcome; a null is not checked (as pandera's ``ignore_na``)."""
    present = series.notna().to_numpy()
    passed = np.asarray(outcome.to_numpy(dtype=bool, na_value=False)) | ~present
    return RowMask(passed, present)


def not_null(frame: pd.DataFrame, settings: NotNull) -> RowMask:
    present = [frame[c].notna().to_numpy() for c in settings.columns]
    return RowMask(np.logical_and.reduce(present) if len(present) > 1 else present[0])


def unique(frame: pd.DataFrame, settings: Unique) -> RowMask:
    keep: Literal["first", "last", False] = False if settings.keep == "none" else settings.keep
    columns = list(settings.columns)
    repeated = repeated_rows(frame, columns)
    if repeated is None:
        copies = frame[columns[0]].duplicated(keep=keep) if len(columns) == 1 else frame.duplicated(columns,
                                                                                                     keep=keep)
        return RowMask(~copies.to_numpy())
    if keep is not False:  # which copy passes is decided among the repeated rows alone, in their order
        rows = np.flatnonzero(repeated)
        repeated[rows] = frame.iloc[rows].duplicated(columns, keep=keep).to_numpy()
    return RowMask(~repeated)


def repeated_rows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """Which rows share their values of ``columns`` with another row, when the columns are small integer codes
    together (categories, booleans, integers or timestamps on a regular step, such as window starts); None when
    they are not, and hashing is the way.

    Rows in order of those codes (the columns as given, or the other way round: a window step's output is by
    window, then key) are compared with their neighbours; others are counted in one ``bincount``, whose counts
    are as many as the codes can be: fresh memory the size of the frame's key space."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    # Rows in order are found on the values as pandas holds them (no new array the size of a column); codes
    # are made only for rows in no order, or for columns whose values are not comparable numbers.
    as_held = [_held_order(frame[column]) for column in columns]
    held = [values for values in as_held if values is not None]
    compared = len(held) == len(as_held)
    if compared:
        repeated = _beside_equal_either_way(held)
        if repeated is not None:
            return repeated
    del as_held, held
    coded: list[np.ndarray] = []
    counts: list[int] = []
    size = 1
    limit = 4 * len(frame) + 4096
    for column in columns:
        found = _dense_codes(frame[column], limit)
        if found is None:
            return None
        coded.append(found[0])
        counts.append(found[1])
        size *= found[1]
    # Codes keep the order of the values they stand for: values compared above and in no order, codes neither.
    if not compared:
        repeated = _beside_equal_either_way(coded)
        if repeated is not None:
            return repeated
    if size > limit:
        return None
    key = coded[0]  # codes are fresh arrays: combined in place, at what may be the step's peak memory
    for codes, count in zip(coded[1:], counts[1:], strict=True):
        key *= count
        key += codes
    del coded
    many = np.bincount(key, minlength=size) > 1  # counts to flags first: the gather below reads bytes, not int64s
    return np.asarray(many[key])


def _beside_equal_either_way(codes: list[np.ndarray]) -> np.ndarray | None:
    """:func:`_beside_equal` with the columns as given, then the other way round."""
    for order in (codes, codes[::-1]) if len(codes) > 1 else (codes,):
        repeated = _beside_equal(order)
        if repeated is not None:
            return repeated
    return None


def _beside_equal(codes: list[np.ndarray]) -> np.ndarray | None:
    """Rows equal to a neighbour in every column, if the rows are in order of ``codes`` (the first the major
    order); None if they are not."""
    tie = np.ones(len(codes[0]) - 1, dtype=bool)  # row i + 1 equals row i in the columns so far
    for column in codes:
        before, after = column[:-1], column[1:]
        down = np.less(after, before)
        down &= tie
        if down.any():
            return None
        tie &= np.equal(after, before)
    repeated = np.zeros(len(codes[0]), dtype=bool)
    repeated[1:] = tie
    repeated[:-1] |= tie
    return repeated


def _held_order(column: pd.Series) -> np.ndarray | None:
    """The column's values as numbers in the order of its values, equal where they are, without a copy:
    categories' codes (missing, -1, equal to each other), timestamps' ticks, integers and booleans; None for
    any other column."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes.to_numpy())
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "Mm"):
        return np.asarray(column.array.view(np.int64))
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return column.to_numpy()
    return None


def _dense_codes(column: pd.Series, limit: int) -> tuple[np.ndarray, int] | None:
    """Codes 0..count-1 equal where the values are (nulls equal to each other, as pandas counts them)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        codes += 1  # missing (-1) becomes a code of its own
        return codes, len(dtype.categories) + 1
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "Mmiub"):
        ticks = column.array.view(np.int64) if dtype.kind in "Mm" else column.to_numpy()
        if ticks.dtype.kind == "u" and ticks.dtype.itemsize == 8:
            return None
        low, high = int(ticks.min()), int(ticks.max())
        span = high - low
        if span >= 2**63:  # the offsets below would overflow (NaT among times, say)
            return None
        offset = ticks.astype(np.int64, copy=False) - low
        if span >= limit:  # sparse: dense again when the values lie on a regular step (minute starts)
            step = int(np.gcd.reduce(offset))
            if step == 0 or span // step >= limit:
                return None
            # in place and exact (every offset is a multiple): new arrays here are fresh memory at a run's peak
            np.floor_divide(offset, step, out=offset)
            span //= step
        return offset, span + 1
    return None


def in_range(frame: pd.DataFrame, settings: InRange) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    low = None if settings.min is None else like_column(settings.min, series)
    high = None if settings.max is None else like_column(settings.max, series)
    if low is not None and high is not None:
        outcome = pa.in_range(series, low, high, settings.min_inclusive, settings.max_inclusive)
    elif low is not None:
        outcome = (pa.greater_than_or_equal_to if settings.min_inclusive else pa.greater_than)(series, low)
    else:
        outcome = (pa.less_than_or_equal_to if settings.max_inclusive else pa.less_than)(series, high)
    return _values_check(series, outcome)


def in_set(frame: pd.DataFrame, settings: InSet) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    return _values_check(series, pa.isin(series, list(settings.values)))


def matches(frame: pd.DataFrame, settings: Matches) -> RowMask:
    from pandera.backends.pandas import builtin_checks as pa

    series = frame[settings.column]
    text = series if pd.api.types.is_string_dtype(series.dtype) else series.astype("string")  # numbers as text
    return _values_check(series, pa.str_matches(text, settings.pattern))


def row_count(frame: pd.DataFrame, settings: RowCount) -> FrameResult:
    rows = len(frame)
    passed = (settings.min is None or rows >= settings.min) and (settings.max is None or rows <= settings.max)
    return FrameResult(
        passed=passed,
        message=f"{rows} rows",
        observed={"rows": rows},
        failing_values=() if passed else (rows,),
        rows_checked=rows,
    )


def freshness(frame: pd.DataFrame, settings: Freshness) -> FrameResult:
    stamps = utc_column(frame[settings.column]).dropna()
    now = parse_timestamp(settings.now) if settings.now is not None else pd.Timestamp.now(tz="UTC")
    max_age = parse_duration(settings.max_age)
    assert max_age is not None  # the settings model checked it
    oldest_allowed = now - pd.Timedelta(max_age, unit="ns")
    observed: dict[str, Any] = {"now": now.isoformat(), "oldest_allowed": oldest_allowed.isoformat()}
    if stamps.empty:
        return FrameResult(False, f"no {settings.column} values", observed, rows_checked=0)
    newest = stamps.max()
    observed["newest"] = newest.isoformat()
    if newest < oldest_allowed:
        message = f"newest {settings.column} {newest.isoformat()} is older than {oldest_allowed.isoformat()}"
    elif newest > now:
        message = f"newest {settings.column} {newest.isoformat()} is after {now.isoformat()}"
    else:
        return FrameResult(True, f"newest {settings.column} {newest.isoformat()}", observed, rows_checked=len(stamps))
    return FrameResult(False, message, observed, (newest.isoformat(),), rows_checked=len(stamps))
