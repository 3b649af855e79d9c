"""Charts as PNG bytes, drawn with matplotlib's Agg canvas (no pyplot: no global state, no display).

The same data always gives the same bytes (no timestamps in the PNG), so a rebuilt report is
identical to the first.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ParamSpec

import networkx as nx

if TYPE_CHECKING:
    from matplotlib.figure import Figure

P = ParamSpec("P")
MAX_BARS = 40
MAX_NODES = 60


def _label(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_text(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """Draw with math text off: a label is text, so '$x_{$' is drawn as it is instead of raising."""

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> bytes:
        import matplotlib  # here: matplotlib takes a second to import, and most kernel commands draw nothing

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawn


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    return buf.getvalue()


@_as_text
def bars(labels: Sequence[str], series: Mapping[str, Sequence[float]], xlabel: str, title: str) -> bytes:
    """Horizontal bars, one group per label, one bar per series (in order)."""
    height = max(2.0, 0.35 * len(labels) * max(1, len(series)) + 1.2)
    fig = _figure(8, height)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    positions = range(len(labels))
    for n, (name, values) in enumerate(series.items()):
        offsets = [p + n * width - 0.4 + width / 2 for p in positions]
        ax.barh(offsets, values, height=width, label=_label(name))
    ax.set_yticks(list(positions), [_label(x) for x in labels])
    ax.invert_yaxis()
    ax.set_xlabel(_label(xlabel, 80))
    ax.set_title(_label(title, 80))
    if len(series) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


@_as_text
def dag(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> bytes:
    """The step graph, left to right, one column per generation of the topological order."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    layers = [list(layer) for layer in nx.topological_generations(graph)]
    order = {name: i for i, name in enumerate(nodes)}
    column = {name: x for x, layer in enumerate(layers) for name in layer}
    pos: dict[str, tuple[float, float]] = {}
    for x, layer in enumerate(layers):
        for y, name in enumerate(sorted(layer, key=order.__getitem__)):
            pos[name] = (float(x), -float(y) + (len(layer) - 1) / 2)
    tallest = float(max((len(layer) for layer in layers), default=1))
    fig = _figure(max(4.0, 1.9 * len(layers)), max(1.6, 0.9 * tallest + 0.8))
    ax = fig.add_subplot()
    for u, v in edges:
        # An edge that skips a column bends, so it does not run through the boxes between.
        bend = 0.0 if column[v] - column[u] <= 1 else 0.3
        ax.annotate(
            "",
            xy=pos[v],
            xytext=pos[u],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#57606a",
                "shrinkA": 22,
                "shrinkB": 22,
                "connectionstyle": f"arc3,rad={bend}",
            },
        )
    for name, (px, py) in pos.items():
        ax.text(
            px,
            py,
            _label(name, 24),
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#ddf4ff", "edgecolor": "#0969da"},
        )
    ax.set_xlim(-0.6, len(layers) - 0.4)
    ax.set_ylim(-(tallest / 2) - 0.1, tallest / 2 + 0.1)
    ax.axis("off")
    return _png(fig)
