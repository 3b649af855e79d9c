"""The work plugins do next to a step, where its frames are (``observe_step``, ``judge_step``,
``summarize_step``), and how one may answer for a step instead of running it (``reuse_step``): the seams
a step cache, the checks and the listeners' per-step summaries are built on (docs/cache.md,
docs/executors.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel.context import StepVerdict
from kernel.steps import DatasetIO, StepContext

if TYPE_CHECKING:
    import pandas as pd

Observer = Callable[[Mapping[str, "pd.DataFrame"], StepContext | None], Any]
"""Run next to a step on its outputs and context (in the worker, under an executor that ships steps);
what it returns (small and picklable) reaches the orchestrator in ``StepCompleted.observed``."""


Judge = Callable[[Mapping[str, "pd.DataFrame"], StepContext | None], StepVerdict | None]
"""Run next to a step on its outputs (as the judges before it left them): a :class:`kernel.StepVerdict`
replaces outputs there and/or blocks the step; its ``findings`` reach the plugin's ``after_step_run``."""

Summarizer = Callable[["Judged", StepContext | None], Any]
"""Run next to a step on its outputs as judged (what its consumers and ``step_complete`` get); what it
returns (small and picklable) reaches the orchestrator in ``StepCompleted.summaries``."""


class Judged(dict[str, "pd.DataFrame"]):
    """A step's outputs as its judges left them, as a summarizer receives them: ``replaced`` names the outputs
    a judge replaced (the others are the very frames the step returned)."""

    __slots__ = ("replaced",)

    def __init__(self, frames: Mapping[str, pd.DataFrame], replaced: frozenset[str] = frozenset()) -> None:
        super().__init__(frames)
        self.replaced = replaced


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one plugin's judge decided next to a step, as it reaches the orchestrator (frames stay)."""

    plugin: str
    blocked_because: str | None = None
    findings: Any = None
    replaced: frozenset[str] = frozenset()


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
