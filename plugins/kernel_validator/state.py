"""What the validator keeps for one run, in ``run.stash["validator"]``: the checks, the figures
captured from completed steps for later checks, and the results as they come.

A step's checks run next to the step (``judge_step``: in the worker under an executor that ships steps),
given the figures captured so far; the figures a later check needs are captured there too
(``summarize_step``). What comes back is small: the check results and the rejected rows, which the
orchestrator writes into the run directory (``after_step_run``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from kernel import Judge, Run, StepContext, StepVerdict, Summarizer, atomic_path, write_text_atomic
from kernel.events import StepCompleted
from kernel_validator.crossstep import Number, measure
from kernel_validator.declare import Declarations, Declared
from kernel_validator.engine import StepOutcome, run_step
from kernel_validator.refs import Ref
from kernel_validator.registry import FOREIGN_KEY
from kernel_validator.results import Blocked, NotRun, QuarantineEntry, Results

QUARANTINE_DIR = "quarantine"
VALIDATION_FILE = "validation.json"


Wanted = frozenset[tuple[Ref, bool]]  # (what, unique values rather than a number)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures captured from earlier steps, as a step's checks read them (the engine's Figures)."""

    values_of: Mapping[Ref, pd.Index[Any] | str] = field(default_factory=dict)
    numbers_of: Mapping[Ref, Number | str] = field(default_factory=dict)
    quarantined: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def values(self, ref: Ref) -> pd.Index[Any]:
        found = self.values_of.get(ref)
        if isinstance(found, pd.Index):
            return found
        raise LookupError(found or f"no values of {ref.where}.{ref.column} were captured")

    def number(self, ref: Ref) -> Number:
        if ref.quarantined:
            return self.quarantined.get((ref.step, ref.output or ""), 0)
        found = self.numbers_of.get(ref)
        if isinstance(found, int | float):
            return found
        raise LookupError(found or f"'{ref}' was not captured")


@dataclass(frozen=True, slots=True)
class Captured:
    """What a step's outputs gave for later checks (``summarize_step``): values and numbers, or why not."""

    values: dict[Ref, pd.Index[Any] | str]
    numbers: dict[Ref, Number | str]


def capture(outputs: Mapping[str, pd.DataFrame], ctx: StepContext | None, *, wanted: Wanted) -> Captured:
    """Next to a step: the unique values and numbers later checks read from its outputs as judged."""
    found = Captured({}, {})
    for ref, unique_values in wanted:
        frame = outputs[ref.output or ""]
        try:
            if unique_values:
                column = ref.column or ""
                if column not in frame.columns:
                    raise KeyError(f"column '{column}' is not in {ref.where}")
                found.values[ref] = pd.Index(frame[column].dropna().unique())
            else:
                found.numbers[ref] = measure(frame, ref.column)
        except (KeyError, TypeError) as exc:
            message = str(exc.args[0]) if exc.args else repr(exc)
            (found.values if unique_values else found.numbers)[ref] = f"'{ref}': {message}"
    return found


@dataclass(frozen=True, slots=True)
class Found:
    """What a step's checks found next to it: the results, the rejected rows, and what blocks it."""

    outcome: StepOutcome


def check(
    outputs: Mapping[str, pd.DataFrame],
    ctx: StepContext | None,
    *,
    step: str,
    checks: tuple[Declared, ...],
    figures: Figures,
    run_id: str,
    samples: int,
) -> StepVerdict:
    """Next to a step: run its checks; the rows that passed replace the outputs there."""
    outcome = run_step(step, outputs, checks, figures, run_id=run_id, samples=samples)
    kept, outcome.kept = outcome.kept, {}  # the frames stay here: only what was found goes back
    block = outcome.block[1] if outcome.block is not None else None
    return StepVerdict(replace=kept, blocked_because=block, findings=Found(outcome))


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
        wanted: dict[str, set[tuple[Ref, bool]]] = {}
        for d in declarations.all():
            if d.kind.name == FOREIGN_KEY and d.ref is not None:
                wanted.setdefault(d.ref.step, set()).add((d.ref, True))
            for term in (*d.left, *d.right):
                if not term.quarantined:
                    wanted.setdefault(term.step, set()).add((term, False))
        self._wanted: dict[str, Wanted] = {step: frozenset(refs) for step, refs in wanted.items()}

    # -- next to the step ---------------------------------------------------------------------

    def figures(self) -> Figures:
        """The figures captured so far, as the next step's checks will read them."""
        return Figures(dict(self._values), dict(self._numbers), dict(self._quarantined))

    def judge(self, step: str) -> Judge | None:
        """The function that checks ``step`` next to it, with the figures captured so far; ``None`` without checks."""
        checks = self.checks.get(step)
        if not checks or step in self.problems:
            return None
        return partial(check, step=step, checks=tuple(checks), figures=self.figures(), run_id=self.run.run_id,
                       samples=self.samples)

    def summarizer(self, step: str) -> Summarizer | None:
        wanted = self._wanted.get(step)
        return partial(capture, wanted=wanted) if wanted else None

    # -- listeners ----------------------------------------------------------------------------

    def on_step_complete(self, sender: Run, *, event: StepCompleted, **extra: Any) -> None:
        wanted = self._wanted.get(event.step.name)
        if not wanted:
            return
        found = next((v for v in event.summaries.values() if isinstance(v, Captured)), None)
        if found is None:  # not summarized next to the step (an event made by hand): from the frames here
            found = capture(event.outputs, None, wanted=wanted)
        self._values.update(found.values)
        self._numbers.update(found.numbers)

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

    def judged(self, step: str, findings: Any) -> StepVerdict | None:
        """``after_step_run``: keep what the checks found next to the step; block it on a check that could
        not be set up, or when its rejected rows cannot be kept."""
        if step in self.problems:  # a check that could not be set up: do not let the data through unchecked
            self.results.blocked.append(Blocked(step, None, self.problems[step]))
            return StepVerdict(blocked_because=self.problems[step])
        checks = self.checks.get(step)
        if not checks:
            return None
        if not isinstance(findings, Found):
            raise RuntimeError(f"the checks of step '{step}' did not run next to it (no findings came back)")
        outcome = findings.outcome
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
        if outcome.block is not None:
            check_id, block = outcome.block
            self.results.blocked.append(Blocked(step, check_id, block))
        return None  # a block found next to the step has already blocked it
