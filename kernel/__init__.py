"""A plugin-based, event-driven orchestration kernel for data pipelines."""

from __future__ import annotations

from kernel import events, signals
from kernel.app import Kernel
from kernel.atomic import atomic_path, write_text_atomic
from kernel.config import Pipeline, StepSpec, load_pipeline
from kernel.context import Run, RunResult, StepVerdict
from kernel.errors import DataError, KernelError, PipelineError, PluginError, StepSettingsError
from kernel.graph import Plan, topology
from kernel.markers import ENTRY_POINT_GROUP, hookimpl, hookspec
from kernel.record import RunRecord
from kernel.showcases import Showcase
from kernel.signals import Listener
from kernel.steps import Inputs, Outputs, StepContext, StepType, step

__all__ = [
    "ENTRY_POINT_GROUP",
    "DataError",
    "Inputs",
    "Kernel",
    "KernelError",
    "Listener",
    "Outputs",
    "Pipeline",
    "PipelineError",
    "Plan",
    "PluginError",
    "Run",
    "RunRecord",
    "RunResult",
    "Showcase",
    "StepContext",
    "StepSettingsError",
    "StepSpec",
    "StepType",
    "StepVerdict",
    "atomic_path",
    "events",
    "hookimpl",
    "hookspec",
    "load_pipeline",
    "signals",
    "step",
    "topology",
    "write_text_atomic",
]
