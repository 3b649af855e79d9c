"""Check declarations: every step's ``checks:`` read, validated against the plan, and given an id.

A problem is one line naming the step and the field (``checks.2.pattern``); :func:`declare` goes on
after a problem so that all of them can be listed, and keeps only the checks that are sound.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel import Plan, validation_problem
from kernel_validator.builtin import ForeignKey, Reconcile
from kernel_validator.checktype import CHECKS, checked_columns
from kernel_validator.refs import Ref, parse_ref, parse_term
from kernel_validator.registry import RECONCILE, Kind

M = TypeVar("M", bound=BaseModel)


class Common(BaseModel):
    """The fields every check has; the rest belong to the check type."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    check: str
    id: str | None = Field(None, min_length=1)
    output: str | None = None
    severity: Literal["error", "warn"] = "error"
    mostly: float | None = Field(None, gt=0, le=1)
    on_fail: Literal["fail", "quarantine"] = "fail"


COMMON_FIELDS = tuple(Common.model_fields)


@dataclass(frozen=True, slots=True)
class Declared:
    """One sound check of one step."""

    id: str
    step: str
    index: int
    kind: Kind
    settings: BaseModel
    output: str | None  # None for a reconciliation, which names its outputs itself
    severity: str
    mostly: float | None
    on_fail: str
    reason: str
    columns: tuple[str, ...]
    ref: Ref | None = None  # foreign_key: the referenced output, with the referenced column
    left: tuple[Ref, ...] = ()
    right: tuple[Ref, ...] = ()

    @property
    def action(self) -> str:
        """What a failure of this check does: quarantine its rows, record a warning, or fail the step."""
        if self.on_fail == "quarantine":
            return "quarantine"
        return "warn" if self.severity == "warn" else "fail"

    @property
    def gates(self) -> bool:
        """Whether a failure blocks the step: error severity, unless the rows are quarantined within ``mostly``."""
        return self.severity == "error" and (self.on_fail == "fail" or self.mostly is not None)


