"""``join`` and ``lookup``. Keys match as in SQL: a null key matches nothing. The pairs of matching rows are
found on the key columns alone; the output's columns are then taken from the inputs, dtypes and all (a column
of a side that found no partner is widened to hold nulls, as pandas does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from kernel import DataError, Inputs, Outputs, StepSettingsError
from kernel_transform.frames import describe_key, missing_columns, named_input
from kernel_transform.settings import JoinSettings, LookupSettings

Positions = np.ndarray[Any, np.dtype[np.int64]]
_L, _R = "__transform_left", "__transform_right"


def pairs(left: pd.DataFrame, right: pd.DataFrame, left_on: list[str],
          right_on: list[str]) -> tuple[Positions, Positions]:
    """Row positions of every matching (left, right) pair, ordered by left row then right row."""
    found = _pairs_unique_right(left, right, left_on, right_on)
    if found is not None:
        return found
    lk = left[left_on].set_axis([f"k{i}" for i in range(len(left_on))], axis=1)
    rk = right[right_on].set_axis([f"k{i}" for i in range(len(right_on))], axis=1)
    lk = lk.assign(**{_L: np.arange(len(left), dtype=np.int64)})[lk.notna().all(axis=1).to_numpy()]
    rk = rk.assign(**{_R: np.arange(len(right), dtype=np.int64)})[rk.notna().all(axis=1).to_numpy()]
    try:
        matched = lk.merge(rk, on=list(lk.columns[:-1]), how="inner", sort=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"the keys cannot be compared: {exc}".splitlines()[0], field="settings.keys") from None
    lpos, rpos = matched[_L].to_numpy(np.int64), matched[_R].to_numpy(np.int64)
    if len(lpos) > 1:
        order = lpos * (len(right) + 1) + rpos
        if not (order[1:] >= order[:-1]).all():
            sort = np.argsort(order, kind="stable")
            lpos, rpos = lpos[sort], rpos[sort]
    return lpos, rpos


def partners(left: pd.DataFrame, right: pd.DataFrame, left_on: list[str],
             right_on: list[str]) -> Positions | None:
    """Each left row's one partner on the right (its position, or -1), when the right's keys are unique (a
    dimension, the common case): one hash lookup per left row. ``None`` when a right key repeats."""
    complete = right[right_on].notna().all(axis=1).to_numpy()
    keys = right[right_on] if complete.all() else right.loc[complete, right_on]
    index = pd.Index(keys[right_on[0]]) if len(right_on) == 1 else pd.MultiIndex.from_frame(keys)
    if not index.is_unique:
        return None
    probe = pd.Index(left[left_on[0]]) if len(left_on) == 1 else pd.MultiIndex.from_frame(left[left_on])
    try:
        found = index.get_indexer(probe).astype(np.int64, copy=False)
    except (TypeError, ValueError):
        return None  # keys of kinds a hash lookup cannot compare: the general path says why
    # A null key on the left finds nothing: the index holds no null.
    if not complete.all():
        hit = found >= 0
        found[hit] = np.flatnonzero(complete)[found[hit]]
    return found


def _pairs_unique_right(left: pd.DataFrame, right: pd.DataFrame, left_on: list[str],
                        right_on: list[str]) -> tuple[Positions, Positions] | None:
    found = partners(left, right, left_on, right_on)
    if found is None:
        return None
    lpos = np.flatnonzero(found >= 0)
    return lpos, found[lpos]


@dataclass(frozen=True, slots=True)
class _Match:
    """The matching rows of a join: each left row's one partner (``found``, -1 for none) when the right's keys
    are unique, else every pair (``lpos``, ``rpos``, by left row then right row)."""

    found: Positions | None
    lpos: Positions | None = None
    rpos: Positions | None = None

    @classmethod
    def of(cls, left: pd.DataFrame, right: pd.DataFrame, left_on: list[str], right_on: list[str]) -> _Match:
        found = partners(left, right, left_on, right_on)
        if found is not None:
            return cls(found)
        lpos, rpos = pairs(left, right, left_on, right_on)
        return cls(None, lpos, rpos)

    def pairs(self) -> tuple[Positions, Positions]:
        if self.found is None:
            assert self.lpos is not None and self.rpos is not None
            return self.lpos, self.rpos
        lpos = np.flatnonzero(self.found >= 0)
        return lpos, self.found[lpos]

    def left_matched(self, rows: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
        if self.found is not None:
            return self.found >= 0
        matched = np.zeros(rows, dtype=bool)
        matched[self.lpos] = True
        return matched

    def right_matched(self, rows: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
        matched = np.zeros(rows, dtype=bool)
        partners_ = self.found[self.found >= 0] if self.found is not None else self.rpos
        matched[partners_] = True
        return matched


def taken(frame: pd.DataFrame, positions: Positions) -> pd.DataFrame:
    """The rows at ``positions`` (-1: a row of nulls), numbered 0..n-1."""
    if len(positions) == 0 or positions.min() >= 0:
        return frame.take(positions).reset_index(drop=True)
    return pd.DataFrame({name: take(frame[name].array, positions, allow_fill=True) for name in frame.columns},
                        columns=frame.columns)


def _duplicated_keys(frame: pd.DataFrame, keys: list[str]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows whose (non-null) key another row shares."""
    complete = frame[keys].notna().all(axis=1).to_numpy()
    return np.asarray(frame.duplicated(subset=keys, keep=False).to_numpy() & complete, dtype=bool)


