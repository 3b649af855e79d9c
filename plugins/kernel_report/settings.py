"""The report writer's settings, from ``plugins: {settings: {report: {...}}}`` in a pipeline file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, with_config
from typing_extensions import TypedDict

from kernel import PipelineField, validation_problem

NAME = "report"  # the plugin's entry-point name, and the key of its settings


class ReportSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    formats: tuple[Literal["md", "html"], ...] = Field(("md", "html"), min_length=1)
    charts: bool = True
    # Outputs ("step.output") that hold quarantined rows, besides those named quarantine, quarantine_* or *_quarantine.
    quarantine_outputs: tuple[str, ...] = ()


@with_config(ConfigDict(extra="forbid"))
class Kpi(TypedDict):
    """A KPI the pipeline declares (``kpis:``): a name, or a name and a description."""

    name: str
    description: str


def _kpi_shorthand(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [{"name": v, "description": ""} if isinstance(v, str) else _described(v) for v in value]
    return value


def _described(value: Any) -> Any:
    return {"description": "", **value} if isinstance(value, Mapping) else value


# The pipeline file's keys this plugin adds: what the pipeline is about, shown at the top of the report.
FIELDS = [
    PipelineField("domain", on="pipeline", type=str, default="", description="the business domain, e.g. iot"),
    PipelineField("archetype", on="pipeline", type=str, default="", description="the kind of pipeline"),
    PipelineField("shape", on="pipeline", type=str, default="",
                  description="the shape of its graph as its authors see it: linear, fan-in, fan-out, diamond, star, "
                  "wide parallel"),
    PipelineField(
        "kpis",
        on="pipeline",
        type=Annotated[tuple[Kpi, ...], BeforeValidator(_kpi_shorthand)],
        default=(),
        description="the KPIs it computes: names, or {name, description}",
    ),
]


def parse_settings(raw: Mapping[str, Any]) -> ReportSettings:
    return ReportSettings.model_validate(dict(raw))


def settings_problem(raw: Any) -> str | None:
    """A message naming the field that is wrong, or ``None``."""
    if not isinstance(raw, Mapping):
        return f"settings.{NAME}: expected a mapping"
    try:
        parse_settings(raw)
    except ValidationError as exc:
        field, message = validation_problem(exc, noun="setting")
        return f"plugins.settings.{NAME}.{field}: {message}"
    return None
