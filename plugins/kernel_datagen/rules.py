"""What the fields of a ``data.yaml`` mean together: each column's type, its valid range, the tables in the
order their references need, and every inconsistency as a :class:`Problem` naming its field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kernel_datagen import patterns
from kernel_datagen.spec import (
    NAME,
    Categorical,
    Column,
    ColumnType,
    Constant,
    DataSpec,
    Lognormal,
    Normal,
    Pattern,
    Reference,
    Sequence,
    Table,
    Timestamps,
    Uniform,
    to_instant,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What pandas' read_csv reads as a missing value: a CSV table's text must never be one of them.
CSV_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                         "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


class Problem(ValueError):
    """A field of the spec that cannot be used: ``where`` is its dotted path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Resolved:
    """A table as generated: its columns in order with their types, and what refers to what."""

    name: str
    spec: Table
    types: dict[str, ColumnType]
    valid: dict[str, tuple[float, float]]  # a column's range (milliseconds for times), for out_of_range
    references: dict[str, tuple[str, str]]  # column -> (table, key column)
    entity: str | None = None  # a series' key column, and its time column
    series_time: str | None = None
    rules: dict[str, dict[str, object]] = field(default_factory=dict)  # what a well-formed text is


def ms(moment: datetime) -> int:
    """Milliseconds since 1970 (UTC), exactly: no float in between."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def resolve(spec: DataSpec) -> tuple[list[str], dict[str, Resolved]]:
    """The tables in generation order (parents first) and each resolved; :class:`Problem` otherwise."""
    for name in spec.tables:
        if not NAME.fullmatch(name):
            raise Problem(f"tables.{name}", "a table name is letters, digits and _, not starting with a digit")
    keys = {name: table.key for name, table in spec.tables.items()}
    resolved: dict[str, Resolved] = {}
    for name in _order(spec):
        resolved[name] = _table(spec, name, spec.tables[name], keys, resolved)
    return list(resolved), resolved


def _order(spec: DataSpec) -> list[str]:
    """Parents before the tables that refer to them."""
    needs: dict[str, list[str]] = {}
    for name, table in spec.tables.items():
        refs = [(f"columns.{c}.distribution.to", col.distribution.to) for c, col in table.columns.items()
                if isinstance(col.distribution, Reference)]
        if table.series is not None:
            refs.append(("series.per", table.series.per))
        needs[name] = []
        for where, target in refs:
            parent, _ = _split(target, f"tables.{name}.{where}", spec.tables)
            if parent == name:
                raise Problem(f"tables.{name}.{where}", "a table cannot refer to itself")
            needs[name].append(parent)
    done: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name):], name])
            raise Problem(f"tables.{name}", f"the references go round in a circle: {cycle}")
        visiting.append(name)
        for parent in needs[name]:
            visit(parent)
        visiting.pop()
        done.append(name)

    for name in spec.tables:
        visit(name)
    return done


def _split(target: str, where: str, tables: Mapping[str, Table]) -> tuple[str, str]:
    table, dot, column = target.partition(".")
    if not dot or not column:
        raise Problem(where, f"'{target}' is not table.column")
    if table not in tables:
        raise Problem(where, f"no table '{table}'{_hint(table, tables)}")
    return table, column


def _hint(name: str, known: Iterable[str]) -> str:
    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (known: {', '.join(names)})" if names else ""


def _table(spec: DataSpec, name: str, table: Table, keys: Mapping[str, str | None],
           done: Mapping[str, Resolved]) -> Resolved:
    at = f"tables.{name}"
    types: dict[str, ColumnType] = {}
    valid: dict[str, tuple[float, float]] = {}
    references: dict[str, tuple[str, str]] = {}
    rules: dict[str, dict[str, object]] = {}
    entity = series_time = None
    if table.series is None and table.rows is None:
        raise Problem(f"{at}.rows", "required field is missing (or give series)")
    if table.series is not None:
        series = table.series
        if table.rows is not None:
            raise Problem(f"{at}.rows", "a series table has a row per key of series.per and per time: drop rows")
        if table.fixed:
            raise Problem(f"{at}.fixed", "a series table's size follows series.per's table: drop fixed")
        parent, parent_key = _key_of(series.per, f"{at}.series.per", spec, keys)
        entity = series.column or parent_key
        series_time = series.time
        for part, given in (("column", entity), ("time", series_time)):
            if not NAME.fullmatch(given):
                raise Problem(f"{at}.series.{part}", f"'{given}' is not a column name (letters, digits and _)")
            if given in table.columns:
                raise Problem(f"{at}.series.{part}", f"'{given}' is also declared under columns")
        if entity == series_time:
            raise Problem(f"{at}.series.time", f"'{series_time}' is also the series' key column")
        if series.jitter is not None and series.jitter > series.every:
            raise Problem(f"{at}.series.jitter", "is longer than every: the times of a key would not be in order")
        types[entity] = done[parent].types[parent_key]
        types[series_time] = "timestamp"
        references[entity] = (parent, parent_key)
    for column_name, column in table.columns.items():
        where = f"{at}.columns.{column_name}"
        if not NAME.fullmatch(column_name):
            raise Problem(where, "a column name is letters, digits and _, not starting with a digit")
        kind = _type(column, where, spec, keys, done)
        types[column_name] = kind
        if isinstance(column.distribution, Reference):
            references[column_name] = _key_of(column.distribution.to, f"{where}.distribution.to", spec, keys)
        found = _range(column, kind, where)
        if found is not None:
            valid[column_name] = found
        if isinstance(column.distribution, Pattern):
            rules[column_name] = {"pattern": patterns.regex(patterns.parse(column.distribution.pattern))}
        elif isinstance(column.distribution, Categorical) and kind == "string":
            rules[column_name] = {"values": list(column.distribution.values)}
        if table.format == "csv":
            _csv_text(column, where)
    _key_and_time(table, at, types, entity, series_time)
    _defects(table, at, types, valid, references, rules)
    if table.arrival is not None:
        if not NAME.fullmatch(table.arrival):
            raise Problem(f"{at}.arrival", f"'{table.arrival}' is not a column name (letters, digits and _)")
        if table.arrival in types:
            raise Problem(f"{at}.arrival", f"'{table.arrival}' is already a column of the table")
        if table.time is None and series_time is None:
            raise Problem(f"{at}.arrival", "rows arrive in time order: give the table a time (or a series)")
        types[table.arrival] = "timestamp"
    return Resolved(name, table, types, valid, references, entity, series_time, rules)


def _key_of(target: str, where: str, spec: DataSpec, keys: Mapping[str, str | None]) -> tuple[str, str]:
    parent, column = _split(target, where, spec.tables)
    key = keys[parent]
    if key is None:
        raise Problem(where, f"table '{parent}' has no key: give it one (key: COLUMN) to refer to it")
    if column != key:
        raise Problem(where, f"'{column}' is not the key of table '{parent}' (its key: {key})")
    return parent, column


def _type(column: Column, where: str, spec: DataSpec, keys: Mapping[str, str | None],
          done: Mapping[str, Resolved]) -> ColumnType:
    """The column's type: given, or what its distribution makes; a distribution it cannot have is refused."""
    d = column.distribution
    at = f"{where}.distribution"
    allowed: tuple[ColumnType, ...]
    if isinstance(d, Uniform):
        allowed = ("float", "int", "timestamp")
        timed = isinstance(d.low, datetime), isinstance(d.high, datetime)
        default: ColumnType = "timestamp" if all(timed) else "float"
        kind = column.type or default
        if kind == "timestamp" and not all(timed):
            raise Problem(f"{at}.low" if not timed[0] else f"{at}.high", "a timestamp column takes times here")
        if kind != "timestamp" and any(timed):
            raise Problem(f"{at}.low" if timed[0] else f"{at}.high", f"a {kind} column takes numbers here")
        low, high = _number(d.low), _number(d.high)
        if kind == "int" and not (low.is_integer() and high.is_integer()):
            raise Problem(at, "an int column takes whole numbers for low and high")
        if high < low or (high == low and kind != "int"):
            raise Problem(f"{at}.high", "must be greater than low")
    elif isinstance(d, Normal | Lognormal):
        allowed, kind = ("float", "int"), column.type or "float"
    elif isinstance(d, Categorical):
        kind = _categorical(d, column.type, at)
        allowed = (kind,)
    elif isinstance(d, Sequence):
        allowed, kind = ("int",), "int"
        if d.step == 0:
            raise Problem(f"{at}.step", "must not be 0: the values would not be unique")
    elif isinstance(d, Timestamps):
        allowed, kind = ("timestamp",), "timestamp"
        if (d.every is None) == (d.end is None):
            raise Problem(at, "give either every (a time per row, every so long) or end (times up to end)")
        if d.end is not None and d.end <= d.start:
            raise Problem(f"{at}.end", "must be after start")
        if d.jitter is not None and (d.every is None or d.jitter > d.every):
            raise Problem(f"{at}.jitter", "applies with every, and is at most every (the times stay in order)")
    elif isinstance(d, Pattern):
        allowed, kind = ("string",), "string"
        try:
            patterns.parse(d.pattern)
        except ValueError as exc:
            raise Problem(f"{at}.pattern", str(exc)) from None
    elif isinstance(d, Constant):
        kind = _constant_type(d, column.type, at)
        allowed = (kind,)
    else:
        parent, key = _key_of(d.to, f"{at}.to", spec, keys)
        kind = done[parent].types[key]
        allowed = (kind,)
    if column.type is not None and column.type not in allowed:
        raise Problem(f"{where}.type", f"a {d.kind} distribution makes {' or '.join(allowed)} values, "
                                       f"not {column.type}")
    if column.decimals is not None and kind != "float":
        raise Problem(f"{where}.decimals", "applies to float columns")
    return kind


