"""``select``, ``filter``, ``derive``, ``sort``, ``dedupe``, ``union`` and ``sample``: steps over the rows and
columns of their input. Columns a step passes along are the input's own, dtypes and all."""

from __future__ import annotations

import json
from typing import Any, cast

import numpy as np
import pandas as pd

from kernel import DataError, Inputs, Outputs, StepContext, StepSettingsError
from kernel_transform.engine import evaluate, mask
from kernel_transform.frames import missing_columns, only_input, reset
from kernel_transform.settings import (
    DedupeSettings,
    DeriveSettings,
    FilterSettings,
    SampleSettings,
    SelectSettings,
    SortSettings,
    UnionSettings,
)


def select(inputs: Inputs, **settings: Any) -> Outputs:
    """Keep, drop, rename and cast columns."""
    s = SelectSettings.model_validate(settings)
    frame = only_input(inputs, "transform.select")
    if s.columns is not None:
        missing_columns(frame, s.columns, "settings.columns")
        frame = frame[s.columns]
    missing_columns(frame, s.drop, "settings.drop")
    frame = frame.drop(columns=s.drop)
    missing_columns(frame, list(s.rename), "settings.rename")
    clash = [new for old, new in s.rename.items() if new in frame.columns and new not in s.rename]
    if clash:
        raise StepSettingsError(f"renaming onto '{clash[0]}', a column that stays", field="settings.rename")
    frame = frame.rename(columns=s.rename)
    missing_columns(frame, list(s.cast), "settings.cast")
    if s.cast:
        frame = frame.copy()
        for name, kind in s.cast.items():
            frame[name] = _cast(frame[name], kind, f"settings.cast.{name}")
    return {"out": reset(frame)}


def _cast(column: pd.Series, kind: str, field: str) -> pd.Series:
    try:
        if kind == "timestamp":
            return pd.to_datetime(column, utc=True, format="ISO8601" if column.dtype.kind in "OUT" else None)
        if kind == "date":
            return pd.to_datetime(column, utc=True, format="ISO8601" if column.dtype.kind in "OUT" else None).dt.date
        if kind == "string":
            return column.astype("str").where(column.notna())
        if kind == "bool" and column.isna().any():
            raise ValueError("null values cannot be bool (cast to boolean keeps them)")
        converted: pd.Series = column.astype(cast(Any, kind))
        return converted
    except (TypeError, ValueError, OverflowError) as exc:
        bad = _first_bad(column, kind)
        where = f" (row {bad[0]}: {bad[1]!r})" if bad else ""
        raise DataError(f"cannot cast column '{column.name}' to {kind}{where}: {exc}".splitlines()[0],
                        field=field) from None


def _first_bad(column: pd.Series, kind: str) -> tuple[int, Any] | None:
    """The first value that does not convert on its own: what a user looks for in the data."""
    for position, value in enumerate(column.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value) and kind != "bool"):
            continue
        try:
            if kind in ("timestamp", "date"):
                pd.to_datetime([value], utc=True)
            else:
                pd.Series([value]).astype(cast(Any, kind))
        except (TypeError, ValueError, OverflowError):
            return position, value
    return None


def filter(inputs: Inputs, **settings: Any) -> Outputs:
    """Keep the rows where a SQL condition holds; the others go to ``rest``."""
    s = FilterSettings.model_validate(settings)
    frame = only_input(inputs, "transform.filter")
    keep = mask(frame, s.where, "settings.where")
    return {"out": reset(frame[keep]), "rest": reset(frame[~keep])}


def derive(inputs: Inputs, **settings: Any) -> Outputs:
    """Add columns (or replace them) from SQL expressions."""
    s = DeriveSettings.model_validate(settings)
    frame = only_input(inputs, "transform.derive")
    computed = evaluate(frame, s.columns, "settings.columns")
    out = frame.copy()
    for name in computed.columns:
        out[name] = computed[name]
    return {"out": reset(out)}


def sort(inputs: Inputs, **settings: Any) -> Outputs:
    """Order rows by columns; ties keep their input order."""
    s = SortSettings.model_validate(settings)
    frame = only_input(inputs, "transform.sort")
    missing_columns(frame, s.by, "settings.by")
    ascending = [not d for d in s.descending] if isinstance(s.descending, list) else not s.descending
    ordered = frame.sort_values(s.by, ascending=ascending, kind="stable", na_position=s.nulls)
    return {"out": reset(ordered)}


def dedupe(inputs: Inputs, *, ctx: StepContext | None = None, **settings: Any) -> Outputs:
    """One row per key; the others go to ``duplicates`` with the reason. With ``state_dir``, a key let through
    by an earlier run is a duplicate too."""
    s = DedupeSettings.model_validate(settings)
    frame = reset(only_input(inputs, "transform.dedupe"))
    keys = list(frame.columns) if s.keys is None else s.keys
    missing_columns(frame, keys, "settings.keys")
    missing_columns(frame, s.order_by, "settings.order_by")
    earlier = np.zeros(len(frame), dtype=bool)
    store = seen = newest = None
    if s.state_dir is not None:
        from kernel_transform.seen import SeenKeys

        if s.time_column is not None:
            missing_columns(frame, [s.time_column], "settings.time_column")
        salt = json.dumps(dict(ctx.params), sort_keys=True, default=str) if ctx is not None and ctx.params else None
        store = SeenKeys(s.state_dir, keys, s.time_column, salt)
        seen, newest = store.load(frame)
        if seen is not None and len(seen) and len(frame):
            earlier = _earlier(frame, seen, keys, s)
        if s.time_column is not None:
            newest, seen = _forget(seen, newest, frame[s.time_column], s.remember)
    ordered = frame[~earlier] if earlier.any() else frame
    if s.order_by:
        ordered = ordered.sort_values(s.order_by, ascending=not s.descending, kind="stable", na_position="last")
    # Null keys are equal to each other here, as in SQL's DISTINCT.
    repeated = ordered.duplicated(subset=keys, keep=s.keep)
    kept = np.sort(ordered.index[~repeated.to_numpy()].to_numpy())
    dropped = np.sort(np.concatenate([ordered.index[repeated.to_numpy()].to_numpy(), np.flatnonzero(earlier)]))
    duplicates = frame.loc[dropped].copy()
    reason = f"duplicate of ({', '.join(keys)})" if s.keys is not None else "duplicate row"
    reasons: Any = np.where(earlier[dropped], f"{reason}, let through by an earlier run", reason) if len(
        dropped) else []
    duplicates["reason"] = pd.Series(reasons, index=duplicates.index, dtype="str")
    if store is not None:
        _remember(store, s, frame, kept, seen, newest, ctx)
    return {"out": reset(frame.loc[kept]), "duplicates": reset(duplicates)}


