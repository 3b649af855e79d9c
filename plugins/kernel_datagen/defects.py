"""The defects a table declares, put into its rows, and a mark of every row each defect touched.

Per column, the rows of its nulls, orphans, out-of-range and malformed values are drawn together without
replacement, so no row has two of them in one column. Then late and out-of-order rows are moved later in
the file, each right behind a row that came after it (its *target*); then duplicates are copied right
behind their originals. The marks follow the rows, so a copy of a row with a null is counted as a null
too: each mark is exactly what a reader finds in the files (docs/datagen.md says how to find each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kernel_datagen import patterns
from kernel_datagen.rules import CSV_MISSING, Resolved
from kernel_datagen.spec import Categorical, Column, Late, Pattern, Reference
from kernel_datagen.values import Array, Bools, Col, Keys, Longs, rate_count, rng_for

_MARKERS = "?#~!*^|;@$%&"


@dataclass(frozen=True, slots=True)
class Built:
    """A table's rows in file order, the defects' marks on them, and when each row arrives (its partition)."""

    columns: dict[str, Col]
    marks: dict[str, Bools]
    arrival: Longs | None


def inject(table: Resolved, columns: dict[str, Col], seed: int, parents: Mapping[tuple[str, str], Keys]) -> Built:
    """Put ``table``'s defects into ``columns`` (its rows in time order, as generated)."""
    n = next(iter(columns.values())).data.size
    marks: dict[str, Bools] = {}
    defects = table.spec.defects
    for name, col in columns.items():
        spec = table.spec.columns.get(name)
        orphans = spec.distribution.orphans if spec is not None and isinstance(spec.distribution, Reference) else 0.0
        declared = [("nulls", defects.nulls.get(name)), ("orphans", orphans or None),
                    ("out_of_range", defects.out_of_range.get(name)), ("malformed", defects.malformed.get(name))]
        wanted = [(kind, rate) for kind, rate in declared if rate is not None]
        if not wanted:
            continue
        rng = rng_for(seed, table.name, name, "defects")
        counts: list[int] = []
        for _, rate in wanted:  # rates adding up to 1 may round to more rows than there are
            counts.append(min(rate_count(rate, n), n - sum(counts)))
        picked = rng.choice(n, size=sum(counts), replace=False)
        at = 0
        for (kind, _), count in zip(wanted, counts, strict=True):
            rows = np.sort(picked[at:at + count])
            at += count
            marks[f"{kind}.{name}"] = _mark(n, rows)
            if kind == "nulls":
                col.null[rows] = True
            elif kind == "orphans":
                keys = parents[table.references[name]]
                col.data[rows] = keys.beyond(keys.values.size + rng.integers(0, keys.values.size, count), rng)
            elif kind == "out_of_range":
                col.data[rows] = outside(col, table.valid[name], table.spec.columns[name].decimals, count, rng)
            else:
                col.data = _set_text(col.data, rows, malformed(col.data[rows], table.rules[name], _used(spec), rng,
                                                               csv=table.spec.format == "csv"))
    order = np.arange(n, dtype=np.int64)
    arrival: Longs | None = None
    time = table.spec.time or table.series_time
    if time is not None:
        order, arrival, late, out_of_order = moves(columns[time].data, defects.late, defects.out_of_order,
                                                   rng_for(seed, table.name, "moves"))
        if defects.late is not None:
            marks["late"] = late
        if defects.out_of_order:
            marks["out_of_order"] = out_of_order
    copied = np.zeros(n, np.bool_)
    if defects.duplicates:
        rng = rng_for(seed, table.name, "duplicates")
        copied[rng.choice(n, size=rate_count(defects.duplicates, n), replace=False)] = True
    final = np.repeat(order, 1 + copied[order])  # a copy right behind its original
    duplicate = np.zeros(final.size, np.bool_)
    duplicate[1:] = final[1:] == final[:-1]
    out_marks = {"duplicates": duplicate} if defects.duplicates else {}
    out_marks.update({name: mark[final] for name, mark in marks.items()})
    return Built({name: col.take(final) for name, col in columns.items()}, out_marks,
                 None if arrival is None else arrival[final])


def _mark(n: int, rows: Longs) -> Bools:
    mark = np.zeros(n, np.bool_)
    mark[rows] = True
    return mark


def outside(col: Col, valid: tuple[float, float], decimals: int | None, count: int,
            rng: np.random.Generator) -> Array:
    """``count`` values below or above ``valid``, by 5 % to 100 % of its width (at least one unit)."""
    low, high = valid
    width = high - low if high > low else max(abs(low), 1.0)
    delta = width * rng.uniform(0.05, 1.0, count)
    below = rng.random(count) < 0.5
    if col.type == "float":
        under, over = low - delta, high + delta
        if decimals is not None:  # rounded outwards, so that rounding never brings a value back inside
            unit = 10.0 ** -decimals
            under = np.round(np.floor(under / unit) * unit, decimals)
            over = np.round(np.ceil(over / unit) * unit, decimals)
        under = np.minimum(under, np.nextafter(low, -np.inf))
        over = np.maximum(over, np.nextafter(high, np.inf))
        return np.where(below, under, over)
    step = np.maximum(np.ceil(delta), 1).astype(np.int64)
    return np.where(below, int(np.ceil(low)) - step, int(np.floor(high)) + step)