def _number(value: int | float | datetime) -> float:
    return float(ms(value)) if isinstance(value, datetime) else float(value)


def _categorical(d: Categorical, given: ColumnType | None, at: str) -> ColumnType:
    kinds = {"bool" if isinstance(v, bool) else "string" if isinstance(v, str) else "time"
             if isinstance(v, datetime) else "number" for v in d.values}
    if kinds == {"string", "time"} and given == "timestamp":
        kinds = {"string"}  # times, some written as text
    if len(kinds) > 1:
        raise Problem(f"{at}.values", "mixes kinds of values (text, numbers, times, true/false): use one")
    (found,) = kinds
    kind: ColumnType
    if found == "time":
        if given not in (None, "timestamp"):
            raise Problem(f"{at}.values", f"holds times, not {given} values")
        kind = "timestamp"
    elif found == "number":
        whole = all(isinstance(v, int) for v in d.values)
        kind = given if given in ("int", "float") and (given == "float" or whole) else "int" if whole else "float"
    elif found == "bool":
        kind = "bool"
    elif given == "timestamp":
        for i, v in enumerate(d.values):
            try:
                to_instant(v)
            except ValueError as exc:
                raise Problem(f"{at}.values.{i}", str(exc)) from None
        kind = "timestamp"
    else:
        kind = "string"
    if kind == "string" and len(set(d.values)) != len(d.values):
        raise Problem(f"{at}.values", "holds a value twice")
    if d.weights is not None:
        if len(d.weights) != len(d.values):
            raise Problem(f"{at}.weights", f"has {len(d.weights)} weights for {len(d.values)} values")
        if sum(d.weights) <= 0:
            raise Problem(f"{at}.weights", "must not all be 0")
    return kind