def join(inputs: Inputs, **settings: Any) -> Outputs:
    """Join ``left`` and ``right`` on keys; check the relationship and matches, refusing or quarantining."""
    s = JoinSettings.model_validate(settings)
    left = named_input(inputs, "left", "transform.join")
    right = named_input(inputs, "right", "transform.join")
    left_on, right_on = s.sides()
    key_field = "settings.keys" if s.keys is not None else "settings.left_keys"
    missing_columns(left, left_on, key_field, "left")
    missing_columns(right, right_on, "settings.keys" if s.keys is not None else "settings.right_keys", "right")
    bad_left = np.zeros(len(left), dtype=bool)
    bad_right = np.zeros(len(right), dtype=bool)
    reasons_left: list[tuple[np.ndarray[Any, np.dtype[np.bool_]], str]] = []
    reasons_right: list[tuple[np.ndarray[Any, np.dtype[np.bool_]], str]] = []

    def violation(side: str, frame: pd.DataFrame, keys: list[str], rows: np.ndarray[Any, np.dtype[np.bool_]],
                  reason: str, field: str) -> None:
        """``reason`` is said of one row: it is the quarantined row's reason and ends the refusal."""
        if not rows.any():
            return
        if s.on_violation == "refuse":
            raise DataError(f"{side}: {int(rows.sum())} rows refused, such as key {describe_key(frame, keys, rows)}: "
                            f"{reason} (on_violation: quarantine keeps the run going)", field=field)
        (reasons_left if side == "left" else reasons_right).append((rows & ~(bad_left if side == "left"
                                                                            else bad_right), reason))
        if side == "left":
            bad_left[rows] = True
        else:
            bad_right[rows] = True

    named = ", ".join(left_on), ", ".join(right_on)
    if s.relationship in ("one_to_one", "one_to_many"):
        violation("left", left, left_on, _duplicated_keys(left, left_on),
                  f"({named[0]}) repeated on the left, which {s.relationship} forbids", "settings.relationship")
    if s.relationship in ("one_to_one", "many_to_one"):
        violation("right", right, right_on, _duplicated_keys(right, right_on),
                  f"({named[1]}) repeated on the right, which {s.relationship} forbids", "settings.relationship")
    usable_left, usable_right = _usable(left, bad_left), _usable(right, bad_right)
    match = _Match.of(usable_left, usable_right, left_on, right_on)
    if s.require_match != "none":
        lmatched = match.left_matched(len(usable_left))
        rmatched = match.right_matched(len(usable_right))
        if s.require_match in ("left", "both"):
            unmatched = np.zeros(len(left), dtype=bool)
            unmatched[np.flatnonzero(~bad_left)[~lmatched]] = True
            null = _null_keys(left, left_on)
            violation("left", left, left_on, unmatched & null, f"({named[0]}) is null, which matches nothing",
                      "settings.require_match")
            violation("left", left, left_on, unmatched & ~null, f"({named[0]}) not found on the right",
                      "settings.require_match")
        if s.require_match in ("right", "both"):
            unmatched = np.zeros(len(right), dtype=bool)
            unmatched[np.flatnonzero(~bad_right)[~rmatched]] = True
            null = _null_keys(right, right_on)
            violation("right", right, right_on, unmatched & null, f"({named[1]}) is null, which matches nothing",
                      "settings.require_match")
            violation("right", right, right_on, unmatched & ~null, f"({named[1]}) not found on the left",
                      "settings.require_match")
        if bad_left.any() or bad_right.any():
            usable_left, usable_right = _usable(left, bad_left), _usable(right, bad_right)
            match = _Match.of(usable_left, usable_right, left_on, right_on)
    out = _assemble(usable_left, usable_right, match, s, left_on, right_on)
    return {
        "out": out,
        "quarantine_left": _quarantine(left, reasons_left),
        "quarantine_right": _quarantine(right, reasons_right),
    }


