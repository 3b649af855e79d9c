"""Running the checks of one step: a result per check, the rows to quarantine, and the gate.

Every check runs, whatever the others found. Checks on an output see it as the step returned it;
a reconciliation runs last and sees outputs as they go downstream (after quarantine).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from kernel import json_safe
from kernel_validator.checktype import FrameResult, RowMask
from kernel_validator.crossstep import Number, foreign_key, measure, reconcile
from kernel_validator.declare import Declared
from kernel_validator.refs import Ref
from kernel_validator.registry import FOREIGN_KEY, RECONCILE
from kernel_validator.results import CheckResult

EXTRA_COLUMNS = ("check_id", "reason", "run_id")


class Figures(Protocol):
    """What the run state captured from earlier steps; both raise LookupError with a readable message."""

    def values(self, ref: Ref) -> pd.Index[Any]: ...

    def number(self, ref: Ref) -> Number: ...


@dataclass(slots=True)
class StepOutcome:
    results: list[CheckResult] = field(default_factory=list)
    kept: dict[str, pd.DataFrame] = field(default_factory=dict)  # outputs with quarantined rows removed
    quarantined: dict[str, pd.DataFrame] = field(default_factory=dict)  # removed rows + check_id, reason, run_id
    moved: dict[tuple[str, str], int] = field(default_factory=dict)  # (output, check id) -> rows quarantined
    block: tuple[str, str] | None = None  # (check id, message)


@dataclass(slots=True)
class _Evaluation:
    result: CheckResult
    failed: np.ndarray[Any, np.dtype[np.bool_]] | None = None  # per row, for quarantine
    broken: bool = False  # the check could not be evaluated


def run_step(
    step: str,
    outputs: Mapping[str, pd.DataFrame],
    checks: Sequence[Declared],
    figures: Figures,
    *,
    run_id: str,
    samples: int,
) -> StepOutcome:
    evaluations: dict[int, _Evaluation] = {}
    for d in checks:
        if d.kind.name != RECONCILE:
            evaluations[d.index] = _timed(_on_output, d, outputs[d.output or ""], figures, samples)
    outcome = StepOutcome()
    _quarantine(outputs, checks, evaluations, run_id, outcome)
    current = {**outputs, **outcome.kept}
    for d in checks:
        if d.kind.name == RECONCILE:
            evaluations[d.index] = _timed(_reconcile, d, step, current, outcome.moved, figures)
    by_index = {d.index: d for d in checks}
    outcome.results = [evaluations[i].result for i in sorted(evaluations)]
    failing = [
        evaluations[i].result
        for i in sorted(evaluations)
        if not evaluations[i].result.passed
        and (by_index[i].gates or (evaluations[i].broken and by_index[i].severity == "error"))
    ]
    if failing:
        first = failing[0]
        message = f"check '{first.id}' failed: {first.message}"
        if len(failing) > 1:
            message += f" (and {len(failing) - 1} more: {', '.join(r.id for r in failing[1:])})"
        outcome.block = (first.id, message)
    return outcome


def _timed(evaluate: Callable[..., _Evaluation], *args: Any) -> _Evaluation:
    start = time.perf_counter()
    evaluation = evaluate(*args)
    evaluation.result = replace(evaluation.result, duration_s=time.perf_counter() - start)
    return evaluation


def _result(d: Declared, **fields: Any) -> CheckResult:
    base: dict[str, Any] = {
        "id": d.id,
        "step": d.step,
        "output": d.output,
        "check": d.kind.name,
        "severity": d.severity,
        "mostly": d.mostly,
        "action": d.action,
        "rows_checked": None,
        "rows_failed": None,
        "fraction_failed": None,
        "failing_values": (),
    }
    return CheckResult(**{**base, **fields})


def _broken(d: Declared, message: str) -> _Evaluation:
    return _Evaluation(_result(d, passed=False, message=f"{d.reason}: not evaluated: {message}"), broken=True)


def _on_output(d: Declared, frame: pd.DataFrame, figures: Figures, samples: int) -> _Evaluation:
    missing = [c for c in d.columns if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, frame.columns[:20])) + (", ..." if len(frame.columns) > 20 else "")
        return _broken(d, f"column '{missing[0]}' is not in output '{d.output}' (columns: {shown})")
    try:
        values = figures.values(d.ref) if d.kind.name == FOREIGN_KEY and d.ref is not None else None
    except LookupError as exc:
        return _broken(d, str(exc.args[0]) if exc.args else repr(exc))
    try:
        if values is not None:
            outcome: Any = foreign_key(frame, d.settings, values)  # type: ignore[arg-type]
        else:
            assert d.kind.check is not None
            outcome = d.kind.check.function(frame, d.settings)
    except Exception as exc:  # a check's own bug or bad data: the check fails and says why
        return _broken(d, f"the check raised {type(exc).__name__}: {exc}")
    if not d.kind.per_row:
        if not isinstance(outcome, FrameResult):
            return _broken(d, f"the check returned {type(outcome).__name__}, not a FrameResult")
        return _Evaluation(_frame_result(d, outcome))
    try:
        checked, failed = _rows(outcome, frame)
    except (TypeError, ValueError) as exc:
        return _broken(d, str(exc))
    return _Evaluation(_row_result(d, frame, checked, failed, samples), failed=failed)


def _rows(outcome: Any, frame: pd.DataFrame) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The rows checked and the rows failed, from a boolean outcome per row (NA: not checked)."""
    if isinstance(outcome, RowMask):
        if len(outcome.passed) != len(frame):
            raise ValueError(f"the check returned {len(outcome.passed)} values for {len(frame)} rows")
        if outcome.checked is None:
            return np.ones(len(frame), dtype=bool), ~outcome.passed
        return outcome.checked, outcome.checked & ~outcome.passed
    if isinstance(outcome, np.ndarray):
        outcome = pd.Series(outcome)
    if isinstance(outcome, pd.Series) and outcome.dtype == bool and len(outcome) == len(frame):
        return np.ones(len(frame), dtype=bool), ~outcome.to_numpy()
    if not isinstance(outcome, pd.Series):
        raise TypeError(f"the check returned {type(outcome).__name__}, not a boolean Series")
    if len(outcome) != len(frame):
        if not (frame.index.is_unique and outcome.index.isin(frame.index).all()):
            raise ValueError(f"the check returned {len(outcome)} values for {len(frame)} rows")
        outcome = outcome.reindex(frame.index)  # rows it left out are not checked
    try:
        flags = outcome.astype("boolean")
    except (TypeError, ValueError):
        raise TypeError(f"the check returned {outcome.dtype} values, not booleans") from None
    return flags.notna().to_numpy(), (~flags.fillna(True)).to_numpy(dtype=bool)