@dataclass(slots=True)
class Declarations:
    by_step: dict[str, list[Declared]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def all(self) -> list[Declared]:
        return [d for checks in self.by_step.values() for d in checks]


class Problem(Exception):
    """A check that cannot run as declared, in one line naming the step and the field."""

    def __init__(self, step: str, where: str, message: str) -> None:
        self.step = step
        super().__init__(f"step '{step}': field '{where}': {' '.join(message.split())}")


def declare(plan: Plan, kinds: Mapping[str, Kind]) -> Declarations:
    result = Declarations()
    seen: dict[str, str] = {}
    for spec in plan.pipeline.steps:
        checks = plan.steps[spec.name].fields.get(CHECKS) or ()
        if not checks:
            continue
        upstream = _Upstream(plan, spec.name)
        for index, raw in enumerate(checks):
            try:
                declared = _one(plan, kinds, spec.name, index, raw, upstream)
                if declared.id in seen:
                    raise Problem(
                        spec.name, f"checks.{index}.id", f"id '{declared.id}' is taken by {seen[declared.id]}; set 'id'"
                    )
            except Problem as problem:
                result.problems.append(problem)
                continue
            seen[declared.id] = f"check {index} of step '{spec.name}'"
            result.by_step.setdefault(spec.name, []).append(declared)
    _quarantine_terms(result)
    return result


class _Upstream:
    """The steps upstream of one step, found only if a check refers to another step (a graph walk)."""

    def __init__(self, plan: Plan, step: str) -> None:
        self.plan, self.step = plan, step
        self._found: set[str] | None = None

    def __contains__(self, other: object) -> bool:
        if self._found is None:
            import networkx as nx

            self._found = nx.ancestors(self.plan.graph, self.step)
        return other in self._found


def _quarantine_terms(result: Declarations) -> None:
    # A term quarantine/STEP.OUTPUT needs a check that quarantines rows of that output.
    quarantining = {(d.step, d.output) for d in result.all() if d.on_fail == "quarantine"}
    for checks in result.by_step.values():
        for d in list(checks):
            for side, terms in (("left", d.left), ("right", d.right)):
                for position, term in enumerate(terms):
                    if term.quarantined and (term.step, term.output) not in quarantining:
                        message = f"'{term}': no check of output '{term.where}' has on_fail: quarantine"
                        result.problems.append(Problem(d.step, f"checks.{d.index}.{side}.{position}", message))
                        if d in checks:
                            checks.remove(d)


def _one(
    plan: Plan,
    kinds: Mapping[str, Kind],
    step: str,
    index: int,
    raw: Mapping[str, Any],
    upstream: _Upstream,
) -> Declared:
    where = f"checks.{index}"
    data = dict(raw)  # the kernel has substituted ${params.*} and ${pipeline.dir} already
    name = data.get("check")
    if not isinstance(name, str):
        known = ", ".join(sorted(kinds))
        raise Problem(step, f"{where}.check", f"required: the kind of check (one of {known})")
    kind = kinds.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, list(kinds), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"the checks are {', '.join(sorted(kinds))}"
        raise Problem(step, f"{where}.check", f"unknown check '{name}'; {hint}")
    common = _validate(Common, {k: v for k, v in data.items() if k in COMMON_FIELDS}, step, where, ())
    own = {k: v for k, v in data.items() if k not in COMMON_FIELDS}
    settings = _validate(kind.settings, own, step, where, (*COMMON_FIELDS, *kind.settings.model_fields))
    if not kind.per_row:
        for option, default in (("mostly", None), ("on_fail", "fail")):
            if getattr(common, option) != default:
                message = f"applies to row checks only; '{name}' judges the whole output"
                raise Problem(step, f"{where}.{option}", message)
    output = None
    if kind.name == RECONCILE:
        if common.output is not None:
            raise Problem(step, f"{where}.output", "a reconcile check names its outputs in 'left' and 'right'")
    else:
        output = _own_output(plan, step, f"{where}.output", common.output)
    ref: Ref | None = None
    left: tuple[Ref, ...] = ()
    right: tuple[Ref, ...] = ()
    if isinstance(settings, ForeignKey):
        ref = _resolve(plan, step, f"{where}.ref", parse_ref(settings.ref), upstream, itself=False)
        ref = Ref(ref.step, ref.output, settings.target_column)
    if isinstance(settings, Reconcile):
        left, right = (
            tuple(
                _resolve(plan, step, f"{where}.{side}.{i}", parse_term(text), upstream, itself=True)
                for i, text in enumerate(terms)
            )
            for side, terms in (("left", settings.left), ("right", settings.right))
        )
    columns = checked_columns(settings)
    if kind.name == RECONCILE:
        part = f"reconcile({'+'.join(map(str, left))}={'+'.join(map(str, right))})"
    else:
        part = f"{name}({','.join(columns)})" if columns else name
    derived = f"{step}.{output}.{part}" if output else f"{step}.{part}"
    try:
        reason = kind.describe(settings)
    except Exception as exc:  # a plugin's reason function
        message = f"check type '{name}' cannot phrase its reason: {type(exc).__name__}: {exc}"
        raise Problem(step, where, message) from None
    return Declared(
        id=common.id or derived,
        step=step,
        index=index,
        kind=kind,
        settings=settings,
        output=output,
        severity=common.severity,
        mostly=common.mostly,
        on_fail=common.on_fail,
        reason=reason,
        columns=columns,
        ref=ref,
        left=left,
        right=right,
    )


def _validate(
    model: type[M], data: Mapping[str, Any], step: str, where: str, known: tuple[str, ...]
) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        field, message = validation_problem(exc, known=known)
        raise Problem(step, ".".join(filter(None, [where, field])), message) from None
    except Exception as exc:  # a plugin's settings model may raise anything
        raise Problem(step, where, f"{type(exc).__name__}: {exc}") from None


def _own_output(plan: Plan, step: str, where: str, output: str | None) -> str:
    outputs = plan.steps[step].type.outputs
    if output is None:
        if len(outputs) == 1:
            return outputs[0]
        if not outputs:
            raise Problem(step, where, f"step type '{plan.steps[step].type.name}' has no outputs to check")
        raise Problem(step, where, f"the step has outputs {', '.join(outputs)}: name one in 'output'")
    if output not in outputs:
        raise Problem(step, where, f"the step has no output '{output}' (outputs: {', '.join(outputs) or 'none'})")
    return output


def _resolve(plan: Plan, step: str, where: str, ref: Ref, upstream: _Upstream, *, itself: bool) -> Ref:
    """The referenced output, which must exist and be ready when ``step`` is checked."""
    if ref.step not in plan.steps:
        close = difflib.get_close_matches(ref.step, list(plan.steps), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise Problem(step, where, f"'{ref}': no step is named '{ref.step}'{hint}")
    if not (ref.step in upstream or (itself and ref.step == step)):
        raise Problem(
            step,
            where,
            f"'{ref}': step '{ref.step}' is not upstream of '{step}', so its output is not ready when '{step}' "
            f"is checked; declare the check on a step that depends on both",
        )
    outputs = plan.steps[ref.step].type.outputs
    output = ref.output
    if output is None:
        if len(outputs) != 1:
            raise Problem(step, where, f"'{ref}': step '{ref.step}' has outputs {', '.join(outputs)}: name one")
        output = outputs[0]
    elif output not in outputs:
        raise Problem(
            step, where, f"'{ref}': step '{ref.step}' has no output '{output}' (outputs: {', '.join(outputs)})"
        )
    return ref.resolved(output)


