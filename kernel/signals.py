"""Lifecycle signals: how a run reports what happens in it.

Every signal is sent by the orchestrating thread, in a deterministic order (also when steps run
concurrently), with the :class:`kernel.Run` as sender and one keyword argument, ``event``, a
frozen dataclass from :mod:`kernel.events`. A receiver looks like::

    def on_step_complete(sender: Run, *, event: StepCompleted, **extra: object) -> None: ...

    signals.step_complete.connect(on_step_complete)

blinker holds receivers weakly by default: keep a reference to a receiver (or connect with
``weak=False``) or it disappears when it is garbage collected. A receiver that raises never
breaks a run: the kernel logs the error and counts it in the run record. Nobody uses the
return value of ``send``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from blinker import NamedSignal, Namespace

_signals = Namespace()

pipeline_start = _signals.signal("pipeline_start", doc="A run starts. event: PipelineStarted")
step_start = _signals.signal("step_start", doc="A step's first attempt starts. event: StepStarted")
step_retry = _signals.signal("step_retry", doc="A failed attempt will be retried. event: StepRetrying")
step_complete = _signals.signal("step_complete", doc="A step succeeded. event: StepCompleted")
step_error = _signals.signal("step_error", doc="A step failed for good. event: StepErrored")
step_skipped = _signals.signal("step_skipped", doc="A step will not run. event: StepSkipped")
pipeline_complete = _signals.signal("pipeline_complete", doc="A run succeeded. event: PipelineCompleted")
pipeline_error = _signals.signal("pipeline_error", doc="A run failed. event: PipelineErrored")

ALL: tuple[NamedSignal, ...] = (
    pipeline_start,
    step_start,
    step_retry,
    step_complete,
    step_error,
    step_skipped,
    pipeline_complete,
    pipeline_error,
)

Receiver = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Listener:
    """A receiver a plugin wants connected to one signal for one run (see ``connect_listeners``)."""

    signal: NamedSignal
    receiver: Receiver


_owners: dict[str, str] = {}  # a plugin's own signal -> the plugin that declared it


def declare(name: str, doc: str, *, owner: str) -> NamedSignal:
    """A signal of a plugin's own (the stream's alerts, say), in the kernel's namespace: listeners connect to
    it as to the lifecycle signals. The same owner declaring it again gets the same signal; a lifecycle
    signal's name, or another plugin's, is refused (a ``ValueError`` naming the owner)."""
    if any(s.name == name for s in ALL):
        raise ValueError(f"signal '{name}' is one of the kernel's own")
    holder = _owners.setdefault(name, owner)
    if holder != owner:
        raise ValueError(f"signal '{name}' is plugin '{holder}''s, not '{owner}''s")
    return _signals.signal(name, doc=doc)


def declared() -> dict[str, str]:
    """The plugins' own signals declared so far, with the plugin that declared each."""
    return dict(_owners)
