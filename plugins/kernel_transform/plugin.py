"""The ``transform`` plugin's hooks: the step types every data engineer expects (docs/transform.md).

Declared by reference, settings models too: loading the plugin builds none of its seventeen models (about
6 ms of every command's start); checking a pipeline imports them, and a run imports pandas and DuckDB when it
reaches a transform step."""

from __future__ import annotations

from kernel import StepType, hookimpl


def _step(name: str, function: str, model: str, description: str, outputs: tuple[str, ...] = ("out",),
          inputs: tuple[str, ...] | None = None, claims: tuple[str, ...] = ()) -> StepType:
    return StepType(f"transform.{name}", f"kernel_transform.{function}", inputs=inputs, outputs=outputs,
                    settings=f"kernel_transform.settings:{model}", description=description, claims=claims)


# Each description is the first sentence of its settings model's docstring (tests/test_transform.py holds the
# two together), given here so that listing the step types imports no model.
STEPS = (
    _step("select", "rows:select", "SelectSettings", "Keep, drop, rename and cast columns."),
    _step("filter", "rows:filter", "FilterSettings",
          "Keep the rows where ``where`` is true; ``rest`` gets the others (false or null).", outputs=("out", "rest")),
    _step("derive", "rows:derive", "DeriveSettings",
          "New columns (or replaced ones) from SQL expressions, computed in order."),
    _step("sort", "rows:sort", "SortSettings", "Order the rows by columns; rows that tie keep their input order."),
    _step("dedupe", "rows:dedupe", "DedupeSettings",
          "One row per key: the first or last by ``order_by`` (input order without it); the others go to "
          "``duplicates`` with a reason.", outputs=("out", "duplicates"), claims=("state_dir",)),
    _step("union", "rows:union", "UnionSettings",
          "All inputs' rows, one input after another (in ``needs`` order), columns matched by name."),
    _step("sample", "rows:sample", "SampleSettings", "A random, seeded sample of rows, kept in input order."),
    _step("join", "joins:join", "JoinSettings",
          "Join inputs ``left`` and ``right`` on key columns; optionally check the keys' relationship and that rows "
          "match, refusing the run or moving the offending rows to ``quarantine``.",
          outputs=("out", "quarantine_left", "quarantine_right"), inputs=("left", "right")),
    _step("lookup", "joins:lookup", "LookupSettings",
          "Enrich ``records`` with columns of ``dimension`` (unique on its keys); a record without a match gets "
          "``default`` values.", inputs=("records", "dimension")),
    _step("aggregate", "shape:aggregate", "AggregateSettings",
          "One row per group: SQL aggregate expressions (DuckDB) per group of ``by``, ordered by ``by``."),
    _step("pivot", "shape:pivot", "PivotSettings",
          "Long to wide: one row per ``index``, one column per value of ``columns``."),
    _step("unpivot", "shape:unpivot", "UnpivotSettings", "Wide to long: one row per input row and value column."),
    _step("window_functions", "shape:window_functions", "WindowFunctionsSettings",
          "Columns computed over partitions of rows, such as rank, row number, lag and lead, running and rolling "
          "sums; rows keep their input order."),
    _step("sql", "shape:sql", "SqlSettings",
          "One SELECT (DuckDB SQL) over the step's inputs, each a table named by its input name."),
    # Inputs checked in the functions: a history, an existing keyed dimension are optional; star's are named
    # by its settings.
    _step("scd2_merge", "history:scd2_merge", "Scd2Settings",
          "A type-2 history from the latest ``snapshot`` and the previous ``history`` (none on the first run)."),
    _step("surrogate_keys", "history:surrogate_keys", "SurrogateKeysSettings",
          "A surrogate key per natural key, stable across runs when ``existing`` (the previous keyed dimension) is "
          "given; new keys follow the highest existing one in natural-key order; 0 is the unknown member."),
    _step("star", "history:star", "StarSettings",
          "A fact table whose natural keys are replaced by the dimensions' surrogate keys (0, the unknown member, "
          "where a dimension has no match; those rows are also listed in ``unmatched`` with a reason).",
          outputs=("out", "unmatched")),
)


@hookimpl
def register_steps() -> list[StepType]:
    return list(STEPS)
