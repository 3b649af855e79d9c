"""What plugins learn next to a step (``observe_step``) and how one may answer for a step instead of running
it (``reuse_step``): the seams a step cache is built on (docs/cache.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kernel.steps import DatasetIO, StepContext

Observer = Callable[[Mapping[str, pd.DataFrame], StepContext | None], Any]
"""Run next to a step on its outputs and context (in the worker, under an executor that ships steps);
what it returns (small and picklable) reaches the orchestrator in ``StepCompleted.observed``."""


@dataclass(frozen=True, slots=True)
class ObservationFailed:
    """What ``StepCompleted.observed`` holds for an observer that raised: the error, as text."""

    error: str


@dataclass(frozen=True, slots=True)
class Reused:
    """A ``reuse_step`` answer: the step is not run; these outputs stand for it (``StepCompleted.cached``).

    ``datasets`` are the files the step read and wrote when it ran; ``saved_s`` how long it took then.
    """

    outputs: Mapping[str, pd.DataFrame]
    key: str
    datasets: tuple[DatasetIO, ...] = ()
    saved_s: float | None = None


@dataclass(frozen=True, slots=True)
class Recompute:
    """A ``reuse_step`` answer: the step runs, and why it cannot be reused (``run.json`` keeps the reason)."""

    reason: str
    key: str | None = None
