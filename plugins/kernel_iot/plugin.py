"""The IoT plugin: the showcase's step types, the showcase itself, its freshness check and report sections."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from kernel import Listener, Run, Showcase, StepSpec, StepType, Summarizer, events, hookimpl, signals
from kernel_iot.steps import STEP_TYPES

if TYPE_CHECKING:
    import pandas as pd

SHOWCASE = "iot-windowed-kpi"
DIRECTORY = "007-iot-windowed-kpi"  # the suite numbers its showcases; the flagship is 007


@hookimpl
def register_steps() -> list[StepType]:
    return list(STEP_TYPES)


@hookimpl
def connect_listeners(run: Run) -> list[Listener]:
    """After a gold step, ran or reused: its figures into the run directory, for the report."""
    golden = {name for name, planned in run.plan.steps.items() if planned.type.name == "iot.gold"}
    if not golden:
        return []
    from kernel_iot.gold import GoldFigures, gold_figures, keep_figures

    def kept(sender: Run, event: events.StepCompleted) -> None:
        if event.step.name in golden:
            figures = next((v for v in event.summaries.values() if isinstance(v, GoldFigures)), None)
            keep_figures(sender.run_dir, figures if figures is not None else gold_figures(event.outputs))

    return [Listener(signals.step_complete, kept)]


@hookimpl
def summarize_step(run: Run, step: StepSpec) -> Summarizer | None:
    """The gold step's figures for the report, computed where its tables are."""
    if run.plan.steps[step.name].type.name != "iot.gold":
        return None
    from kernel_iot.gold import gold_figures

    return gold_figures


@hookimpl
def register_showcases() -> list[Showcase]:
    pipeline = Path(str(files("kernel_showcases") / DIRECTORY / "pipeline.yaml"))
    return [Showcase(name=SHOWCASE, pipeline=pipeline, generate="kernel_iot.generate:generate", data_param="data",
                     description="Device uptime and firmware adoption from late, messy IoT telemetry",
                     defaults={"devices": 300, "days": 7, "seed": 1}, results_param="gold",
                     stream=pipeline.parent / "stream.yaml", landing="telemetry")]


class _WithinPeriod(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


def within_period(frame: pd.DataFrame, settings: _WithinPeriod) -> pd.Series:
    newest = frame["newest_event_time"]
    return (frame["period_start"] <= newest) & (newest < frame["period_end"])


@hookimpl(optionalhook=True)
def register_checks() -> list[Any]:
    """``iot.within_period``: the newest conformed event lies inside the period (the freshness gate)."""
    from kernel_validator import CheckType

    return [CheckType(name="iot.within_period", settings=_WithinPeriod, func="kernel_iot.plugin:within_period",
                      reason=lambda _: "newest event outside the period",
                      description="newest_event_time in [period_start, period_end)")]


@hookimpl(optionalhook=True)
def report_sections(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    from kernel_iot import report

    return report.sections(run_dir, record)
