"""Where the transform steps meet DuckDB: expressions, aggregations and SQL are DuckDB SQL, run in a
connection of the step's own that can read nothing but the step's input frames.

Expressions are parsed one at a time as a single SQL expression (never a statement, never Python), in a
connection with external access off: no files, no URLs, no extensions. Columns computed by DuckDB come back
through Arrow; columns a step passes along are taken from the pandas input unchanged, so their dtypes stay
exactly what they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kernel import DataError, StepSettingsError

ROW = "__transform_row"  # the input's row number, to give results back in input order


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reads only what the step registers in it."""
    con = duckdb.connect(config={
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    con.execute("SET TimeZone = 'UTC'")  # timestamps with a time zone come back in UTC, whatever the machine says
    con.execute("SET lock_configuration = true")  # and SQL cannot switch any of that back on
    return con


def quote(name: str) -> str:
    """``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def parse(text: str, field: str) -> duckdb.Expression:
    """One SQL expression, or a :class:`StepSettingsError` naming ``field``."""
    try:
        return duckdb.SQLExpression(text)
    except duckdb.Error as exc:
        raise StepSettingsError(f"'{text}' is not one SQL expression: {first_line(exc)}", field=field) from None


def fail(exc: duckdb.Error, text: str, field: str) -> Exception:
    """The error a step raises when DuckDB refuses ``text``: a mistake in the settings (an unknown column, a
    wrong type) names the setting; a value the data cannot give (a failed cast) is a data error."""
    message = f"'{text}': {first_line(exc)}"
    if isinstance(exc, duckdb.ConversionException | duckdb.OutOfRangeException | duckdb.InvalidInputException):
        return DataError(message, field=field)
    return StepSettingsError(message, field=field)


def to_pandas(table: Any) -> pd.DataFrame:
    """A DuckDB result (an Arrow table) as pandas: Arrow's conversion, but for DuckDB's decimals, which pandas
    would hold as Python objects: whole ones (``sum`` of integers is a 128-bit integer) become int64 when they
    fit, the others float64. DuckDB's timestamps with a time zone are microseconds."""
    import pyarrow as pa  # type: ignore[import-untyped]

    for position, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            values = table.column(position)
            try:
                converted = values.cast(pa.int64()) if column.type.scale == 0 else values.cast(pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # beyond an int64: as near as a float gets
                converted = values.cast(pa.float64(), safe=False)
            table = table.set_column(position, column.name, converted)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def like(frame: pd.DataFrame, source: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Give ``columns`` of a result (group keys, say) back the dtypes they have in ``source``."""
    for name in columns:
        want = source[name].dtype
        if frame[name].dtype != want:
            with contextlib.suppress(TypeError, ValueError):  # nulls an int column cannot hold: widened stays
                frame[name] = frame[name].astype(want)
    return frame


def evaluate(frame: pd.DataFrame, expressions: Mapping[str, str], field: str) -> pd.DataFrame:
    """The value of each expression on every row of ``frame``, as columns named by the mapping's keys, in
    the frame's row order. An expression may use the names defined before it in the mapping, but a name
    that is also a column of ``frame`` means that column (DuckDB's rule for aliases)."""
    parsed = {name: parse(text, f"{field}.{name}").alias(name) for name, text in expressions.items()}
    con = connect()
    try:
        relation = con.from_df(_plain_index(frame))
        try:
            table = relation.select(*parsed.values()).to_arrow_table()
        except duckdb.Error as exc:
            bad = first_failing(list(parsed), lambda names: relation.select(*[parsed[n] for n in names]).fetchall())
            if bad is None:
                raise fail(exc, "; ".join(expressions.values()), field) from None
            raise fail(exc, expressions[bad], f"{field}.{bad}") from None
    finally:
        con.close()
    return to_pandas(table).set_axis(frame.index)


def first_failing(names: list[str], attempt: Callable[[list[str]], object]) -> str | None:
    """The first name that fails together with those before it: which of several expressions DuckDB refused
    (tried again one more at a time, only once something failed)."""
    for count in range(1, len(names) + 1):
        try:
            attempt(names[:count])
        except duckdb.Error:
            return names[count - 1]
    return None


def mask(frame: pd.DataFrame, condition: str, field: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether ``condition`` holds on each row; null counts as false, as in SQL's WHERE."""
    expression = parse(condition, field)
    con = connect()
    try:
        relation = con.from_df(_plain_index(frame))
        try:
            table = relation.select(expression.alias("keep")).to_arrow_table()
        except duckdb.Error as exc:
            raise fail(exc, condition, field) from None
    finally:
        con.close()
    column = table.column("keep")
    if str(column.type) != "bool":
        raise StepSettingsError(f"'{condition}' gives {column.type}, not true or false", field=field)
    return np.asarray(column.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def query(frames: Mapping[str, pd.DataFrame], sql: str, field: str) -> pd.DataFrame:
    """The result of one SELECT over ``frames``, each a table named by its key."""
    con = connect()
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise StepSettingsError(f"the query does not parse: {first_line(exc)}", field=field) from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            kinds = ", ".join(s.type.name for s in statements) or "nothing"
            raise StepSettingsError(f"give one SELECT query (got {kinds})", field=field)
        for name, frame in frames.items():
            con.register(name, _plain_index(frame))
        try:
            return to_pandas(con.sql(sql).to_arrow_table())
        except duckdb.Error as exc:
            raise fail(exc, " ".join(sql.split())[:80], field) from None
    finally:
        con.close()


def _plain_index(frame: pd.DataFrame) -> pd.DataFrame:
    # DuckDB reads columns only; an index that is not a plain range would be dropped unseen anyway.
    return frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index(drop=True)