def _constant_type(d: Constant, given: ColumnType | None, at: str) -> ColumnType:
    v = d.value
    if isinstance(v, datetime) or given == "timestamp":
        try:
            to_instant(v)
        except ValueError as exc:
            raise Problem(f"{at}.value", str(exc)) from None
        return "timestamp"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if given == "float" or isinstance(v, float):
        return "float"
    return "int"


def _range(column: Column, kind: ColumnType, where: str) -> tuple[float, float] | None:
    """The values a column may hold: its declared range, or what its distribution keeps within."""
    d = column.distribution
    if column.range is not None:
        if kind not in ("int", "float", "timestamp"):
            raise Problem(f"{where}.range", "applies to int, float and timestamp columns")
        low, high = column.range
        timed = isinstance(low, datetime), isinstance(high, datetime)
        if (kind == "timestamp") != all(timed) or any(timed) != all(timed):
            raise Problem(f"{where}.range", "takes two times" if kind == "timestamp" else "takes two numbers")
        lo, hi = _number(low), _number(high)
        if hi < lo:
            raise Problem(f"{where}.range", "the first bound is greater than the second")
        return lo, hi
    if isinstance(d, Uniform):
        return _number(d.low), _number(d.high)
    if isinstance(d, Categorical) and kind in ("int", "float"):
        numbers = [float(v) for v in d.values if isinstance(v, int | float)]
        return min(numbers), max(numbers)
    return None


def _csv_text(column: Column, where: str) -> None:
    d = column.distribution
    values = d.values if isinstance(d, Categorical) else [d.value] if isinstance(d, Constant) else []
    for i, v in enumerate(values):
        if isinstance(v, str) and v in CSV_MISSING:
            at = f"{where}.distribution.values.{i}" if isinstance(d, Categorical) else f"{where}.distribution.value"
            raise Problem(at, f"'{v}' is read from CSV as a missing value; choose another text")