def _used(column: Column | None) -> set[str]:
    """The characters well-formed values of a text column can hold."""
    assert column is not None
    d = column.distribution
    if isinstance(d, Pattern):
        return patterns.alphabet(patterns.parse(d.pattern))
    assert isinstance(d, Categorical)
    return {c for v in d.values for c in str(v)}


def malformed(values: Array, rule: Mapping[str, object], used: set[str], rng: np.random.Generator, *,
              csv: bool) -> Array:
    """Each value made malformed: padded with a space, cut short, a character replaced, or doubled; any
    that would still be well formed (or read from CSV as missing) gets a character no valid value has."""
    count = values.size
    if count == 0:
        return values
    width = values.dtype.itemsize
    lengths = np.char.str_len(values)
    how = rng.integers(0, 5, count)
    grid = np.zeros((count, 2 * width + 1), np.uint8)
    grid[:, :width] = values.view(np.uint8).reshape(count, width)
    rows = np.arange(count)
    ascii_ = (grid[:, :width] < 128).all(axis=1)  # cutting or replacing a byte of another text breaks its UTF-8
    short = (how == 2) & (lengths > 1) & ascii_
    grid[short] = np.where(np.arange(grid.shape[1]) < (lengths[short] // 2)[:, None], grid[short], 0)
    marker = next((c for c in _MARKERS if c not in used), "\x7f")  # a character no valid value holds
    hit = (how == 3) & ascii_
    spot = (rng.random(count) * lengths).astype(np.int64)
    grid[rows[hit], spot[hit]] = ord(marker)
    out = grid.view(f"S{grid.shape[1]}").reshape(count)
    out = np.where(how == 0, np.char.add(values, b" "), out)
    out = np.where(how == 1, np.char.add(b" ", values), out)
    out = np.where(how == 4, np.char.add(values, values), out)
    fix = ~_invalid(out, rule) | (np.char.str_len(out) == 0)
    if csv:
        fix |= np.isin(out, [m.encode() for m in CSV_MISSING])
    return np.where(fix, np.char.add(marker.encode(), values), out)


def _invalid(values: Array, rule: Mapping[str, object]) -> Bools:
    """Which texts are not well formed (the check a reader makes, docs/datagen.md)."""
    if "pattern" in rule:
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        from kernel_datagen.writers import arrow_text

        matched = pc.match_substring_regex(arrow_text(values, np.zeros(values.size, np.bool_)), str(rule["pattern"]))
        return ~np.asarray(matched.to_numpy(zero_copy_only=False), np.bool_)
    allowed = np.array([str(v).encode() for v in rule["values"]])  # type: ignore[attr-defined]
    return ~np.isin(values, allowed)


def _set_text(data: Array, rows: Longs, new: Array) -> Array:
    if new.dtype.itemsize > data.dtype.itemsize:
        data = data.astype(new.dtype)
    data[rows] = new
    return data


def moves(times: Longs, late: Late | None, out_of_order: float,
          rng: np.random.Generator) -> tuple[Longs, Longs, Bools, Bools]:
    """The file order after moving late and out-of-order rows, each row's arrival, and the moved rows.

    ``times`` is in order. A late row goes right behind the first staying row at least its delay later; an
    out-of-order row right behind the first, second or third staying row later than it, but less than
    the least late delay. So in the file, a row's lateness (the newest time before it, less its own) is
    at least the least delay for a late row, between 0 and it for an out-of-order row, and at most 0 for
    every other row. The last row stays, so every moved row has a row to go behind.
    """
    n = times.size
    moved = np.zeros(n, np.bool_)
    late_rows = out_rows = np.zeros(0, np.int64)
    delay = np.zeros(n, np.int64)
    least = late.delay[0] if late is not None else None
    if late is not None and n > 1:
        delay = rng.integers(late.delay[0], late.delay[1], n, dtype=np.int64, endpoint=True)
        can = np.flatnonzero(times[:-1] + delay[:-1] <= times[-1])
        late_rows = np.sort(rng.choice(can, size=min(rate_count(late.rate, n), can.size), replace=False))
        moved[late_rows] = True
    offset = np.zeros(0, np.int64)
    if out_of_order and n > 1:
        can = np.flatnonzero(~moved[:-1])
        tried = np.sort(rng.choice(can, size=min(rate_count(out_of_order, n), can.size), replace=False))
        offset = rng.integers(1, 4, tried.size, dtype=np.int64)
        moved[tried] = True
        target, ok = _behind(times, ~moved, tried, offset)
        if least is not None:
            ok &= times[target] - times[tried] < least
        moved[tried[~ok]] = False
        out_rows, offset = tried[ok], offset[ok]
    staying = np.flatnonzero(~moved)
    target = np.arange(n, dtype=np.int64)
    if late_rows.size:
        target[late_rows] = staying[np.searchsorted(times[staying], times[late_rows] + delay[late_rows], "left")]
    if out_rows.size:
        target[out_rows], _ = _behind(times, ~moved, out_rows, offset)
    order = np.lexsort((np.arange(n), moved, target)).astype(np.int64)
    return order, times[target], _mark(n, late_rows), _mark(n, out_rows)


def _behind(times: Longs, staying: Bools, rows: Longs, offset: Longs) -> tuple[Longs, Bools]:
    """For each row, the ``offset``-th staying row later than it, and whether there is one."""
    stay = np.flatnonzero(staying)
    at = np.searchsorted(times[stay], times[rows], "right") + offset - 1
    ok = at < stay.size
    return stay[np.minimum(at, stay.size - 1)], ok
