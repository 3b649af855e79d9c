"""The report writer's settings, from ``plugins: {settings: {report: {...}}}`` in a pipeline file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel import validation_problem

NAME = "report"  # the plugin's entry-point name, and the key of its settings


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    formats: tuple[Literal["md", "html"], ...] = Field(("md", "html"), min_length=1)
    charts: bool = True
    # Outputs ("step.output") that hold quarantined rows, besides those named quarantine, quarantine_* or *_quarantine.
    quarantine_outputs: tuple[str, ...] = ()


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
