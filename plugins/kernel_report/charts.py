"""Charts as SVG text: horizontal bars and the step graph.

Written directly rather than through a plotting library: matplotlib took about 0.7 s of every run's
0.8 s of report (importing it, then drawing three charts), and these shapes are a few rectangles, lines
and labels. The same data always gives the same text (no ids, no timestamps, no scripts), so a rebuilt
report is identical to the first; every label is escaped as XML text, so a name is drawn as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape as _escape


def escape(text: str) -> str:
    """``text`` as XML character data: ``&``, ``<`` and ``>`` escaped (``xml.sax.saxutils`` would import
    urllib.request and http.client, 4 ms of every run's start)."""
    return _escape(text, quote=False)


MAX_BARS = 40
MAX_NODES = 60
COLORS = ("#0969da", "#bf8700", "#1a7f37", "#8250df", "#cf222e", "#57606a")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'
_CHAR = 6.6  # width of one character at 12 px, near enough to lay out labels
_ROW = 18  # height of one bar, px


def _label(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "normal",
          fill: str = "#1f2328") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill}">{escape(text)}</text>')


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} role="img">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>\n")


def _ticks(largest: float) -> list[float]:
    """Round tick values from 0 to at least ``largest``: 1, 2 or 5 times a power of ten apart."""
    if largest <= 0 or not math.isfinite(largest):
        return [0.0, 1.0]
    raw = largest / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(largest / step - 1e-9) + 1)]


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def bars(labels: Sequence[str], series: Mapping[str, Sequence[float]], xlabel: str, title: str) -> str:
    """Horizontal bars, one group per label, one bar per series (in order), on one axis from zero."""
    names = list(series)
    values = [float(v) for s in series.values() for v in s if v is not None and math.isfinite(float(v))]
    ticks = _ticks(max(values, default=0.0))
    shown = [_label(x) for x in labels]
    left = 12 + _CHAR * max((len(x) for x in shown), default=4)
    plot = 520.0
    legend = 24 if len(names) > 1 else 0
    group = _ROW * max(1, len(names)) + 8
    top = 34 + legend
    height = top + group * len(labels) + 46
    width = left + plot + 40
    scale = plot / ticks[-1]
    body = [_text(width / 2, 20, _label(title, 80), anchor="middle", size=14, weight="600")]
    for n, name in enumerate(names if legend else ()):
        x = left + n * 150
        body.append(f'<rect x="{x:.1f}" y="30" width="12" height="12" fill="{COLORS[n % len(COLORS)]}"/>')
        body.append(_text(x + 16, 40, _label(name, 18)))
    bottom = top + group * len(labels)
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#d0d7de"/>')
        body.append(_text(x, bottom + 16, _number(tick), anchor="middle", size=11, fill="#57606a"))
    for i, label in enumerate(shown):
        y0 = top + i * group + 4
        body.append(_text(left - 8, y0 + group / 2, label, anchor="end"))
        for n, name in enumerate(names):
            value = series[name][i]
            if value is None or not math.isfinite(float(value)):
                continue
            length = max(0.0, float(value)) * scale
            color = COLORS[n % len(COLORS)]
            body.append(f'<rect x="{left:.1f}" y="{y0 + n * _ROW:.1f}" width="{length:.1f}" height="{_ROW - 4}" '
                        f'fill="{color}"><title>{escape(f"{label} {name}: {_number(float(value))}")}</title></rect>')
    body.append(f'<line x1="{left:.1f}" y1="{top - 4}" x2="{left:.1f}" y2="{bottom}" stroke="#57606a"/>')
    body.append(_text(left + plot / 2, bottom + 36, _label(xlabel, 80), anchor="middle", fill="#57606a"))
    return _svg(width, height, body, title)


def dag(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> str:
    """The step graph, left to right, one column per generation of the topological order."""
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    layers = [list(layer) for layer in nx.topological_generations(graph)]
    order = {name: i for i, name in enumerate(nodes)}
    shown = {name: _label(name, 24) for name in nodes}
    box_w = 24 + _CHAR * max((len(t) for t in shown.values()), default=4)
    box_h, gap_x, gap_y = 30.0, 56.0, 16.0
    tallest = max((len(layer) for layer in layers), default=1)
    height = tallest * (box_h + gap_y) + gap_y
    width = len(layers) * (box_w + gap_x) - gap_x + 2 * gap_y
    at: dict[str, tuple[float, float]] = {}  # the box's left and top
    for x, layer in enumerate(layers):
        offset = (tallest - len(layer)) * (box_h + gap_y) / 2
        for y, name in enumerate(sorted(layer, key=order.__getitem__)):
            at[name] = (gap_y + x * (box_w + gap_x), gap_y + offset + y * (box_h + gap_y))
    body = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>']
    for u, v in edges:
        (ux, uy), (vx, vy) = at[u], at[v]
        x1, y1, x2, y2 = ux + box_w, uy + box_h / 2, vx, vy + box_h / 2
        middle = (x1 + x2) / 2
        # A curve, so that an edge skipping a column does not run straight through the boxes between.
        body.append(f'<path d="M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                    'fill="none" stroke="#57606a" stroke-width="1.2" marker-end="url(#arrow)"/>')
    for name, (left, top) in at.items():
        body.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{box_w:.1f}" height="{box_h:.0f}" rx="6" '
                    'fill="#ddf4ff" stroke="#0969da"/>')
        body.append(_text(left + box_w / 2, top + box_h / 2 + 4, shown[name], anchor="middle"))
    return _svg(width, height, body, "The step graph, left to right")
