"""The report writer's part in a run: the context at the start (the report itself is built in ``after_run``)."""

from __future__ import annotations

import json

from kernel import Run, events, write_text_atomic
from kernel_report.context import report_context
from kernel_report.files import CONTEXT
from kernel_report.settings import ReportSettings


class RunReport:
    """Made per run by ``connect_listeners``; holds that run's state only."""

    def __init__(self, run: Run, settings: ReportSettings) -> None:
        self.run = run
        self.settings = settings

    def on_start(self, sender: Run, *, event: events.PipelineStarted, **extra: object) -> None:
        text = json.dumps(report_context(self.run, self.settings), indent=2, ensure_ascii=False)
        write_text_atomic(self.run.run_dir / CONTEXT, text + "\n")
