"""The step graph: validation against registered step types, topology, and drawings."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from helpers import write_pipeline

from kernel import Kernel, PipelineError, StepSettingsError, load_pipeline, topology
from kernel.graph import to_dot, to_mermaid


def plan(kernel: Kernel, tmp_path: Path, steps: list[dict[str, object]]) -> object:
    return kernel.plan(load_pipeline(write_pipeline(tmp_path, steps)))


def test_steps_are_ordered_topologically_and_by_declaration(demo_kernel: Kernel, tmp_path: Path) -> None:
    result = plan(
        demo_kernel,
        tmp_path,
        [
            {"name": "late", "uses": "demo.concat", "needs": ["b", "a"]},
            {"name": "b", "uses": "demo.numbers"},
            {"name": "a", "uses": "demo.numbers"},
        ],
    )
    assert result.order == ("b", "a", "late")
    assert result.steps["late"].inputs == {"b": ("b", "out"), "a": ("a", "out")}


@pytest.mark.parametrize(
    ("edges", "nodes", "shape"),
    [
        ([("a", "b"), ("b", "c")], "abc", "linear"),
        ([], "a", "linear"),
        ([("a", "b"), ("a", "c"), ("b", "d")], "abcd", "fan-out"),
        ([("a", "c"), ("b", "c"), ("c", "d")], "abcd", "fan-in"),
        ([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], "abcd", "diamond"),
        ([("a", "b"), ("c", "d")], "abcd", "parallel"),
        ([("a", "c"), ("b", "c"), ("c", "d"), ("c", "e")], "abcde", "general"),
        ([("a", "b"), ("c", "d"), ("c", "e")], "abcde", "general"),
    ],
)
def test_topology_is_derived_from_the_graph(edges: list[tuple[str, str]], nodes: str, shape: str) -> None:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    assert topology(graph) == shape


@pytest.mark.parametrize(
    ("steps", "expected", "error"),
    [
        (
            [{"name": "a", "uses": "demo.numbrs"}],
            "step 'a': field 'uses': no plugin registers step type 'demo.numbrs'; did you mean demo.numbers",
            PipelineError,
        ),
        (
            [{"name": "a", "uses": "demo.numbers"}, {"name": "b", "uses": "demo.scale", "needs": ["c"]}],
            "step 'b': field 'needs.c': needs 'c', but no step is named 'c'",
            PipelineError,
        ),
        (
            [{"name": "a", "uses": "demo.numbers"}, {"name": "b", "uses": "demo.scale", "needs": ["a.nope"]}],
            "step 'b': field 'needs.nope': step 'a' has no output 'nope' (outputs: out)",
            PipelineError,
        ),
        (
            [
                {"name": "a", "uses": "demo.numbers"},
                {"name": "s", "uses": "demo.split", "needs": ["a"]},
                {"name": "b", "uses": "demo.scale", "needs": ["s"]},
            ],
            "step 'b': field 'needs.s': step 's' has outputs even, odd: name one as 's.OUTPUT'",
            PipelineError,
        ),
        (
            [
                {"name": "a", "uses": "demo.scale", "needs": ["c"]},
                {"name": "b", "uses": "demo.scale", "needs": ["a"]},
                {"name": "c", "uses": "demo.scale", "needs": ["b"]},
            ],
            "the steps form a cycle: a -> b -> c -> a",
            PipelineError,
        ),
        (
            [{"name": "a", "uses": "demo.numbers", "settings": {"n": "many"}}],
            "step 'a': field 'settings.n'",
            StepSettingsError,
        ),
    ],
)
def test_inconsistent_pipelines_are_refused_before_running(
    demo_kernel: Kernel, tmp_path: Path, steps: list[dict[str, object]], expected: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        plan(demo_kernel, tmp_path, steps)
    assert expected in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "pipeline.yaml"))


def test_settings_models_reject_unknown_settings(tmp_path: Path) -> None:
    from pydantic import BaseModel, ConfigDict

    from kernel import hookimpl, step

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = 1

    @step("t.sized", settings=Settings)
    def sized(inputs: object, *, size: int) -> object:
        raise AssertionError("not run")

    class Plugin:
        @hookimpl
        def register_steps(self) -> list[object]:
            return [sized]

    kernel = Kernel(entry_points=False, plugins=[("t", Plugin())])
    with pytest.raises(StepSettingsError, match=r"step 'a': field 'settings.colour': unknown setting"):
        plan(kernel, tmp_path, [{"name": "a", "uses": "t.sized", "settings": {"colour": 1}}])
    ok = plan(kernel, tmp_path, [{"name": "a", "uses": "t.sized", "settings": {"size": "3"}}])
    assert ok.steps["a"].kwargs == {"size": 3}


def test_mermaid_and_dot_show_every_step_and_edge(demo_kernel: Kernel, tmp_path: Path) -> None:
    result = plan(
        demo_kernel,
        tmp_path,
        [
            {"name": "src", "uses": "demo.numbers"},
            {"name": "parts", "uses": "demo.split", "needs": ["src"]},
            {"name": "e", "uses": "demo.scale", "needs": ["parts.even"]},
            {"name": "o", "uses": "demo.scale", "needs": ["parts.odd"]},
            {"name": "all", "uses": "demo.concat", "needs": {"x": "e", "y": "o"}},
        ],
    )
    assert result.topology == "diamond"
    mermaid = to_mermaid(result)
    assert mermaid.startswith("flowchart LR\n")
    assert "s_parts -->|even| s_e" in mermaid and "s_o -->|out| s_all" in mermaid
    dot = to_dot(result)
    assert '"parts" -> "o" [label="odd"];' in dot and dot.rstrip().endswith("}")
