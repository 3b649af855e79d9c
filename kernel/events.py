"""Typed payloads of the lifecycle signals (one frozen dataclass per signal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from kernel.config import StepSpec
    from kernel.record import RunRecord
    from kernel.steps import DatasetIO


@dataclass(frozen=True, slots=True)
class PipelineStarted:
    """Sent as ``pipeline_start``: the steps that will be attempted, in scheduling order."""

    pipeline: str
    started_at: datetime
    steps: tuple[str, ...]
    params: Mapping[str, Any]
    workers: int


@dataclass(frozen=True, slots=True)
class StepStarted:
    """Sent as ``step_start`` before a step's first attempt, with the inputs it will receive."""

    step: StepSpec
    started_at: datetime
    inputs: Mapping[str, pd.DataFrame]


@dataclass(frozen=True, slots=True)
class StepRetrying:
    """Sent as ``step_retry`` after attempt ``attempt`` failed and before the next one, ``delay_s`` later."""

    step: StepSpec
    attempt: int
    error: BaseException
    delay_s: float


@dataclass(frozen=True, slots=True)
class StepCompleted:
    """Sent as ``step_complete``: the step's outputs (as judged by ``after_step_run``) and its timing."""

    step: StepSpec
    attempts: int
    started_at: datetime
    duration_s: float
    outputs: Mapping[str, pd.DataFrame]
    rows: Mapping[str, int]
    datasets: tuple[DatasetIO, ...] = ()


@dataclass(frozen=True, slots=True)
class StepFailed:
    """Sent as ``step_error`` once a step has failed for good (its retries spent, or blocked).

    ``datasets`` are the files its last attempt reported reading or writing before it failed.
    """

    step: StepSpec
    attempts: int
    started_at: datetime
    duration_s: float
    error: BaseException
    blocked: bool
    datasets: tuple[DatasetIO, ...] = ()


@dataclass(frozen=True, slots=True)
class StepSkipped:
    """Sent as ``step_skipped``: the step will not run because ``cause`` failed, was skipped, or the run stopped."""

    step: StepSpec
    reason: str
    cause: str | None


@dataclass(frozen=True, slots=True)
class PipelineCompleted:
    """Sent as ``pipeline_complete`` when every step succeeded."""

    record: RunRecord
    duration_s: float


@dataclass(frozen=True, slots=True)
class PipelineFailed:
    """Sent as ``pipeline_error`` when a step failed or was skipped, or the run could not go on."""

    record: RunRecord
    duration_s: float
    error: str
