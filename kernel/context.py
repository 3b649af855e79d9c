"""What plugins and callers see of a run: the :class:`Run` every signal is sent by, its result, and the
verdict an ``after_step_run`` hook gives on a step."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from kernel.graph import Plan
from kernel.record import SUCCEEDED, RunRecord

if TYPE_CHECKING:
    import pandas as pd

Frames = dict[str, "pd.DataFrame"]


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the second and six random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """What a judge decides (``judge_step``'s function next to the step, or ``after_step_run``): outputs to
    replace, and/or why the step is blocked. ``findings`` (a judge's, small and picklable: check results,
    rejected rows) reach the same plugin's ``after_step_run``."""

    replace: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    blocked_because: str | None = None
    findings: Any = None


class Run:
    """One run of a plan: the sender of every signal, and where plugins keep per-run state."""

    __slots__ = (
        "__weakref__", "_pm", "pipeline", "plan", "progress", "record", "run_dir", "run_id", "runs_root", "stash"
    )

    def __init__(
        self,
        plan: Plan,
        run_id: str,
        run_dir: Path,
        record: RunRecord,
        pm: pluggy.PluginManager | None = None,
        *,
        runs_root: Path | None = None,
    ) -> None:
        self._pm = pm
        self.plan = plan
        self.pipeline = plan.pipeline
        self.run_id = run_id
        self.run_dir = run_dir
        # Where run directories are made (``--runs-dir``): plugins keep what outlives a run under it (a cache).
        self.runs_root = runs_root if runs_root is not None else run_dir.parent.parent
        self.record = record
        self.stash: dict[str, Any] = {}
        # step -> (done, total or None, unit): what steps running in this process said of their progress
        self.progress: dict[str, tuple[int, int | None, str]] = {}

    @property
    def params(self) -> dict[str, Any]:
        return self.pipeline.values

    @property
    def plugin_manager(self) -> pluggy.PluginManager | None:
        """The plugin manager of the plugins taking part in this run (those the pipeline disables are
        blocked in it), for plugins that call hooks of their own; ``None`` outside a kernel."""
        return self._pm

    def add_artifact(self, name: str, path: str | Path) -> None:
        """Name something this run made for people (a report): ``run.json`` lists it under ``artifacts`` and
        the command line prints it. Call it from ``after_run`` (the kernel writes ``run.json`` again)."""
        self.record.artifacts[name] = str(path)

    def __repr__(self) -> str:
        return f"Run({self.pipeline.name!r}, {self.run_id!r})"


@dataclass(slots=True)
class RunResult:
    run: Run
    record: RunRecord
    outputs: dict[str, Frames]

    @property
    def ok(self) -> bool:
        return self.record.status == SUCCEEDED

    @property
    def exit_code(self) -> int:
        return self.record.exit_code if self.record.exit_code is not None else 1
