"""The ``window`` plugin's hooks: the step type ``window.tumbling`` (its state store is a ``kernel.StateStore``:
the kernel recovers it before a run and makes a new state current only when the whole run succeeds)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kernel import StepType, hookimpl

# The functions live in kernel_window.steps, imported when a run needs them; the settings model when a pipeline
# that uses the step type is checked.
TUMBLING = StepType(
    "window.tumbling", "kernel_window.steps:tumbling", inputs=("records",),
    outputs=("windows", "late", "quarantine", "counts"), settings="kernel_window.settings:TumblingSettings",
    claims=("state_dir",),
    partitions="keys", shared="kernel_window.steps:shared_marks", combine="kernel_window.steps:combine_parts",
    description="Event-time tumbling windows with a watermark, late-data and quarantine outputs "
    "(docs/windowing.md).",
)


@hookimpl
def register_steps() -> Iterable[Any]:
    """The step types of this plugin: ``window.tumbling``."""
    return [TUMBLING]

