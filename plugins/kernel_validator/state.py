"""What the validator keeps for one run, in ``run.stash["validator"]``: the checks, the figures
captured from completed steps for later checks, and the results as they come.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from kernel import Run, StepVerdict, atomic_path, write_text_atomic
from kernel.events import StepCompleted
from kernel_validator.crossstep import Number, measure
from kernel_validator.declare import Declarations
from kernel_validator.engine import run_step
from kernel_validator.refs import Ref
from kernel_validator.registry import FOREIGN_KEY
from kernel_validator.results import Blocked, NotRun, QuarantineEntry, Results

STASH_KEY = "validator"
QUARANTINE_DIR = "quarantine"
VALIDATION_FILE = "validation.json"


class RunState:
    """The validator's state for one run; its methods are the run's listeners and its judge."""

    def __init__(self, run: Run, declarations: Declarations, *, samples: int) -> None:
        self.run = run
        self.samples = samples
        self.checks = declarations.by_step
        self.problems = {p.step: str(p) for p in reversed(declarations.problems)}  # the first per step
        self.results = Results(run.run_id)
        self._values: dict[Ref, pd.Index[Any] | str] = {}
        self._numbers: dict[Ref, Number | str] = {}
        self._quarantined: dict[tuple[str, str], int] = {}
        # What to capture when a step completes: unique values for foreign keys, numbers for reconciliations.
        self._wanted: dict[str, set[tuple[Ref, bool]]] = {}
        for d in declarations.all():
            if d.kind.name == FOREIGN_KEY and d.ref is not None:
                self._wanted.setdefault(d.ref.step, set()).add((d.ref, True))
            for term in (*d.left, *d.right):
                if not term.quarantined:
                    self._wanted.setdefault(term.step, set()).add((term, False))

    # -- figures from earlier steps (the engine's Figures protocol) ------------------------------

    def values(self, ref: Ref) -> pd.Index[Any]:
        found = self._values.get(ref)
        if isinstance(found, pd.Index):
            return found
        raise LookupError(found or f"no values of {ref.where}.{ref.column} were captured")

    def number(self, ref: Ref) -> Number:
        if ref.quarantined:
            return self._quarantined.get((ref.step, ref.output or ""), 0)
        found = self._numbers.get(ref)
        if isinstance(found, int | float):
            return found
        raise LookupError(found or f"'{ref}' was not captured")

    # -- listeners ----------------------------------------------------------------------------

    def on_step_complete(self, sender: Run, *, event: StepCompleted, **extra: Any) -> None:
        wanted = self._wanted.get(event.step.name)
        if not wanted:
            return
        for ref, unique_values in wanted:
            frame = event.outputs[ref.output or ""]
            try:
                if unique_values:
                    column = ref.column or ""
                    if column not in frame.columns:
                        raise KeyError(f"column '{column}' is not in {ref.where}")
                    self._values[ref] = pd.Index(frame[column].dropna().unique())
                else:
                    self._numbers[ref] = measure(frame, ref.column)
            except (KeyError, TypeError) as exc:
                message = str(exc.args[0]) if exc.args else repr(exc)
                (self._values if unique_values else self._numbers)[ref] = f"'{ref}': {message}"

    def on_finish(self, sender: Run, **extra: Any) -> None:
        ran = {r.step for r in self.results.checks}
        for step, checks in self.checks.items():
            if step in ran:
                continue
            record = self.run.record.steps.get(step)
            status = record.status if record is not None else "unknown"
            for d in checks:
                self.results.not_run.append(NotRun(d.id, step, d.kind.name, f"step {status}"))
        document = json.dumps(self.results.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
        write_text_atomic(self.run.run_dir / VALIDATION_FILE, document + "\n")

    # -- the gate -----------------------------------------------------------------------------

    def judge(self, step: str, outputs: dict[str, pd.DataFrame]) -> StepVerdict | None:
        if step in self.problems:  # a check that could not be set up: do not let the data through unchecked
            self.results.blocked.append(Blocked(step, None, self.problems[step]))
            return StepVerdict(blocked_because=self.problems[step])
        checks = self.checks.get(step)
        if not checks:
            return None
        outcome = run_step(step, outputs, checks, self, run_id=self.run.run_id, samples=self.samples)
        self.results.checks.extend(outcome.results)
        reasons = {d.id: d.reason for d in checks}
        for output, rows in outcome.quarantined.items():
            relative = f"{QUARANTINE_DIR}/{step}.{output}.parquet"
            try:
                with atomic_path(self.run.run_dir / relative) as tmp:
                    rows.to_parquet(tmp, index=False)
            except Exception as exc:  # rows that cannot be kept must not be dropped: stop the data here
                message = f"cannot write the quarantine table {relative}: {type(exc).__name__}: {exc}"
                self.results.blocked.append(Blocked(step, None, message))
                return StepVerdict(blocked_because=message)
            self._quarantined[(step, output)] = len(rows)
            for (moved_from, check_id), count in outcome.moved.items():
                if moved_from == output:
                    entry = QuarantineEntry(step, output, check_id, reasons[check_id], count, relative)
                    self.results.quarantine.append(entry)
        block = None
        if outcome.block is not None:
            check_id, block = outcome.block
            self.results.blocked.append(Blocked(step, check_id, block))
        if not outcome.kept and block is None:
            return None
        return StepVerdict(replace=outcome.kept, blocked_because=block)