def _key_and_time(table: Table, at: str, types: Mapping[str, ColumnType], entity: str | None,
                  series_time: str | None) -> None:
    if table.key is not None:
        if table.key not in types:
            raise Problem(f"{at}.key", f"no column '{table.key}'{_hint(table.key, types)}")
        keyed = table.columns.get(table.key)
        d = keyed.distribution if keyed is not None else None
        unique = isinstance(d, Sequence) or (isinstance(d, Pattern) and patterns.has_seq(patterns.parse(d.pattern)))
        if not unique:
            raise Problem(f"{at}.key", f"'{table.key}' is not unique by construction: a key is a sequence, or a "
                                       "pattern with {seq}")
    if table.time is not None:
        if series_time is not None and table.time != series_time:
            raise Problem(f"{at}.time", f"a series table's time is its series' time, '{series_time}'")
        if table.time not in types:
            raise Problem(f"{at}.time", f"no column '{table.time}'{_hint(table.time, types)}")
        timed = table.columns.get(table.time)
        if table.time != series_time and (timed is None or not isinstance(timed.distribution, Timestamps)):
            raise Problem(f"{at}.time", f"'{table.time}' is not in row order: the time column has a timestamps "
                                        "distribution, or is the series' time")
    if table.layout == "daily" and _time(table, series_time) is None:
        raise Problem(f"{at}.layout", "daily partitions need the table's time: give time: COLUMN")


def _time(table: Table, series_time: str | None) -> str | None:
    return table.time or series_time


def _defects(table: Table, at: str, types: Mapping[str, ColumnType], valid: Mapping[str, tuple[float, float]],
             references: Mapping[str, tuple[str, str]], rules: Mapping[str, object]) -> None:
    d = table.defects
    where = f"{at}.defects"
    time = _time(table, table.series.time if table.series is not None else None)
    protected = {c: role for c, role in ((table.key, "the key"), (time, "the time column")) if c is not None}
    if d.duplicates and table.key is None:
        raise Problem(f"{where}.duplicates", "duplicates are told apart by the key: give the table a key")
    share: dict[str, float] = {}
    for kind, columns in (("nulls", d.nulls), ("out_of_range", d.out_of_range), ("malformed", d.malformed)):
        for name, rate in columns.items():
            at_column = f"{where}.{kind}.{name}"
            if name not in types:
                raise Problem(at_column, f"no column '{name}'{_hint(name, types)}")
            if name in protected:
                raise Problem(at_column, f"'{name}' is {protected[name]}, which defects leave alone")
            if kind == "out_of_range":
                if types[name] not in ("int", "float", "timestamp") or name in references:
                    raise Problem(at_column, "applies to int, float and timestamp columns (not references)")
                if name not in valid:
                    raise Problem(at_column, f"'{name}' has no range: declare columns.{name}.range")
            if kind == "malformed" and (name not in rules or name in references):
                raise Problem(at_column, "applies to text columns of a pattern or of categorical values")
            share[name] = share.get(name, 0.0) + rate
    for name, column in table.columns.items():
        if isinstance(column.distribution, Reference):
            share[name] = share.get(name, 0.0) + column.distribution.orphans
    for name, total in share.items():
        if total > 1:
            raise Problem(where, f"the rates on column '{name}' add up to more than 1")
    if (d.late is not None or d.out_of_order) and time is None:
        field = "late" if d.late is not None else "out_of_order"
        raise Problem(f"{where}.{field}", "needs the table's time: give time: COLUMN")
    if d.late is not None and d.late.delay[0] > d.late.delay[1]:
        raise Problem(f"{where}.late.delay", "the first delay (the least) is longer than the second")
    for i, drift in enumerate(d.schema_drift):
        at_drift = f"{where}.schema_drift.{i}"
        if table.layout != "daily":
            raise Problem(at_drift, "changes a share of a table's files: needs layout: daily")
        if drift.column not in types:
            raise Problem(f"{at_drift}.column", f"no column '{drift.column}'{_hint(drift.column, types)}")
        if drift.column in protected:
            raise Problem(f"{at_drift}.column", f"'{drift.column}' is {protected[drift.column]}, which stays as it is")
        if (drift.rename is None) == (drift.type is None):
            raise Problem(at_drift, "give either rename (a new name) or type (string or float)")
        if drift.rename is not None and (not NAME.fullmatch(drift.rename) or drift.rename in types):
            raise Problem(f"{at_drift}.rename", f"'{drift.rename}' is not a new column name")
        if drift.type is not None and table.format == "csv":
            raise Problem(f"{at_drift}.type", "a CSV file has no types to change: rename the column instead")
        if drift.type == "float" and types[drift.column] != "int":
            raise Problem(f"{at_drift}.type", "float applies to int columns")
        if drift.type == "string" and types[drift.column] == "string":
            raise Problem(f"{at_drift}.type", f"'{drift.column}' is already text")
