"""The step graph as the run directory records it: from ``report-context.json`` (the report
writer's own), else from the tracker's ``lineage.json``."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from kernel import topology
from kernel_report.files import RunFiles, as_dict, as_list


@dataclass(frozen=True, slots=True)
class Edge:
    producer: str
    output: str
    consumer: str
    input: str


@dataclass(frozen=True, slots=True)
class StepGraph:
    steps: tuple[str, ...]
    uses: dict[str, str]
    edges: tuple[Edge, ...]
    source: str  # the file it was read from

    def digraph(self) -> nx.DiGraph[str]:
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self.steps)
        graph.add_edges_from((e.producer, e.consumer) for e in self.edges)
        return graph

    @property
    def sinks(self) -> tuple[str, ...]:
        producers = {e.producer for e in self.edges}
        return tuple(s for s in self.steps if s not in producers)

    @property
    def topology(self) -> str:
        return topology(self.digraph())


def step_graph(files: RunFiles) -> StepGraph | None:
    if files.context is not None:
        return _from_context(files.context)
    if files.lineage is not None:
        return _from_lineage(files.lineage)
    return None


def _from_context(context: dict[str, object]) -> StepGraph:
    steps, uses, edges = [], {}, []
    for item in as_list(context.get("steps")):
        step = as_dict(item)
        name = str(step.get("name", ""))
        steps.append(name)
        uses[name] = str(step.get("uses", ""))
        for key, ref in as_dict(step.get("needs")).items():
            producer, _, output = str(ref).partition(".")
            edges.append(Edge(producer, output, name, str(key)))
    return _checked(steps, uses, edges, "report-context.json")


def _from_lineage(lineage: dict[str, object]) -> StepGraph:
    steps, uses, edges = [], {}, []
    for item in as_list(lineage.get("steps")):
        step = as_dict(item)
        name = str(step.get("name", ""))
        steps.append(name)
        uses[name] = str(step.get("uses", ""))
        for ref in as_list(step.get("inputs")):
            ref = as_dict(ref)
            edges.append(Edge(str(ref.get("step", "")), str(ref.get("output", "")), name, str(ref.get("name", ""))))
    return _checked(steps, uses, edges, "lineage.json")


def _checked(steps: list[str], uses: dict[str, str], edges: list[Edge], source: str) -> StepGraph:
    known = set(steps)
    kept = tuple(e for e in edges if e.producer in known)  # an edge to nowhere is not drawn
    return StepGraph(tuple(steps), uses, kept, source)
