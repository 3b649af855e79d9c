"""``aggregate``, ``window_functions`` and ``sql`` (DuckDB SQL over the input), ``pivot`` and ``unpivot``."""

from __future__ import annotations

import re
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kernel import DataError, Inputs, Outputs, StepSettingsError, parse_duration
from kernel_transform.engine import ROW, connect, fail, first_failing, like, parse, query, quote, to_pandas
from kernel_transform.frames import missing_columns, only_input, reset
from kernel_transform.settings import (
    AggregateSettings,
    PivotSettings,
    SqlSettings,
    UnpivotSettings,
    WindowColumn,
    WindowFunctionsSettings,
)

# Functions whose result depends on ties: rows equal on order_by are peers for them, never put in input order.
_PEER_FUNCTIONS = frozenset({"rank", "dense_rank", "percent_rank", "cume_dist"})
# Functions a frame means nothing to: the others (aggregates, first/last/nth_value) see the whole partition
# unless rows, range or running say otherwise.
_FRAMELESS = _PEER_FUNCTIONS | {"row_number", "ntile", "lag", "lead"}
_OVER = re.compile(r"\bover\s*\(", re.IGNORECASE)
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*\(")


def aggregate(inputs: Inputs, **settings: Any) -> Outputs:
    """One row per group of ``by``: SQL aggregate expressions, groups ordered by ``by``."""
    s = AggregateSettings.model_validate(settings)
    frame = only_input(inputs, "transform.aggregate")
    missing_columns(frame, s.by, "settings.by")
    clash = [name for name in s.aggregations if name in s.by]
    if clash:
        raise StepSettingsError(f"'{clash[0]}' is a group column and an aggregation", field="settings.aggregations")
    expressions = {name: str(parse(text, f"settings.aggregations.{name}")) for name, text in s.aggregations.items()}
    having = None if s.having is None else str(parse(s.having, "settings.having"))
    con = connect()
    try:
        con.register("input", frame.reset_index(drop=True))
        try:
            out = to_pandas(con.sql(_aggregate_sql(s.by, expressions, having)).to_arrow_table())
        except duckdb.Error as exc:
            bad = first_failing(list(expressions), lambda names: con.sql(
                _aggregate_sql(s.by, {n: expressions[n] for n in names}, None)).fetchall())
            if bad is not None:
                raise fail(exc, s.aggregations[bad], f"settings.aggregations.{bad}") from None
            raise fail(exc, s.having or "", "settings.having") from None
    finally:
        con.close()
    return {"out": like(out, frame, s.by)}


def _aggregate_sql(by: list[str], expressions: dict[str, str], having: str | None) -> str:
    keys = ", ".join(quote(c) for c in by)
    select = ", ".join([*(quote(c) for c in by), *(f"({e}) AS {quote(n)}" for n, e in expressions.items())])
    sql = f"SELECT {select} FROM input"
    if by:
        sql += f" GROUP BY {keys}"
    if having is not None:
        sql = f"SELECT * FROM ({sql}) WHERE ({having})"
    if by:
        sql += " ORDER BY " + ", ".join(f"{quote(c)} ASC NULLS LAST" for c in by)
    return sql


def window_functions(inputs: Inputs, **settings: Any) -> Outputs:
    """Window function columns over partitions (rank, row_number, lag, lead, running and rolling aggregates);
    rows keep their input order."""
    s = WindowFunctionsSettings.model_validate(settings)
    frame = only_input(inputs, "transform.window_functions")
    missing_columns(frame, s.partition_by, "settings.partition_by")
    missing_columns(frame, s.order_by, "settings.order_by")
    taken = [name for name in s.columns if name in frame.columns]
    if taken:
        raise DataError(f"the input already has a column '{taken[0]}'", field=f"settings.columns.{taken[0]}")
    selects = [quote(ROW)]
    for name, spec in s.columns.items():
        column = spec if isinstance(spec, WindowColumn) else WindowColumn.model_validate({"expression": spec})
        if _OVER.search(column.expression):
            raise StepSettingsError(f"'{column.expression}': write the call without OVER (partition_by, order_by, "
                                    "rows, range and running say the window)", field=f"settings.columns.{name}")
        over = _over(column, s, frame, f"settings.columns.{name}")
        text = f"{column.expression} OVER ({over})"
        selects.append(f"{parse(text, f'settings.columns.{name}')} AS {quote(name)}")
    con = connect()
    try:
        con.register("input", frame.reset_index(drop=True).assign(**{ROW: np.arange(len(frame), dtype=np.int64)}))
        try:
            table = con.sql(f"SELECT {', '.join(selects)} FROM input ORDER BY {quote(ROW)}").to_arrow_table()
        except duckdb.Error as exc:
            names = list(s.columns)
            bad = first_failing(names, lambda some: con.sql(
                f"SELECT {', '.join(selects[:1] + [selects[names.index(n) + 1] for n in some])} FROM input").fetchall())
            failed = s.columns[bad] if bad is not None else None
            text = failed.expression if isinstance(failed, WindowColumn) else str(failed)
            field = f"settings.columns.{bad}" if bad else "settings.columns"
            if ROW in str(exc) or "is not an aggregate function" in str(exc):  # sum(a) / sum(b), round(sum(a))
                raise StepSettingsError(f"'{text}' is not one window function call: write one call per column "
                                        "(such as sum(a)) and combine the columns in a derive step",
                                        field=field) from None
            raise fail(exc, text, field) from None
    finally:
        con.close()
    computed = to_pandas(table).drop(columns=[ROW])
    return {"out": pd.concat([frame.reset_index(drop=True), computed], axis=1)}


def _over(column: WindowColumn, s: WindowFunctionsSettings, frame: pd.DataFrame, field: str) -> str:
    direction = "DESC" if s.descending else "ASC"
    order = [f"{quote(c)} {direction} NULLS LAST" for c in s.order_by]
    call = _CALL.match(column.expression)
    peers = call is not None and call.group(1).lower() in _PEER_FUNCTIONS
    frame_clause = ""
    if column.range is not None:
        if len(s.order_by) != 1:
            raise StepSettingsError("a range frame needs exactly one order_by column", field=f"{field}.range")
        ns = parse_duration(column.range)
        if ns is None:
            raise StepSettingsError(f"'{column.range}' is not a duration (such as '7d' or '1h')",
                                    field=f"{field}.range")
        ordered = frame[s.order_by[0]]
        if ordered.dtype.kind == "M":
            width = f"INTERVAL '{ns // 1_000} microseconds'"
        else:
            raise DataError(f"a range frame needs order_by '{s.order_by[0]}' to be a timestamp "
                            f"(it is {ordered.dtype})", field=f"{field}.range")
        frame_clause = f" RANGE BETWEEN {width} PRECEDING AND CURRENT ROW"
    else:
        if not peers and s.order_by:
            order.append(f"{quote(ROW)} ASC")  # ties in input order: the same result every run
        if column.rows is not None:
            frame_clause = f" ROWS BETWEEN {column.rows - 1} PRECEDING AND CURRENT ROW"
        elif column.running:
            frame_clause = " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        elif s.order_by and (call is None or call.group(1).lower() not in _FRAMELESS):
            frame_clause = " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"  # SQL's default is running
    if (column.rows is not None or column.running or column.range is not None) and not s.order_by:
        raise StepSettingsError("a rolling or running column needs order_by", field=field)
    parts = []
    if s.partition_by:
        parts.append("PARTITION BY " + ", ".join(quote(c) for c in s.partition_by))
    if order:
        parts.append("ORDER BY " + ", ".join(order))
    return " ".join(parts) + frame_clause


def sql(inputs: Inputs, **settings: Any) -> Outputs:
    """One SELECT (DuckDB SQL) over the inputs, each a table named by its input name."""
    s = SqlSettings.model_validate(settings)
    return {"out": query(dict(inputs), s.query, "settings.query")}


_PANDAS_AGGREGATE = {"sum": "sum", "mean": "mean", "count": "count", "min": "min", "max": "max", "first": "first",
                     "last": "last"}


def pivot(inputs: Inputs, **settings: Any) -> Outputs:
    """Long to wide: one row per index, one column per value of ``columns`` (sorted), cells from ``values``."""
    s = PivotSettings.model_validate(settings)
    frame = only_input(inputs, "transform.pivot")
    missing_columns(frame, s.index, "settings.index")
    missing_columns(frame, [s.columns], "settings.columns")
    missing_columns(frame, [s.values], "settings.values")
    if frame[s.columns].isna().any():
        raise DataError(f"column '{s.columns}' has nulls: a null cannot name a column", field="settings.columns")
    if s.aggregate == "refuse":
        repeated = frame.duplicated(subset=[*s.index, s.columns], keep=False)
        if repeated.any():
            first = frame.loc[repeated, [*s.index, s.columns]].iloc[0].to_dict()
            raise DataError(f"{int(repeated.sum())} rows share an index and column, such as {first} "
                            "(aggregate: sum, mean, ... combines them)", field="settings.aggregate")
    grouped = frame.groupby([*s.index, s.columns], sort=True, dropna=False, observed=True)[s.values]
    how = "first" if s.aggregate == "refuse" else _PANDAS_AGGREGATE[s.aggregate]
    # A cell whose values are all null stays null (SQL's sum), where pandas' sum would say 0.
    cells = grouped.sum(min_count=1) if how == "sum" else grouped.agg(how)
    wide = cells.unstack(s.columns)
    names = [f"{s.prefix}{c}" for c in wide.columns]
    clash = [n for n in names if n in s.index]
    if clash:
        raise DataError(f"a pivoted column would be named '{clash[0]}', like an index column", field="settings.prefix")
    wide.columns = names
    if s.fill is not None:
        wide = wide.fillna(s.fill)
    out = wide.reset_index()
    return {"out": like(out, frame, s.index)}


def unpivot(inputs: Inputs, **settings: Any) -> Outputs:
    """Wide to long: a row per input row and value column (rows in input order, then columns in order)."""
    s = UnpivotSettings.model_validate(settings)
    frame = only_input(inputs, "transform.unpivot")
    missing_columns(frame, s.index, "settings.index")
    values = s.values if s.values is not None else [c for c in frame.columns if c not in s.index]
    missing_columns(frame, values, "settings.values")
    for name in (s.variable, s.value):
        if name in s.index:
            raise StepSettingsError(f"'{name}' is an index column", field="settings.variable")
    long = frame.melt(id_vars=s.index, value_vars=values, var_name=s.variable, value_name=s.value)
    # melt gives column by column; a user reads a row's values together.
    order = np.arange(len(long)).reshape(len(values), len(frame)).T.ravel() if len(values) else np.arange(0)
    long = long.iloc[order]
    if s.drop_nulls:
        long = long[long[s.value].notna()]
    return {"out": reset(long)}
