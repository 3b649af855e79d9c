"""The ``transform`` plugin's hooks: the step types every data engineer expects (docs/transform.md).

Declared by reference: listing or checking a pipeline imports the settings models only; a run imports pandas
and DuckDB when it reaches a transform step."""

from __future__ import annotations

from kernel import StepType, hookimpl
from kernel_transform import settings as s


def _step(name: str, function: str, model: type[s._Settings], outputs: tuple[str, ...] = ("out",),
          inputs: tuple[str, ...] | None = None, claims: tuple[str, ...] = ()) -> StepType:
    description = " ".join((model.__doc__ or "").split(". ")[0].split()).rstrip(".") + "."
    return StepType(f"transform.{name}", f"kernel_transform.{function}", inputs=inputs, outputs=outputs,
                    settings=model, description=description, claims=claims)


STEPS = (
    _step("select", "rows:select", s.SelectSettings),
    _step("filter", "rows:filter", s.FilterSettings, outputs=("out", "rest")),
    _step("derive", "rows:derive", s.DeriveSettings),
    _step("sort", "rows:sort", s.SortSettings),
    _step("dedupe", "rows:dedupe", s.DedupeSettings, outputs=("out", "duplicates"), claims=("state_dir",)),
    _step("union", "rows:union", s.UnionSettings),
    _step("sample", "rows:sample", s.SampleSettings),
    _step("join", "joins:join", s.JoinSettings, outputs=("out", "quarantine_left", "quarantine_right"),
          inputs=("left", "right")),
    _step("lookup", "joins:lookup", s.LookupSettings, inputs=("records", "dimension")),
    _step("aggregate", "shape:aggregate", s.AggregateSettings),
    _step("pivot", "shape:pivot", s.PivotSettings),
    _step("unpivot", "shape:unpivot", s.UnpivotSettings),
    _step("window_functions", "shape:window_functions", s.WindowFunctionsSettings),
    _step("sql", "shape:sql", s.SqlSettings),
    # Inputs checked in the functions: a history, an existing keyed dimension are optional; star's are named
    # by its settings.
    _step("scd2_merge", "history:scd2_merge", s.Scd2Settings),
    _step("surrogate_keys", "history:surrogate_keys", s.SurrogateKeysSettings),
    _step("star", "history:star", s.StarSettings, outputs=("out", "unmatched")),
)


@hookimpl
def register_steps() -> list[StepType]:
    return list(STEPS)

