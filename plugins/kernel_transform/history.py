"""``scd2_merge``, ``surrogate_keys`` and ``star``: the steps of a dimensional model (docs/transform-history.md).

Keys match as in ``join``: on the key columns alone, a null key matching nothing. A natural key that must name
one row (a snapshot's, a dimension's) is refused when it repeats or is null, naming a key value: a history or
a set of surrogate keys built on it would be wrong without a word."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from kernel import DataError, Inputs, Outputs, StepSettingsError
from kernel_transform.frames import describe_key, missing_columns, named_input
from kernel_transform.joins import Positions, _duplicated_keys, pairs, taken
from kernel_transform.settings import Scd2Settings, StarSettings, SurrogateKeysSettings

Mask = np.ndarray[Any, np.dtype[np.bool_]]
_UTC_NS = "datetime64[ns, UTC]"


# --- shared checks ----------------------------------------------------------------------------------------------


def _whole_unique_keys(frame: pd.DataFrame, keys: list[str], what: str, field: str, why: str) -> None:
    """Refuse a null in a key column, or a key two rows share."""
    null = ~frame[keys].notna().all(axis=1).to_numpy()
    if null.any():
        raise DataError(f"{what} has {int(null.sum())} rows with a null key, such as "
                        f"{describe_key(frame, keys, null)}: {why}", field=field)
    repeated = _duplicated_keys(frame, keys)
    if repeated.any():
        raise DataError(f"{what} has {int(repeated.sum())} rows that share a key, such as "
                        f"{describe_key(frame, keys, repeated)}: {why}", field=field)


def _comparable(a: pd.DataFrame, a_keys: list[str], a_what: str, b: pd.DataFrame, b_keys: list[str], b_what: str,
                field: str) -> None:
    """Refuse key columns of kinds that never match (numbers against text, say): every key would look new."""
    if not len(a) or not len(b):
        return
    for x, y in zip(a_keys, b_keys, strict=True):
        kinds = _kind(a[x].dtype), _kind(b[y].dtype)
        if None not in kinds and kinds[0] != kinds[1]:
            raise DataError(f"{a_what}'s key column '{x}' holds {kinds[0]} ({a[x].dtype}), {b_what}'s '{y}' "
                            f"{kinds[1]} ({b[y].dtype}): they never match", field=field)


def _kind(dtype: Any) -> str | None:
    """What a key column holds, when its dtype says so (an object column may hold anything)."""
    if pd.api.types.is_bool_dtype(dtype):
        return "booleans"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numbers"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamps"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "text"
    return None


def _nulls(column: pd.Series, rows: int) -> Any:
    """``rows`` nulls of ``column``'s kind (an integer column widens to float, as pandas does)."""
    return take(column.array, np.full(rows, -1, dtype=np.int64), allow_fill=True)


