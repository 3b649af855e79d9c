"""Typed payloads of the lifecycle signals (one frozen dataclass per signal).

Listeners only report: what a payload holds is read-only. Mappings are read-only views, and a DataFrame
taken from ``inputs`` or ``outputs`` is a shallow copy of the step's frame, so under pandas' copy-on-write
whatever a listener changes in it stays in its copy (and its NumPy arrays are read-only).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kernel.kept import KeptFrame

if TYPE_CHECKING:
    import pandas as pd

    from kernel.config import StepSpec
    from kernel.record import RunRecord
    from kernel.steps import DatasetIO


class FrameViews(Mapping[str, "pd.DataFrame"]):
    """A step's frames as a listener sees them: each one read is a shallow copy (nothing is copied until
    somebody writes, and then only the copy changes); a listener that reads none costs nothing."""

    __slots__ = ("_frames",)

    def __init__(self, frames: Mapping[str, pd.DataFrame | KeptFrame]) -> None:
        self._frames = frames

    def __getitem__(self, key: str) -> pd.DataFrame:
        frame = self._frames[key]
        if isinstance(frame, KeptFrame):  # kept on a worker: brought here, at the cost of moving it
            return frame.fetch()
        return frame.copy(deep=False)

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __repr__(self) -> str:
        return f"FrameViews({list(self._frames)})"

    def origin(self, key: str) -> int:
        """A token of the step's own frame behind ``self[key]``: two views of one frame have the same token
        (the frame a step returned and the frame its consumer receives are one), while that frame lives."""
        return id(self._frames[key])


def frame_origin(frames: Mapping[str, pd.DataFrame], key: str) -> int:
    """:meth:`FrameViews.origin`, also for a plain mapping of frames (a payload made by hand in a test)."""
    return frames.origin(key) if isinstance(frames, FrameViews) else id(frames[key])


def read_only(value: Any) -> Any:
    """``value`` with every mapping a read-only view and every list a tuple, at any depth."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: read_only(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(read_only(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


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
    cached: bool = False  # not run: a plugin's reuse_step answered with earlier outputs
    cache_key: str | None = None  # the key they were stored under (a hit), or the step's key (a miss)
    # plugin -> what its observe_step function returned, next to the step, on the outputs before judging
    observed: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    replaced: frozenset[str] = frozenset()  # outputs a judge replaced (so unlike what was observed)
    # plugin -> what its summarize_step function returned, next to the step, on the outputs as judged
    summaries: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class StepErrored:
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
    # plugin -> what its summarize_step function made of a blocked step's outputs as judged
    summaries: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


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
class PipelineErrored:
    """Sent as ``pipeline_error`` when a step failed or was skipped, or the run could not go on."""

    record: RunRecord
    duration_s: float
    error: str