def _row_result(
    d: Declared, frame: pd.DataFrame, checked: np.ndarray[Any, Any], failed: np.ndarray[Any, Any], samples: int
) -> CheckResult:
    rows_checked, rows_failed = int(checked.sum()), int(failed.sum())
    fraction = rows_failed / rows_checked if rows_checked else 0.0
    if d.mostly is None:
        passed = rows_failed == 0
    else:
        passed = rows_checked == 0 or (rows_checked - rows_failed) / rows_checked >= d.mostly
    message = f"{rows_failed} of {rows_checked} rows failed"
    if rows_failed:
        message += f" ({fraction:.2%}): {d.reason}"
        if d.mostly is not None:
            message += f"; mostly {d.mostly:g} {'met' if passed else 'not met'}"
        if d.on_fail == "quarantine":
            message += "; moved to quarantine"
    return _result(
        d,
        passed=passed,
        rows_checked=rows_checked,
        rows_failed=rows_failed,
        fraction_failed=fraction,
        failing_values=_failing_values(frame, d.columns, failed, samples),
        message=message,
    )


def _frame_result(d: Declared, outcome: FrameResult) -> CheckResult:
    return _result(
        d,
        passed=bool(outcome.passed),
        rows_checked=outcome.rows_checked,
        failing_values=tuple(json_safe(v) for v in outcome.failing_values),
        message=outcome.message if outcome.passed else f"{d.reason}: {outcome.message}",
        observed=dict(outcome.observed),
    )


def _failing_values(
    frame: pd.DataFrame, columns: tuple[str, ...], failed: np.ndarray[Any, Any], samples: int
) -> tuple[Any, ...]:
    """Up to ``samples`` distinct values of the checked columns in failing rows (dicts for several columns)."""
    if not samples or not columns or not failed.any():
        return ()
    picked = frame.loc[failed, list(columns)]
    with contextlib.suppress(TypeError):  # unhashable values (lists, dicts): show the first ones
        picked = picked.drop_duplicates()
    rows = picked.head(samples).itertuples(index=False, name=None)
    if len(columns) == 1:
        return tuple(json_safe(row[0]) for row in rows)
    return tuple({c: json_safe(v) for c, v in zip(columns, row, strict=True)} for row in rows)


def _quarantine(
    outputs: Mapping[str, pd.DataFrame],
    checks: Sequence[Declared],
    evaluations: Mapping[int, _Evaluation],
    run_id: str,
    outcome: StepOutcome,
) -> None:
    """Move every row that failed a quarantine check of its output, labelled with the first such check."""
    for output, frame in outputs.items():
        movers = [
            (d, failed)
            for d in checks
            if d.output == output and d.on_fail == "quarantine"
            for failed in [evaluations[d.index].failed]
            if failed is not None
        ]
        if not movers:
            continue
        first = np.full(len(frame), -1)
        for position, (_, failed) in enumerate(movers):
            first[(first < 0) & failed] = position
        moved = first >= 0
        if not moved.any():
            continue
        rows = frame.iloc[np.flatnonzero(moved)]
        named_index = any(name is not None for name in rows.index.names)
        rows = rows.reset_index(drop=not named_index)
        rows = rows.rename(columns={c: f"{c}_original" for c in EXTRA_COLUMNS if c in rows.columns})
        labels = first[moved]
        ids = np.array([d.id for d, _ in movers], dtype=object)
        reasons = np.array([d.reason for d, _ in movers], dtype=object)
        rows = rows.assign(check_id=ids[labels], reason=reasons[labels], run_id=run_id)
        outcome.quarantined[output] = rows
        outcome.kept[output] = frame.iloc[np.flatnonzero(~moved)]
        for position, (d, _) in enumerate(movers):
            count = int((labels == position).sum())
            if count:
                outcome.moved[(output, d.id)] = count


def _reconcile(
    d: Declared,
    step: str,
    outputs: Mapping[str, pd.DataFrame],
    moved: Mapping[tuple[str, str], int],
    figures: Figures,
) -> _Evaluation:
    def number(term: Ref) -> Number:
        if term.step != step:
            return figures.number(term)
        if term.quarantined:
            return sum(n for (output, _), n in moved.items() if output == term.output)
        return measure(outputs[term.output or ""], term.column)

    try:
        left = [(str(t), number(t)) for t in d.left]
        right = [(str(t), number(t)) for t in d.right]
    except (LookupError, TypeError) as exc:
        return _broken(d, str(exc.args[0]) if exc.args else repr(exc))
    return _Evaluation(_frame_result(d, reconcile(d.settings, left, right)))  # type: ignore[arg-type]
