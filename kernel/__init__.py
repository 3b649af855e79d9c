"""A plugin-based, event-driven orchestration kernel for data pipelines.

Importing ``kernel`` is cheap: each name below is imported from its module when first used, so a command
that lists plugins or checks a pipeline never loads pandas; a run does, once it needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import events, signals
    from kernel.app import Kernel, RunOptions
    from kernel.atomic import atomic_path, exchange, fsync_dir, fsync_tree, write_text_atomic
    from kernel.config import Pipeline, StepSpec, load_pipeline
    from kernel.context import Run, RunResult, StepVerdict
    from kernel.documents import read_document
    from kernel.durations import parse_duration
    from kernel.errors import DataError, KernelError, PipelineError, PluginError, StepSettingsError, validation_problem
    from kernel.executors import ExecutorType
    from kernel.fields import PipelineField
    from kernel.graph import Claim, Plan, topology
    from kernel.hooks import PluginHook, per_plugin
    from kernel.interrupts import RunInterrupted
    from kernel.kept import FrameSummary, Keeper, KeptFrame
    from kernel.lazy import lazy_exports, load_reference
    from kernel.locks import Busy, Holder, PathLock
    from kernel.logs import get_logger
    from kernel.markers import ENTRY_POINT_GROUP, hookimpl, hookspec
    from kernel.record import SCHEMA_VERSION as RUN_SCHEMA_VERSION
    from kernel.record import RunRecord
    from kernel.reuse import Judge, Judged, Judgement, ObservationFailed, Observer, Recompute, Reused, Summarizer
    from kernel.showcases import Showcase
    from kernel.signals import Listener
    from kernel.state import StateStore
    from kernel.steps import DatasetIO, Inputs, Outputs, Staged, StepContext, StepType, step, take_input
    from kernel.values import TEXT_LIMIT, json_safe

# name -> (module, its name there when it differs)
_LAZY: dict[str, tuple[str, str]] = {
    "events": ("kernel.events", ""),
    "signals": ("kernel.signals", ""),
    "Kernel": ("kernel.app", ""),
    "RunOptions": ("kernel.app", ""),
    "atomic_path": ("kernel.atomic", ""),
    "exchange": ("kernel.atomic", ""),
    "fsync_dir": ("kernel.atomic", ""),
    "fsync_tree": ("kernel.atomic", ""),
    "write_text_atomic": ("kernel.atomic", ""),
    "Pipeline": ("kernel.config", ""),
    "StepSpec": ("kernel.config", ""),
    "load_pipeline": ("kernel.config", ""),
    "Run": ("kernel.context", ""),
    "RunResult": ("kernel.context", ""),
    "StepVerdict": ("kernel.context", ""),
    "read_document": ("kernel.documents", ""),
    "parse_duration": ("kernel.durations", ""),
    "DataError": ("kernel.errors", ""),
    "KernelError": ("kernel.errors", ""),
    "PipelineError": ("kernel.errors", ""),
    "PluginError": ("kernel.errors", ""),
    "StepSettingsError": ("kernel.errors", ""),
    "validation_problem": ("kernel.errors", ""),
    "ExecutorType": ("kernel.executors", ""),
    "PipelineField": ("kernel.fields", ""),
    "Claim": ("kernel.graph", ""),
    "Plan": ("kernel.graph", ""),
    "topology": ("kernel.graph", ""),
    "PluginHook": ("kernel.hooks", ""),
    "per_plugin": ("kernel.hooks", ""),
    "RunInterrupted": ("kernel.interrupts", ""),
    "FrameSummary": ("kernel.kept", ""),
    "Keeper": ("kernel.kept", ""),
    "KeptFrame": ("kernel.kept", ""),
    "lazy_exports": ("kernel.lazy", ""),
    "load_reference": ("kernel.lazy", ""),
    "Busy": ("kernel.locks", ""),
    "Holder": ("kernel.locks", ""),
    "PathLock": ("kernel.locks", ""),
    "get_logger": ("kernel.logs", ""),
    "ENTRY_POINT_GROUP": ("kernel.markers", ""),
    "hookimpl": ("kernel.markers", ""),
    "hookspec": ("kernel.markers", ""),
    "RUN_SCHEMA_VERSION": ("kernel.record", "SCHEMA_VERSION"),
    "RunRecord": ("kernel.record", ""),
    "Judge": ("kernel.reuse", ""),
    "Judged": ("kernel.reuse", ""),
    "Judgement": ("kernel.reuse", ""),
    "ObservationFailed": ("kernel.reuse", ""),
    "Observer": ("kernel.reuse", ""),
    "Recompute": ("kernel.reuse", ""),
    "Reused": ("kernel.reuse", ""),
    "Summarizer": ("kernel.reuse", ""),
    "Showcase": ("kernel.showcases", ""),
    "Listener": ("kernel.signals", ""),
    "StateStore": ("kernel.state", ""),
    "DatasetIO": ("kernel.steps", ""),
    "Inputs": ("kernel.steps", ""),
    "Outputs": ("kernel.steps", ""),
    "Staged": ("kernel.steps", ""),
    "StepContext": ("kernel.steps", ""),
    "StepType": ("kernel.steps", ""),
    "step": ("kernel.steps", ""),
    "take_input": ("kernel.steps", ""),
    "json_safe": ("kernel.values", ""),
    "TEXT_LIMIT": ("kernel.values", ""),
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "RUN_SCHEMA_VERSION",
    "TEXT_LIMIT",
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
    "StateStore",
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
    "lazy_exports",
    "load_pipeline",
    "load_reference",
    "parse_duration",
    "per_plugin",
    "read_document",
    "signals",
    "step",
    "take_input",
    "topology",
    "validation_problem",
    "write_text_atomic",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'kernel' has no attribute '{name}'") from None
    found = importlib.import_module(module)
    value = getattr(found, attribute or name) if module != f"kernel.{name}" else found
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
