"""What the report writer counts in step outputs as the run goes, written as ``report-outputs.json``.

The report is built from the run directory alone, and a step's frames are gone by then. So the figures
the frames hold are counted next to each step (``summarize_step``: where the frames are, in the worker
under an executor that ships steps): quarantine a step wrote itself (by reason), rows
by reason in any output with a ``reason`` column (late records, say), a step's own counts (an output
named ``counts``), and the rows of every output of a step that a gate stopped (whose outputs never
reach ``step_complete`` or ``run.json``). Nothing is counted for a step that did not return outputs.

Which outputs are quarantine: those named ``quarantine``, ``quarantine_*`` or ``*_quarantine``, and
those a pipeline declares in ``plugins.settings.report.quarantine_outputs`` (``step.output``). An output
that passes on a quarantine input of the same name (a step assembling tables to publish, say) is not
counted again: its rows were counted at the step that quarantined them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from kernel import Plan, Run, StepContext, Summarizer, write_text_atomic
from kernel.events import StepCompleted, StepErrored
from kernel_report.files import OUTPUTS as OUTPUTS_FILE
from kernel_report.files import SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

STASH_KEY = "report"
MAX_REASONS = 100  # reasons kept per output (the most frequent); the rest are summed as "other"


def is_quarantine_name(output: str) -> bool:
    return output == "quarantine" or output.startswith("quarantine_") or output.endswith("_quarantine")


def is_counts_name(output: str) -> bool:
    return output == "counts" or output.endswith("_counts")


def declaration_problems(plan: Plan, declared: Collection[str]) -> list[str]:
    """One message per ``quarantine_outputs`` entry that names no output of the plan."""
    problems = []
    for n, ref in enumerate(declared):
        where = f"plugins.settings.report.quarantine_outputs.{n}"
        step, dot, output = ref.partition(".")
        if not dot or not step or not output:
            problems.append(f"{where}: expected 'step.output', got {ref!r}")
        elif step not in plan.steps:
            problems.append(f"{where}: no step '{step}'")
        elif output not in plan.steps[step].type.outputs:
            problems.append(f"{where}: step '{step}' has no output '{output}'")
    return problems


def by_reason(column: pd.Series) -> dict[str, Any] | None:
    """Rows per reason (null reason: ``None``), the most frequent first when there are many; None if uncountable."""
    try:
        counts = column.value_counts(dropna=False, sort=False)
    except TypeError:  # unhashable values (lists): not countable, so not counted
        return None
    pairs = [(None if _missing(reason) else str(reason), int(n)) for reason, n in counts.items()]
    result: dict[str, Any] = {}
    if len(pairs) > MAX_REASONS:
        pairs.sort(key=lambda p: -p[1])
        rest = pairs[MAX_REASONS:]
        pairs = pairs[:MAX_REASONS]
        result["other"] = {"reasons": len(rest), "rows": sum(n for _, n in rest)}
    result["reasons"] = [{"reason": reason, "rows": n} for reason, n in pairs]
    return result


def _missing(value: Any) -> bool:
    import pandas as pd  # here: checking a pipeline imports this module, and must not import pandas

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def counted_values(frame: pd.DataFrame) -> dict[str, int | float | None]:
    """The numbers of a one-row counts output, column by column (text columns are not counts)."""
    import pandas as pd

    values: dict[str, int | float | None] = {}
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            continue
        value = column.iloc[0]
        if _missing(value):
            values[str(name)] = None
        elif pd.api.types.is_integer_dtype(column.dtype):
            values[str(name)] = int(value)
        else:
            number = float(value)
            values[str(name)] = number if math.isfinite(number) else None
    return values


@dataclass(frozen=True, slots=True)
class Measured:
    """What a step's outputs hold, counted next to it: every output's entry, and those with figures."""

    outputs: dict[str, Any]
    figured: frozenset[str]


def measure(outputs: Mapping[str, pd.DataFrame], ctx: StepContext | None, *, quarantine: frozenset[str]) -> Measured:
    """The rows of every output; quarantine rows and rows by reason; the numbers of a counts output."""
    import pandas as pd

    measured: dict[str, Any] = {}
    figured = set()
    for output, frame in outputs.items():
        is_quarantine = output in quarantine
        reasons = "reason" in frame.columns
        counts = is_counts_name(output) and len(frame.index) == 1
        entry: dict[str, Any] = {"rows": len(frame.index)}
        if is_quarantine or reasons or counts:
            figured.add(output)
        if is_quarantine:
            entry["quarantine"] = True
        if reasons:
            column = frame["reason"]
            found = by_reason(column.iloc[:, 0] if isinstance(column, pd.DataFrame) else column)
            if found is not None:
                entry["by_reason"] = found
        if counts:
            entry["counts"] = counted_values(frame)
        measured[output] = entry
    return Measured(measured, frozenset(figured))


class OutputCounter:
    """The report writer's state for one run (``run.stash["report"]``); its methods are the run's listeners."""

    def __init__(self, run: Run, declared: Collection[str]) -> None:
        self.run = run
        self.declared = frozenset(declared)
        self.steps: dict[str, dict[str, Any]] = {}

    def is_quarantine(self, step: str, output: str) -> bool:
        if self._passed_on(step, output):
            return False
        return is_quarantine_name(output) or f"{step}.{output}" in self.declared

    def _passed_on(self, step: str, output: str) -> bool:
        """Whether ``output`` passes on the quarantine of the input of the same name: counted where it was made."""
        planned = self.run.plan.steps.get(step)
        source = planned.inputs.get(output) if planned is not None else None
        return source is not None and self.is_quarantine(*source)

    def summarizer(self, step: str) -> Summarizer:
        return partial(measure, quarantine=self._quarantine(step))

    def _quarantine(self, step: str) -> frozenset[str]:
        planned = self.run.plan.steps[step]
        return frozenset(output for output in planned.type.outputs if self.is_quarantine(step, output))

    def _measured(self, step: str, summaries: Mapping[str, Any], outputs: Mapping[str, pd.DataFrame]) -> Measured:
        found = next((v for v in summaries.values() if isinstance(v, Measured)), None)
        if found is None:  # not summarized next to the step (an event made by hand): from the frames here
            found = measure(outputs, None, quarantine=self._quarantine(step))
        return found

    # -- listeners ------------------------------------------------------------------------------

    def on_step_complete(self, sender: Run, *, event: StepCompleted, **extra: Any) -> None:
        name = event.step.name
        found = self._measured(name, event.summaries, event.outputs)
        measured = {output: entry for output, entry in found.outputs.items() if output in found.figured}
        if measured:
            self.steps[name] = {"status": "succeeded", "outputs": measured}

    def on_step_error(self, sender: Run, *, event: StepErrored, **extra: Any) -> None:
        if event.blocked:  # the outputs as judged, never passed on
            found = next((v for v in event.summaries.values() if isinstance(v, Measured)), None)
            if found is not None:
                self.steps[event.step.name] = {"status": "blocked", "outputs": found.outputs}

    def on_finish(self, sender: Run, **extra: Any) -> None:
        document = {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run.run_id,
            "quarantine_outputs": sorted(self.declared),
            "steps": self.steps,
        }
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
        write_text_atomic(self.run.run_dir / OUTPUTS_FILE, text + "\n")
