"""The step graph as ``run.json`` records it (every step with its ``needs``)."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from kernel import topology
from kernel_report.files import RunFiles, as_dict


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


def step_graph(files: RunFiles) -> StepGraph:
    """The step graph of the run, from ``run.json``: each step's type and the outputs it reads (``needs``)."""
    steps, uses, edges = [], {}, []
    for name, item in as_dict(files.record.get("steps")).items():
        step = as_dict(item)
        steps.append(str(name))
        uses[str(name)] = str(step.get("uses", ""))
        for key, ref in as_dict(step.get("needs")).items():
            producer, _, output = str(ref).partition(".")
            edges.append(Edge(producer, output, str(name), str(key)))
    known = set(steps)
    kept = tuple(e for e in edges if e.producer in known)  # an edge to nowhere is not drawn
    return StepGraph(tuple(steps), uses, kept)