def _earlier(frame: pd.DataFrame, seen: pd.DataFrame, keys: list[str], s: DedupeSettings
             ) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which rows have a key an earlier run let through, at most ``remember`` before the row's own time."""
    from kernel import parse_duration
    from kernel_transform.seen import TIME, utc_ns

    # By the keys' hashes: a null equals a null (as here within a run), whatever dtype it came back in.
    mine = pd.util.hash_pandas_object(frame[keys], index=False).to_numpy()
    theirs = pd.util.hash_pandas_object(seen[keys], index=False).to_numpy()
    if s.remember is None or s.time_column is None:
        return np.isin(mine, theirs)
    latest = pd.Series(seen[TIME].to_numpy(np.int64), index=theirs).groupby(level=0).max()
    at = latest.index.get_indexer(pd.Index(mine))
    found = at >= 0
    when = latest.to_numpy()[np.where(found, at, 0)]  # seen is not empty: position 0 exists
    row_time = utc_ns(frame[s.time_column])
    timeless = row_time == np.iinfo(np.int64).min  # a row without a time matches any remembered key
    recent = when >= np.where(timeless, 0, row_time) - int(parse_duration(s.remember) or 0)
    matched: np.ndarray[Any, np.dtype[np.bool_]] = found & (timeless | recent)
    return matched


def _forget(seen: pd.DataFrame | None, newest: int | None, times: pd.Series[Any],
            remember: str | None) -> tuple[int | None, pd.DataFrame | None]:
    """The newest time seen, this run's rows included, and the keys still remembered behind it."""
    from kernel import parse_duration
    from kernel_transform.seen import TIME, utc_ns

    present = utc_ns(times)
    present = present[present != np.iinfo(np.int64).min]
    if len(present):
        newest = max(int(present.max()), newest if newest is not None else int(present.max()))
    if remember is not None and newest is not None and seen is not None and len(seen):
        horizon = newest - int(parse_duration(remember) or 0)
        seen = seen[seen[TIME].to_numpy() >= horizon].reset_index(drop=True)
    return newest, seen


def _remember(store: Any, s: DedupeSettings, frame: pd.DataFrame, kept: np.ndarray[Any, Any],
              seen: pd.DataFrame | None, newest: int | None, ctx: StepContext | None) -> None:
    """Stage the keys let through so far (less those forgotten); committed with the run."""
    from kernel_transform.seen import TIME, utc_ns

    keys = store.keys
    new = frame.loc[kept, keys].reset_index(drop=True)
    if s.time_column is not None:
        new[TIME] = utc_ns(frame.loc[kept, s.time_column])
    parts = [p for p in (seen, new) if p is not None and len(p)]
    together = pd.concat(parts, ignore_index=True) if parts else new
    store.keep(store.stage(together, newest, frame), ctx)


def union(inputs: Inputs, **settings: Any) -> Outputs:
    """The rows of every input, one after another, columns matched by name."""
    s = UnionSettings.model_validate(settings)
    if not inputs:
        raise StepSettingsError("transform.union needs at least one input", field="needs")
    columns: list[str] = []
    for frame in inputs.values():
        columns.extend(c for c in frame.columns if c not in columns)
    if s.source_column is not None and s.source_column in columns:
        raise StepSettingsError(f"an input already has a column '{s.source_column}'", field="settings.source_column")
    parts = []
    for name, frame in inputs.items():
        lacking = [c for c in columns if c not in frame.columns]
        if lacking and s.missing == "refuse":
            raise DataError(f"input '{name}' has no column '{lacking[0]}' (missing: null lets it be null)",
                            field="settings.missing")
        part = frame.reindex(columns=columns) if lacking else frame[columns]
        if s.source_column is not None:
            part = part.assign(**{s.source_column: pd.Series([name] * len(part), index=part.index, dtype="str")})
        parts.append(part)
    non_empty = [p for p in parts if len(p)] or parts[:1]  # concat warns on all-null parts: leave empties out
    return {"out": pd.concat(non_empty, ignore_index=True)}


def sample(inputs: Inputs, **settings: Any) -> Outputs:
    """A seeded random sample of rows, in input order."""
    s = SampleSettings.model_validate(settings)
    frame = only_input(inputs, "transform.sample")
    count = min(s.rows, len(frame)) if s.rows is not None else round(len(frame) * (s.fraction or 0.0))
    chosen = np.sort(np.random.default_rng(s.seed).choice(len(frame), size=count, replace=False))
    return {"out": reset(frame.iloc[chosen])}
