"""Partial runs: the steps a run is asked to run (``--from``, ``--to``, ``--only``, ``--tags``), and those it
must take from a cache because a chosen step needs what they give."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kernel.errors import PipelineError
from kernel.graph import Plan


@dataclass(frozen=True, slots=True)
class Selection:
    """What a partial run chose: every criterion given narrows the steps (they are intersected)."""

    from_steps: tuple[str, ...] = ()  # these steps and everything downstream of them
    to_steps: tuple[str, ...] = ()  # these steps and everything upstream of them
    only: tuple[str, ...] = ()  # these steps alone
    tags: tuple[str, ...] = ()  # the steps with any of these tags

    @classmethod
    def of(cls, options: Mapping[str, Sequence[str] | None]) -> Selection | None:
        made = cls(*(tuple(options.get(key) or ()) for key in ("from_steps", "to_steps", "only", "tags")))
        return made if any((made.from_steps, made.to_steps, made.only, made.tags)) else None

    def as_record(self) -> dict[str, list[str]]:
        given = {"from": self.from_steps, "to": self.to_steps, "only": self.only, "tags": self.tags}
        return {key: list(values) for key, values in given.items() if values}

    def chosen(self, plan: Plan) -> frozenset[str]:
        """The steps chosen; a name that is no step, or a tag no step has, is an error naming it."""
        import networkx as nx

        graph = plan.graph
        found = set(plan.steps)
        for option, names in (("--from", self.from_steps), ("--to", self.to_steps), ("--only", self.only)):
            for name in names:
                if name not in plan.steps:
                    raise PipelineError(f"{option} names step '{name}', which the pipeline does not have",
                                        file=plan.pipeline.source)
        if self.from_steps:
            found &= _closure(self.from_steps, lambda n: nx.descendants(graph, n))
        if self.to_steps:
            found &= _closure(self.to_steps, lambda n: nx.ancestors(graph, n))
        if self.only:
            found &= set(self.only)
        if self.tags:
            tagged = {name for name, p in plan.steps.items() if set(p.spec.tags) & set(self.tags)}
            known = ", ".join(sorted({t for p in plan.steps.values() for t in p.spec.tags})) or "none"
            for tag in self.tags:
                if not any(tag in p.spec.tags for p in plan.steps.values()):
                    raise PipelineError(f"--tags names tag '{tag}', which no step has (tags: {known})",
                                        file=plan.pipeline.source)
            found &= tagged
        if not found:
            raise PipelineError(f"the selection ({_describe(self)}) leaves no step to run", file=plan.pipeline.source)
        return frozenset(found)


def needed(plan: Plan, chosen: frozenset[str], stop: frozenset[str] = frozenset()) -> frozenset[str]:
    """The steps outside ``chosen`` whose outputs the chosen steps need, directly or through each other; the
    walk up stops at the steps in ``stop`` (their outputs are given: what is above them is not needed)."""
    if len(chosen) == len(plan.steps):
        return frozenset()
    graph = plan.graph
    above: set[str] = set()
    waiting = [producer for name in chosen - stop for producer in graph.predecessors(name)]
    while waiting:  # one walk up from every chosen step: linear in the graph, not in steps x ancestors
        name = waiting.pop()
        if name not in above:
            above.add(name)
            if name not in stop:
                waiting.extend(graph.predecessors(name))
    return frozenset(above - chosen)


def _closure(names: Iterable[str], more: Callable[[str], Iterable[str]]) -> set[str]:
    found: set[str] = set()
    for name in names:
        found |= {name, *more(name)}
    return found


def _describe(selection: Selection) -> str:
    return ", ".join(f"--{key} {','.join(values)}" for key, values in selection.as_record().items())
