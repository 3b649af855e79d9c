"""A plugin-based, event-driven orchestration kernel for data pipelines."""

from __future__ import annotations

from kernel import events, signals
from kernel.app import Kernel, RunOptions
from kernel.atomic import atomic_path, exchange, fsync_dir, fsync_tree, write_text_atomic
from kernel.config import Pipeline, StepSpec, load_pipeline
from kernel.context import Run, RunResult, StepVerdict
from kernel.documents import read_document
from kernel.errors import DataError, KernelError, PipelineError, PluginError, StepSettingsError, validation_problem
from kernel.executors import ExecutorType
from kernel.fields import PipelineField
from kernel.graph import Claim, Plan, topology
from kernel.hooks import PluginHook, per_plugin
from kernel.interrupts import RunInterrupted
from kernel.kept import FrameSummary, Keeper, KeptFrame
from kernel.locks import Busy, Holder, PathLock
from kernel.logs import get_logger
from kernel.markers import ENTRY_POINT_GROUP, hookimpl, hookspec
from kernel.record import SCHEMA_VERSION as RUN_SCHEMA_VERSION
from kernel.record import RunRecord
from kernel.reuse import Judge, Judged, Judgement, ObservationFailed, Observer, Recompute, Reused, Summarizer
from kernel.showcases import Showcase
from kernel.signals import Listener
from kernel.steps import DatasetIO, Inputs, Outputs, Staged, StepContext, StepType, step
from kernel.values import json_safe

__all__ = [
    "ENTRY_POINT_GROUP",
    "RUN_SCHEMA_VERSION",
    "Busy",
    "Claim",
    "DataError",
    "DatasetIO",
    "ExecutorType",
    "FrameSummary",
    "Holder",
    "Inputs",
    "Judge",
    "Judged",
    "Judgement",
    "Keeper",
    "KeptFrame",
    "Kernel",
    "KernelError",
    "Listener",
    "ObservationFailed",
    "Observer",
    "Outputs",
    "PathLock",
    "Pipeline",
    "PipelineError",
    "PipelineField",
    "Plan",
    "PluginError",
    "PluginHook",
    "Recompute",
    "Reused",
    "Run",
    "RunInterrupted",
    "RunOptions",
    "RunRecord",
    "RunResult",
    "Showcase",
    "Staged",
    "StepContext",
    "StepSettingsError",
    "StepSpec",
    "StepType",
    "StepVerdict",
    "Summarizer",
    "atomic_path",
    "events",
    "exchange",
    "fsync_dir",
    "fsync_tree",
    "get_logger",
    "hookimpl",
    "hookspec",
    "json_safe",
    "load_pipeline",
    "per_plugin",
    "read_document",
    "signals",
    "step",
    "topology",
    "validation_problem",
    "write_text_atomic",
]