def _integers(column: pd.Series, what: str, field: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """A surrogate key column as int64: integers, or floats that are whole (a CSV column with a blank)."""
    if column.isna().any():
        raise DataError(f"{what}'s column '{column.name}' has a null surrogate key", field=field)
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return values.astype(np.int64)
    raise DataError(f"{what}'s column '{column.name}' is not integer surrogate keys ({column.dtype})", field=field)


def _same(a: pd.Series, b: pd.Series) -> Mask:
    """Row by row, whether two columns hold the same value; null equals null."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    null_a, null_b = a.isna().to_numpy(), b.isna().to_numpy()
    same = null_a & null_b
    both = ~null_a & ~null_b
    if both.any():
        x, y = a[both].reset_index(drop=True), b[both].reset_index(drop=True)
        try:
            equal = np.asarray((x == y).to_numpy(dtype=bool, na_value=False), dtype=bool)
        except (TypeError, ValueError):  # kinds pandas will not compare as columns (a category, mixed objects)
            equal = np.array([_equal(p, q) for p, q in zip(x.tolist(), y.tolist(), strict=True)], dtype=bool)
        same[both] = equal
    return same


def _equal(p: Any, q: Any) -> bool:
    try:
        return bool(p == q)
    except (TypeError, ValueError):
        return False


# --- scd2_merge -------------------------------------------------------------------------------------------------


def scd2_merge(inputs: Inputs, **settings: Any) -> Outputs:
    """Merge the latest ``snapshot`` into the type-2 ``history``: open, close and keep versions as of ``as_of``."""
    s = Scd2Settings.model_validate(settings)
    step = "transform.scd2_merge"
    extra = [name for name in inputs if name not in ("snapshot", "history")]
    if extra:
        raise StepSettingsError(f"{step} takes inputs 'snapshot' and 'history' (optional), not '{extra[0]}'",
                                field="needs")
    snapshot = named_input(inputs, "snapshot", step).reset_index(drop=True)
    as_of = _timestamp(s.as_of)
    missing_columns(snapshot, s.keys, "settings.keys", "the snapshot")
    tracked = [c for c in (s.tracked if s.tracked is not None else list(snapshot.columns)) if c not in s.keys]
    missing_columns(snapshot, tracked, "settings.tracked", "the snapshot")
    stamps = {"valid_from": s.valid_from, "valid_to": s.valid_to, "is_current": s.is_current}
    for setting, name in stamps.items():
        if name in snapshot.columns:
            raise DataError(f"the snapshot already has a column '{name}'", field=f"settings.{setting}")
    _whole_unique_keys(snapshot, s.keys, "the snapshot", "settings.keys", "a snapshot holds one row per key")
    past = _history(inputs.get("history"), snapshot, s)
    starts, ends = past[s.valid_from], past[s.valid_to]

    latest = pd.concat([starts, ends]).max() if len(past) else pd.NaT
    if not pd.isna(latest) and as_of < latest:
        raise DataError(f"as_of {_text(as_of)} is before the history's latest change, {_text(latest)}: "
                        f"snapshots are merged in time order", field="settings.as_of")
    # The versions the snapshot is compared with: those valid at as_of. After the latest change, these are the
    # open ones; at it, the ones that change made, which the same snapshot again must leave as they are.
    valid = ((starts <= as_of) & (ends.isna() | (ends > as_of))).to_numpy()
    current = np.flatnonzero(valid)
    repeated = _duplicated_keys(past.iloc[current], s.keys)
    if repeated.any():
        raise DataError(f"the history has two versions of key {describe_key(past.iloc[current], s.keys, repeated)} "
                        f"valid at {_text(as_of)}", field="needs.history")
    opening, closing = _changes(snapshot, past.iloc[current], tracked, s)
    if latest == as_of and (opening.any() or closing.any()):
        if opening.any():
            where = describe_key(snapshot, s.keys, opening)
        else:
            where = describe_key(past.iloc[current], s.keys, closing)
        raise DataError(f"as_of {_text(as_of)} is already merged into the history, from a different snapshot "
                        f"(key {where} differs): give the new snapshot a later as_of", field="settings.as_of")

    out = past.copy()
    if closing.any():
        out.loc[current[closing], s.valid_to] = as_of
    if opening.any():
        versions = _versions(snapshot[opening], past, as_of, s)
        out = pd.concat([out, versions], ignore_index=True) if len(out) else versions
    out[s.is_current] = out[s.valid_to].isna().to_numpy()
    try:
        out = out.sort_values([*s.keys, s.valid_from], kind="stable")
    except TypeError as exc:
        raise DataError(f"the keys cannot be ordered: {exc}".splitlines()[0], field="settings.keys") from None
    return {"out": out.reset_index(drop=True)}


def _changes(snapshot: pd.DataFrame, current: pd.DataFrame, tracked: list[str], s: Scd2Settings
             ) -> tuple[Mask, Mask]:
    """The snapshot rows that open a version (new or changed keys), and the current versions that close
    (changed keys, and with ``deleted: close`` the keys the snapshot lacks)."""
    _comparable(snapshot, s.keys, "the snapshot", current, s.keys, "the history", "settings.keys")
    lpos, rpos = pairs(snapshot, current, s.keys, s.keys)
    changed = np.zeros(len(snapshot), dtype=bool)
    if len(lpos) and tracked:
        before = current.iloc[rpos]
        same = np.ones(len(lpos), dtype=bool)
        for name in tracked:
            same &= _same(snapshot[name].iloc[lpos], before[name])
        changed[lpos] = ~same
    opening = np.ones(len(snapshot), dtype=bool)
    opening[lpos] = changed[lpos]
    closing = np.zeros(len(current), dtype=bool)
    closing[rpos[changed[lpos]]] = True
    if s.deleted == "close":
        seen = np.zeros(len(current), dtype=bool)
        seen[rpos] = True
        closing |= ~seen
    return opening, closing


def _timestamp(text: str) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp in nanoseconds (without a zone, the time is UTC's)."""
    try:
        stamp = pd.Timestamp(text)
        if pd.isna(stamp):
            raise ValueError("not a time")
        stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        return stamp.as_unit("ns")
    except (TypeError, ValueError) as exc:
        raise StepSettingsError(f"as_of '{text}' is not a timestamp ({exc})".splitlines()[0],
                                field="settings.as_of") from None


def _text(stamp: pd.Timestamp) -> str:
    return stamp.isoformat().replace("+00:00", "Z")


def _history(history: pd.DataFrame | None, snapshot: pd.DataFrame, s: Scd2Settings) -> pd.DataFrame:
    """The history, checked, with the snapshot's columns first (a column new in the snapshot: null in every
    older version), then the columns only the history has, then valid_from and valid_to as UTC nanoseconds."""
    stamps = [s.valid_from, s.valid_to]
    if history is None:
        history = snapshot.iloc[:0].assign(**{name: pd.Series([], dtype=_UTC_NS) for name in stamps})
    missing_columns(history, s.keys, "settings.keys", "the history")
    missing_columns(history, [s.valid_from], "settings.valid_from", "the history")
    missing_columns(history, [s.valid_to], "settings.valid_to", "the history")
    history = history.reset_index(drop=True)
    dropped = [c for c in history.columns if c not in snapshot.columns and c not in (*stamps, s.is_current)]
    columns: dict[str, Any] = {}
    for name in snapshot.columns:
        columns[name] = history[name] if name in history.columns else _nulls(snapshot[name], len(history))
    for name in dropped:
        columns[name] = history[name]
    columns[s.valid_from] = _utc(history[s.valid_from], "settings.valid_from")
    columns[s.valid_to] = _utc(history[s.valid_to], "settings.valid_to")
    out = pd.DataFrame(columns, index=history.index)
    if out[s.valid_from].isna().any():
        raise DataError(f"the history has a version without {s.valid_from}", field="settings.valid_from")
    null = ~out[s.keys].notna().all(axis=1).to_numpy()
    if null.any():
        raise DataError(f"the history has a version with a null key, such as {describe_key(out, s.keys, null)}",
                        field="needs.history")
    return out


def _utc(column: pd.Series, field: str) -> pd.Series:
    """A history's timestamp column as UTC nanoseconds, whatever it was read as (a CSV gives text)."""
    if column.dtype.kind == "M":  # a time without a zone is UTC's, one with a zone is converted
        return pd.to_datetime(column, utc=True).dt.as_unit("ns")
    if column.isna().all():  # a CSV column of blanks reads as floats
        return pd.Series(pd.NaT, index=column.index, dtype=_UTC_NS)
    if column.dtype.kind in "biufc":
        raise DataError(f"the history's column '{column.name}' holds numbers, not timestamps", field=field)
    try:
        return pd.to_datetime(column, utc=True, format="ISO8601").dt.as_unit("ns")
    except (TypeError, ValueError) as exc:
        raise DataError(f"the history's column '{column.name}' is not timestamps: {exc}".splitlines()[0],
                        field=field) from None


def _versions(rows: pd.DataFrame, past: pd.DataFrame, as_of: pd.Timestamp, s: Scd2Settings) -> pd.DataFrame:
    """New versions, open from ``as_of``, in the history's columns."""
    count = len(rows)
    columns: dict[str, Any] = {}
    for name in past.columns:
        if name in rows.columns:
            columns[name] = rows[name].reset_index(drop=True)
        else:
            columns[name] = _nulls(past[name], count)
    columns[s.valid_from] = pd.Series([as_of] * count, dtype=_UTC_NS)
    columns[s.valid_to] = pd.Series([pd.NaT] * count, dtype=_UTC_NS)
    return pd.DataFrame(columns, index=pd.RangeIndex(count))


# --- surrogate_keys ---------------------------------------------------------------------------------------------


def surrogate_keys(inputs: Inputs, **settings: Any) -> Outputs:
    """An integer surrogate key per natural key, stable across runs given ``existing``; 0 is the unknown member."""
    s = SurrogateKeysSettings.model_validate(settings)
    step = "transform.surrogate_keys"
    named = [name for name in inputs if name != "existing"]
    if len(named) != 1:
        got = ", ".join(inputs) or "none"
        raise StepSettingsError(f"{step} takes one dimension input and, optionally, one named 'existing' "
                                f"(got {got})", field="needs")
    dimension = inputs[named[0]].reset_index(drop=True)
    what = f"the dimension '{named[0]}'"
    missing_columns(dimension, s.keys, "settings.keys", what)
    if s.name in dimension.columns:
        raise DataError(f"{what} already has a column '{s.name}'", field="settings.name")
    for name in s.unknown:
        if name in s.keys:
            raise StepSettingsError(f"'{name}' is a natural key column: the unknown member's is null",
                                    field=f"settings.unknown.{name}")
    missing_columns(dimension, list(s.unknown), "settings.unknown", what)
    _whole_unique_keys(dimension, s.keys, what, "settings.keys", "a dimension holds one row per natural key")

    numbers = np.zeros(len(dimension), dtype=np.int64)
    highest = 0
    vanished = dimension.iloc[:0]
    found = np.full(len(dimension), -1, dtype=np.int64)
    existing = inputs.get("existing")
    if existing is not None:
        known, known_numbers = _existing(existing, s)
        highest = max(highest, int(known_numbers.max(initial=0)))
        _comparable(dimension, s.keys, what, known, s.keys, "existing", "settings.keys")
        lpos, rpos = pairs(dimension, known, s.keys, s.keys)
        found[lpos] = rpos
        numbers[lpos] = known_numbers[rpos]
        if s.vanished == "keep":
            gone = np.ones(len(known), dtype=bool)
            gone[rpos] = False
            vanished = _like(known[gone], dimension).assign(**{s.name: known_numbers[gone]})
    new = np.flatnonzero(found < 0)
    if len(new):
        try:
            order = dimension.iloc[new].sort_values(s.keys, kind="stable").index.to_numpy()
        except TypeError as exc:
            raise DataError(f"the natural keys cannot be ordered: {exc}".splitlines()[0],
                            field="settings.keys") from None
        numbers[order] = np.arange(highest + 1, highest + 1 + len(order), dtype=np.int64)
    keyed = dimension.assign(**{s.name: numbers})
    unknown = _unknown_member(dimension, s)
    parts = [unknown, keyed] + ([vanished] if len(vanished) else [])
    out = pd.concat([_fit(part, unknown) for part in parts], ignore_index=True)
    out = out[[s.name, *dimension.columns]].sort_values(s.name, kind="stable")
    return {"out": out.reset_index(drop=True)}


def _existing(existing: pd.DataFrame, s: SurrogateKeysSettings) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """The previous keyed dimension without its unknown member, and its surrogate keys, checked."""
    missing_columns(existing, s.keys, "settings.keys", "existing")
    missing_columns(existing, [s.name], "settings.name", "existing")
    existing = existing.reset_index(drop=True)
    if not len(existing):  # a first run's empty file (a CSV header only: columns of no type)
        return existing, np.zeros(0, dtype=np.int64)
    numbers = _integers(existing[s.name], "existing", "needs.existing")
    members = numbers != 0
    if (numbers < 0).any():
        raise DataError(f"existing has a negative surrogate key in column '{s.name}'", field="needs.existing")
    known = existing[members].reset_index(drop=True)
    numbers = numbers[members]
    _whole_unique_keys(known, s.keys, "existing", "needs.existing", "each natural key has one surrogate key")
    if len(np.unique(numbers)) != len(numbers):
        raise DataError(f"existing gives one surrogate key to two natural keys (column '{s.name}')",
                        field="needs.existing")
    return known, numbers


def _like(rows: pd.DataFrame, dimension: pd.DataFrame) -> pd.DataFrame:
    """``rows`` in the dimension's columns; a column they lack is null."""
    rows = rows.reset_index(drop=True)
    return pd.DataFrame({name: rows[name] if name in rows.columns else _nulls(dimension[name], len(rows))
                         for name in dimension.columns}, index=rows.index)


def _unknown_member(dimension: pd.DataFrame, s: SurrogateKeysSettings) -> pd.DataFrame:
    """The one row of key 0: natural keys null, other columns from ``unknown`` or null."""
    columns: dict[str, Any] = {s.name: np.zeros(1, dtype=np.int64)}
    for name in dimension.columns:
        column = _holding_null(dimension[name])
        if name not in s.unknown or s.unknown[name] is None:
            columns[name] = _nulls(column, 1)
            continue
        value = s.unknown[name]
        if isinstance(column.dtype, pd.CategoricalDtype) and value not in column.cat.categories:
            column = column.cat.add_categories([value])
        try:
            cell = pd.Series([value]).astype(column.dtype)
            # A number must survive the cast (1.5 is no int64); text may be a timestamp's or a date's spelling.
            fits = not isinstance(value, int | float) or _equal(cell.iloc[0], value)
        except (TypeError, ValueError, OverflowError):
            fits = False
        if not fits:
            raise StepSettingsError(f"{value!r} does not fit column '{name}' ({dimension[name].dtype})",
                                    field=f"settings.unknown.{name}")
        columns[name] = cell.array
    return pd.DataFrame(columns, index=pd.RangeIndex(1))


def _holding_null(column: pd.Series) -> pd.Series:
    """The column in a dtype that can hold the unknown member's null, its other values as they are: integers
    become nullable Int64 (not float), booleans nullable boolean."""
    if column.dtype.kind in "iu":
        return column.astype("Int64")
    if column.dtype.kind == "b":
        return column.astype("boolean")
    return column


def _fit(part: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """``part`` in ``like``'s dtypes where they convert, so that concatenating them keeps those dtypes."""
    columns: dict[str, Any] = {}
    for name in part.columns:
        column = part[name]
        if name in like.columns and column.dtype != like[name].dtype:
            with contextlib.suppress(TypeError, ValueError, OverflowError):  # else concatenating widens it
                column = column.astype(like[name].dtype)
        columns[name] = column
    return pd.DataFrame(columns, index=part.index)


# --- star -------------------------------------------------------------------------------------------------------


def star(inputs: Inputs, **settings: Any) -> Outputs:
    """Replace the facts' natural keys by the dimensions' surrogate keys; 0 and a row of ``unmatched`` where a
    dimension has no match. Fact rows keep their number and order."""
    s = StarSettings.model_validate(settings)
    step = "transform.star"
    facts = named_input(inputs, "facts", step).reset_index(drop=True)
    extra = [name for name in inputs if name != "facts" and name not in s.dimensions]
    if extra:
        raise StepSettingsError(f"input '{extra[0]}' is not a dimension of settings.dimensions "
                                f"({', '.join(s.dimensions)})", field="needs")
    for name in ("dimension", "reason"):
        if name in facts.columns:
            raise DataError(f"the facts already have a column '{name}', which unmatched adds", field="needs.facts")
    surrogate: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = {}
    lost_rows: list[Positions] = []
    lost_dimension: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    lost_reason: list[np.ndarray[Any, Any]] = []
    for index, (name, d) in enumerate(s.dimensions.items()):
        field = f"settings.dimensions.{name}"
        dimension = named_input(inputs, name, step)
        keys = d.natural()
        missing_columns(facts, d.fact_keys, f"{field}.fact_keys", "the fact table")
        missing_columns(dimension, keys, f"{field}.keys", f"the dimension '{name}'")
        missing_columns(dimension, [d.key], f"{field}.key", f"the dimension '{name}'")
        repeated = _duplicated_keys(dimension, keys)
        if repeated.any():
            raise DataError(f"the dimension '{name}' has {int(repeated.sum())} rows that share a natural key, such "
                            f"as {describe_key(dimension, keys, repeated)}: a star needs one row per key",
                            field=f"{field}.keys")
        _comparable(facts, d.fact_keys, "the fact table", dimension, keys, f"the dimension '{name}'",
                    f"{field}.fact_keys")
        lpos, rpos = pairs(facts, dimension, d.fact_keys, keys)
        numbers = np.zeros(len(facts), dtype=np.int64)
        numbers[lpos] = _integers(dimension[d.key].iloc[rpos], f"the dimension '{name}'", f"{field}.key")
        surrogate[d.key] = numbers
        matched = np.zeros(len(facts), dtype=bool)
        matched[lpos] = True
        lost = np.flatnonzero(~matched)
        null_key = ~facts[d.fact_keys].notna().all(axis=1).to_numpy()
        lost_rows.append(lost)
        lost_dimension.append(np.full(len(lost), index, dtype=np.int64))
        lost_reason.append(np.where(null_key[lost], "null key", "no match"))
    out = _star_columns(facts, s, surrogate)
    rows, which, reason = np.concatenate(lost_rows), np.concatenate(lost_dimension), np.concatenate(lost_reason)
    order = np.lexsort((which, rows))  # by fact row, then by dimension in settings order
    unmatched = taken(facts, rows[order])
    names = np.array(list(s.dimensions), dtype=object)
    unmatched["dimension"] = pd.Series(names[which[order]], dtype="str")
    unmatched["reason"] = pd.Series(reason[order], dtype="str")
    return {"out": out, "unmatched": unmatched}


def _star_columns(facts: pd.DataFrame, s: StarSettings,
                  surrogate: dict[str, np.ndarray[Any, np.dtype[np.int64]]]) -> pd.DataFrame:
    """The facts with each dimension's surrogate key where its first natural key column was; a natural key
    column stays only if every dimension that uses it keeps it (``keep_natural``)."""
    dropped = {c for d in s.dimensions.values() if not d.keep_natural for c in d.fact_keys}
    placed: dict[str, list[str]] = {}
    for d in s.dimensions.values():
        placed.setdefault(d.fact_keys[0], []).append(d.key)
    for name, d in s.dimensions.items():
        if d.key in facts.columns and d.key not in dropped:
            raise DataError(f"the facts already have a column '{d.key}'", field=f"settings.dimensions.{name}.key")
    columns: dict[str, Any] = {}
    for column in facts.columns:
        for key in placed.get(column, []):
            columns[key] = surrogate[key]
        if column not in dropped:
            columns[column] = facts[column]
    return pd.DataFrame(columns, index=facts.index)