def _null_keys(frame: pd.DataFrame, keys: list[str]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows with a null in any key column (SQL: such a key equals nothing)."""
    null = np.zeros(len(frame), dtype=bool)
    for key in keys:
        null |= frame[key].isna().to_numpy()
    return null


def _usable(frame: pd.DataFrame, bad: np.ndarray[Any, np.dtype[np.bool_]]) -> pd.DataFrame:
    """The rows that take part in the join, numbered 0..n-1 (the whole frame, uncopied, when none is out)."""
    return frame[~bad].reset_index(drop=True) if bad.any() else frame.reset_index(drop=True)


def _keep_unmatched(mine: Positions, theirs: Positions, rows: int) -> tuple[Positions | None, Positions]:
    """Pairs sorted by ``mine``, with each of my rows that has no partner put in its place (partner -1):
    every row of mine, in order, once per partner or once alone. Linear: no sort. ``None`` for mine when
    that is each of my rows once, in order (nothing to take)."""
    if len(mine) < 2 or bool((mine[1:] > mine[:-1]).all()):
        out_theirs = np.full(rows, -1, dtype=np.int64)  # at most one partner each: a row's slot is its position
        out_theirs[mine] = theirs
        return None, out_theirs
    partners = np.bincount(mine, minlength=rows)
    slots = np.maximum(partners, 1)
    starts = np.cumsum(slots) - slots  # where each of my rows begins in the output
    first_pair = np.cumsum(partners) - partners  # where its pairs begin among the pairs
    out_mine = np.repeat(np.arange(rows, dtype=np.int64), slots)
    out_theirs = np.full(len(out_mine), -1, dtype=np.int64)
    out_theirs[starts[mine] + np.arange(len(mine)) - first_pair[mine]] = theirs
    return out_mine, out_theirs


def _quarantine(frame: pd.DataFrame, reasons: list[tuple[np.ndarray[Any, np.dtype[np.bool_]], str]]) -> pd.DataFrame:
    if not reasons:
        return frame.iloc[:0].reset_index(drop=True).assign(reason=pd.Series([], dtype="str"))
    reason = pd.Series([""] * len(frame), dtype="str")
    any_bad = np.zeros(len(frame), dtype=bool)
    for rows, text in reasons:
        reason[rows] = text
        any_bad |= rows
    out = frame[any_bad].reset_index(drop=True)
    out["reason"] = reason[any_bad].reset_index(drop=True)
    return out


def _assemble(left: pd.DataFrame, right: pd.DataFrame, match: _Match, s: JoinSettings,
              left_on: list[str], right_on: list[str]) -> pd.DataFrame:
    if s.how in ("semi", "anti"):
        matched = match.left_matched(len(left))
        return left[matched if s.how == "semi" else ~matched].reset_index(drop=True)
    whole: Positions | None  # None below: every left row once, in order
    found = match.found
    if found is not None and (s.how in ("left", "outer") or (s.how == "inner" and bool((found >= 0).all()))):
        # One partner or none per left row: the left as it is, the right taken by partner (the left's
        # positions are spelt out only for an outer join, which adds right rows after them).
        whole, rpos = None, found
        lpos = np.arange(len(left), dtype=np.int64) if s.how == "outer" else np.zeros(0, dtype=np.int64)
    else:
        lpos, rpos = match.pairs()
        whole = lpos
        if s.how in ("left", "outer"):
            whole, rpos = _keep_unmatched(lpos, rpos, len(left))
            lpos = np.arange(len(left), dtype=np.int64) if whole is None else whole
    if s.how == "right":
        order = np.argsort(rpos, kind="stable")
        kept, lpos = _keep_unmatched(rpos[order], lpos[order], len(right))
        rpos = np.arange(len(right), dtype=np.int64) if kept is None else kept
        whole = lpos
    if s.how == "outer":  # right rows without a partner follow, in right order
        matched = np.zeros(len(right), dtype=bool)
        matched[rpos[rpos >= 0]] = True
        ronly = np.flatnonzero(~matched)
        rpos = np.concatenate([rpos, ronly])
        lpos = np.concatenate([lpos, np.full(len(ronly), -1, dtype=np.int64)])
        whole = lpos if len(ronly) else whole
    same_keys = s.keys is not None
    right_columns = [c for c in right.columns if not (same_keys and c in right_on)]
    renamed = {c: f"{c}{s.suffix}" for c in right_columns if c in left.columns}
    clash = [new for new in renamed.values() if new in left.columns or new in right_columns]
    if clash:
        raise StepSettingsError(f"the suffix makes '{clash[0]}', a name already taken", field="settings.suffix")
    out = left.reset_index(drop=True) if whole is None else taken(left, lpos)
    if same_keys and s.how in ("right", "outer") and (lpos < 0).any():
        # A right row without a partner has its key on the right only.
        from_right = taken(right[right_on], rpos)
        for name in right_on:
            column = out[name].where(lpos >= 0, from_right[name])
            if column.notna().all() and column.dtype != left[name].dtype:
                column = column.astype(left[name].dtype)  # every key is there again: back to its own dtype
            out[name] = column
    extra = taken(right[right_columns], rpos).rename(columns=renamed)
    return pd.concat([out, extra], axis=1)


def lookup(inputs: Inputs, **settings: Any) -> Outputs:
    """Enrich ``records`` from ``dimension`` (unique on its keys), with defaults where nothing matches."""
    s = LookupSettings.model_validate(settings)
    records = named_input(inputs, "records", "transform.lookup")
    dimension = named_input(inputs, "dimension", "transform.lookup")
    left_on, right_on = s.sides()
    missing_columns(records, left_on, "settings.keys" if s.keys is not None else "settings.left_keys", "records")
    missing_columns(dimension, right_on, "settings.keys" if s.keys is not None else "settings.right_keys", "dimension")
    columns = s.columns if s.columns is not None else [c for c in dimension.columns if c not in right_on]
    missing_columns(dimension, columns, "settings.columns", "dimension")
    unknown = [c for c in s.default if c not in columns]
    if unknown:
        raise StepSettingsError(f"default names '{unknown[0]}', which the lookup does not bring",
                                field="settings.default")
    taken_names = [c for c in columns if c in records.columns]
    if taken_names:
        raise DataError(f"records already have a column '{taken_names[0]}' (leave it out of columns or rename it)",
                        field="settings.columns")
    repeated = _duplicated_keys(dimension, right_on)
    if repeated.any():
        raise DataError(f"dimension: {int(repeated.sum())} rows share a key, such as "
                        f"{describe_key(dimension, right_on, repeated)}: a lookup needs one row per key",
                        field="settings.keys")
    found = partners(records, dimension, left_on, right_on)
    if found is None:  # keys a hash lookup cannot compare: the general path says why
        lpos, rpos = pairs(records, dimension, left_on, right_on)
        found = np.full(len(records), -1, dtype=np.int64)
        found[lpos] = rpos
    brought = taken(dimension[columns], found)
    matched = found >= 0
    for name, value in s.default.items():
        if not matched.all():
            column = brought[name]
            filled = column.where(matched, value) if len(column) else column
            brought[name] = filled
    out = pd.concat([records.reset_index(drop=True), brought], axis=1)
    if s.matched_column is not None:
        out[s.matched_column] = matched
    return {"out": out}
