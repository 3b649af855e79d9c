"""What runs where a step runs: the attempt, and the plugins' work next to it (observers, judges,
summarizers). Everything here is a pure function of its arguments, so that an executor can ship it to
another process or machine; what it returns crosses back as values.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from kernel.context import StepVerdict
from kernel.errors import PluginError
from kernel.kept import FrameSummary, KeptFrame
from kernel.partitions import Combine, merge, split
from kernel.reuse import Judge, Judged, Judgement, ObservationFailed, Observer, Summarizer
from kernel.steps import StepContext
from kernel.tracebacks import Trace, trace_of

Frames = dict[str, pd.DataFrame]

# What a step returned (its outputs as judged, when anything ran next to it), or the error it raised, its
# context as the attempt left it (the files it reported, the writes it staged), what the plugins' observers
# saw, what their summarizers made of the judged outputs, and what their judges decided: values, so that
# they cross a process boundary.
Outcome = tuple[
    Any, BaseException | None, StepContext | None, Trace | None, dict[str, Any], dict[str, Any], tuple[Judgement, ...]
]
EMPTY: dict[str, Any] = {}  # never written to: the outcome of a step nothing ran next to


@dataclass(frozen=True, slots=True)
class NextTo:
    """What runs next to a step, in order: the plugins' observers (on the outputs as returned), judges and
    summarizers (on the outputs as judged); and what the outputs are checked against first."""

    declared: tuple[str, ...]
    plugin: str
    type_name: str
    observers: tuple[tuple[str, Observer], ...] = ()
    judges: tuple[tuple[str, Judge], ...] = ()
    summarizers: tuple[tuple[str, Summarizer], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.observers or self.judges or self.summarizers)


def attempt(
    func: Callable[..., Any],
    inputs: Frames,
    kwargs: Mapping[str, Any],
    delay: float,
    ships: bool = False,
    near: NextTo | None = None,
) -> Outcome:
    """One attempt of a step: a pure call, run wherever the executor runs it, and the plugins' work next to
    it on what it returned. Shipped back from another process, an error that would not survive the trip
    arrives as its text (its traceback kept)."""
    if delay:
        time.sleep(delay)
    ctx = kwargs.get("ctx")
    try:
        returned = func(inputs, **kwargs)
    except Exception as exc:
        error: Exception = exc
        if ships:
            try:
                pickle.loads(pickle.dumps(exc))
            except Exception:
                error = RuntimeError(f"{type(exc).__name__}: {exc}")
        return None, error, ctx, trace_of(exc, func), EMPTY, EMPTY, ()
    if not near:
        return returned, None, ctx, None, EMPTY, EMPTY, ()
    return next_to(near, returned, ctx)


def next_to(near: NextTo, returned: Any, ctx: StepContext | None) -> Outcome:
    """Check what a step returned, then call its observers, its judges and its summarizers on it."""
    try:
        outputs = outputs_of(returned, near.declared, near.plugin, near.type_name)
    except PluginError as exc:
        return None, exc, ctx, None, EMPTY, EMPTY, ()
    observed = call_each(near.observers, outputs, ctx)
    judged, judgements = _judge_here(near.judges, outputs, ctx)
    summaries = call_each(near.summarizers, judged, ctx)
    return dict(judged), None, ctx, None, observed, summaries, judgements


def call_each(
    functions: tuple[tuple[str, Callable[[Any, StepContext | None], Any]], ...],
    outputs: Frames,
    ctx: StepContext | None,
) -> dict[str, Any]:
    if not functions:
        return EMPTY
    found: dict[str, Any] = {}
    for plugin, function in functions:
        try:
            found[plugin] = function(outputs, ctx)
        except Exception as exc:
            found[plugin] = ObservationFailed(f"{type(exc).__name__}: {exc}")
    return found


def _judge_here(
    judges: tuple[tuple[str, Judge], ...], outputs: Frames, ctx: StepContext | None
) -> tuple[Judged, tuple[Judgement, ...]]:
    """The judges in order, each on the outputs as the ones before it left them; the first block stops them."""
    replaced: frozenset[str] = frozenset()  # not frozenset[str](): the generic alias costs 10x the call
    current, found = outputs, []
    for plugin, judge in judges:
        try:
            verdict = judge(MappingProxyType(current), ctx)
        except Exception as exc:
            found.append(Judgement(plugin, f"plugin '{plugin}' judge_step failed: {type(exc).__name__}: {exc}"))
            break
        if verdict is None:
            found.append(Judgement(plugin))
            continue
        if not isinstance(verdict, StepVerdict):
            found.append(Judgement(plugin, f"plugin '{plugin}' judge_step returned {verdict!r}, not a StepVerdict"))
            break
        unknown = [k for k, f in verdict.replace.items() if k not in current or not isinstance(f, pd.DataFrame)]
        if unknown:
            found.append(Judgement(plugin, f"plugin '{plugin}' replaced unknown output '{unknown[0]}'"))
            break
        if verdict.replace:
            current = {**current, **verdict.replace}
            replaced |= frozenset(verdict.replace)
        found.append(Judgement(plugin, verdict.blocked_because, verdict.findings, frozenset(verdict.replace)))
        if verdict.blocked_because:
            break
    return Judged(current, replaced), tuple(found)


def outputs_of(returned: Any, declared: tuple[str, ...], plugin: str, type_name: str) -> Frames:
    """A step's outputs by name, from what it returned; a :class:`PluginError` when they are not the ones its
    type declares."""
    if isinstance(returned, pd.DataFrame) and len(declared) == 1:
        return {declared[0]: returned}
    if returned is None and not declared:
        return {}
    where = f"step type '{type_name}'"
    if not isinstance(returned, Mapping):
        raise PluginError(plugin, f"{where} returned {type(returned).__name__}, not a mapping of DataFrames")
    if set(returned) != set(declared):
        raise PluginError(plugin, f"{where} returned outputs {sorted(returned)}, but declares {sorted(declared)}")
    for key, frame in returned.items():
        if not isinstance(frame, pd.DataFrame | KeptFrame):
            raise PluginError(plugin, f"{where} output '{key}' is {type(frame).__name__}, not a DataFrame")
    return dict(returned)


# -- under an executor that keeps frames on its workers (kernel.kept.Keeper) --------------------------


@dataclass(frozen=True, slots=True)
class KeptHead:
    """What the orchestrator receives of a kept attempt: its outcome with each output's summary in place
    of the frame, and the number of parts a partitioned step ran in."""

    outcome: Outcome
    parts: int | None = None


def _kept(outcome: Outcome, declared: tuple[str, ...], parts: int | None = None) -> tuple[KeptHead, tuple[Any, ...]]:
    outputs = outcome[0]
    if outcome[1] is not None or not isinstance(outputs, dict):
        return KeptHead((None, *outcome[1:]), parts), (None,) * len(declared)
    summaries = {key: FrameSummary.of(frame) for key, frame in outputs.items()}
    head = KeptHead((summaries, *outcome[1:]), parts)
    return head, tuple(outputs.get(key) for key in declared)


def attempt_kept(
    func: Callable[..., Any],
    inputs: Frames,
    kwargs: Mapping[str, Any],
    delay: float,
    ships: bool,
    near: NextTo,
) -> tuple[KeptHead, tuple[Any, ...]]:
    """:func:`attempt` on a worker that keeps the outputs: the head goes to the orchestrator, the frames stay."""
    outcome = attempt(func, inputs, kwargs, delay, ships, None)
    if outcome[1] is None:
        outcome = next_to(near, outcome[0], outcome[2])
    return _kept(outcome, near.declared)


Shared = Callable[[Mapping[str, pd.DataFrame], Mapping[str, Any]], dict[str, Any]]


def split_kept(
    inputs: Frames, by: Sequence[str], count: int, shared: Shared | None, settings: Mapping[str, Any]
) -> tuple[None, tuple[Any, ...]]:
    """Each part's inputs and what the parts share (``None`` for a part left empty; the error, for all,
    when the inputs cannot be split)."""
    try:
        extra = shared(MappingProxyType(inputs), MappingProxyType(dict(settings))) if shared is not None else {}
        parts: list[Any] = [(part, extra) for part in split(inputs, by, count)]
    except Exception as exc:
        return None, (exc,) * count
    return None, tuple(parts + [None] * (count - len(parts)))


def part_kept(
    func: Callable[..., Any],
    part: tuple[Frames, Mapping[str, Any]] | Exception | None,
    kwargs: Mapping[str, Any],
    delay: float,
    ships: bool,
) -> tuple[None, tuple[Outcome | None]]:
    """One part's attempt (its inputs, and what the parts share as more settings), kept whole on the worker
    for :func:`merge_kept`."""
    if part is None:
        return None, (None,)
    if isinstance(part, Exception):
        return None, ((None, part, None, None, EMPTY, EMPTY, ()),)
    frames, extra = part
    return None, (attempt(func, frames, {**kwargs, **extra} if extra else kwargs, delay, ships, None),)


def merge_kept(
    outcomes: Sequence[Outcome | None], combine: Combine | None, near: NextTo
) -> tuple[KeptHead, tuple[Any, ...]]:
    """The parts put together and judged next to them, as :func:`attempt_kept` gives one attempt."""
    ran = [o for o in outcomes if o is not None]
    merged = merge(ran, combine)
    if merged[1] is None:
        merged = next_to(near, merged[0], merged[2])
    return _kept(merged, near.declared, len(ran))
