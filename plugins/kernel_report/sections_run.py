"""The sections about the run itself: business context, architecture, execution, steps, status."""

from __future__ import annotations

from collections import Counter

from kernel import signals
from kernel_report import charts
from kernel_report.blocks import Block, Cell, Code, Image, Part, Table, Text, Tiles
from kernel_report.dag import step_graph
from kernel_report.escape import DASH
from kernel_report.figures import facts, plain, rows_text, rows_total, seconds
from kernel_report.files import CONTEXT, RunFiles, as_dict, as_int, as_list

NO_CONTEXT = (
    f"{CONTEXT} is absent: the report writer did not take part in this run, so the pipeline file's "
    "business context and the plan were not recorded."
)
STATUS_ORDER = ("succeeded", "failed", "blocked", "skipped", "running", "pending")


def business_context(files: RunFiles) -> Part:
    record, context = files.record, files.context
    blocks: list[Block] = []
    if context is None:
        blocks += [Text(NO_CONTEXT), facts([("pipeline", plain(record.get("pipeline")))])]
    else:
        blocks.append(
            facts(
                [
                    ("pipeline", plain(context.get("pipeline"))),
                    ("description", plain(context.get("description")) or None),
                    ("domain", plain(context.get("domain")) or None),
                    ("archetype", plain(context.get("archetype")) or None),
                    ("shape", plain(context.get("shape")) or None),
                ]
            )
        )
        kpis = [as_dict(k) for k in as_list(context.get("kpis"))]
        if kpis:
            rows = tuple((plain(k.get("name")), plain(k.get("description")) or None) for k in kpis)
            blocks.append(Table(("KPI", "description"), rows, "The KPIs the pipeline file declares."))
        else:
            blocks.append(Text("The pipeline file declares no KPIs."))
    params = as_dict(record.get("params"))
    if params:
        rows = tuple((str(k), DASH if v is None else plain(v)) for k, v in params.items())  # None: not set
        blocks.append(Table(("parameter", "value"), rows, "Parameters in force for this run."))
    return Part("Business context", tuple(blocks))


def architecture(files: RunFiles, charts_on: bool) -> Part:
    graph = step_graph(files)
    context = files.context or {}
    blocks: list[Block] = []
    blocks.append(
        facts(
            [
                ("archetype", plain(context.get("archetype")) or None),
                ("topology", plain(context["topology"]) if "topology" in context else graph.topology),
                ("steps", len(graph.steps)),
                ("edges (one per named input)", len(graph.edges)),
            ]
        )
    )
    if charts_on and 0 < len(graph.steps) <= charts.MAX_NODES:
        edges = [(e.producer, e.consumer) for e in graph.edges]
        blocks.append(Image.svg(charts.dag(graph.steps, edges), "The step graph, left to right", "dag"))
    elif charts_on and graph.steps:
        blocks.append(Text(f"The graph has {len(graph.steps)} steps, too many to draw; its edges are listed."))
    mermaid = context.get("mermaid")
    if isinstance(mermaid, str):  # after the drawing, folded in HTML: the source is for pasting elsewhere
        blocks.append(Code(mermaid, "mermaid", "The graph as Mermaid source"))
    if graph.edges:
        rows = tuple((e.producer, e.output, e.consumer, e.input) for e in graph.edges)
        blocks.append(Table(("from step", "output", "to step", "as input"), rows))
    return Part("Architecture", tuple(blocks))


def _steps(files: RunFiles) -> dict[str, dict[str, object]]:
    return {str(k): as_dict(v) for k, v in as_dict(files.record.get("steps")).items()}


def execution(files: RunFiles) -> Part:
    record, steps = files.record, _steps(files)
    statuses = Counter(str(s.get("status")) for s in steps.values())
    rows: list[tuple[str, Cell]] = [
        ("wall time (s)", seconds(record.get("duration_s"))),
        ("started at", plain(record["started_at"]) if record.get("started_at") else None),
        ("finished at", plain(record["finished_at"]) if record.get("finished_at") else None),
        ("workers", as_int(record.get("workers"))),
        ("steps in the run record", len(steps)),
        ("steps executed", sum(1 for s in steps.values() if (as_int(s.get("attempts")) or 0) > 0)),
    ]
    ordered = [s for s in STATUS_ORDER if s in statuses] + sorted(set(statuses) - set(STATUS_ORDER))
    rows += [(f"steps {status}", statuses[status]) for status in ordered]
    cached = [s for s in steps.values() if s.get("cache") is not None]
    if cached:  # only when a plugin answered for the steps (the cache)
        hits = [s for s in cached if s.get("cache") == "hit"]
        saved = [t for s in hits if (t := seconds(s.get("saved_s"))) is not None]
        rows.append(("steps reused from the cache", len(hits)))
        rows.append(("steps recomputed (cache misses)", len(cached) - len(hits)))
        if saved:
            rows.append(("time the reused steps took when they ran (s)", round(sum(saved), 3)))
    rows.append(("plugins that took part", ", ".join(files.plugins) or None))
    rows.append(("listener errors", len(as_list(record.get("listener_errors")))))
    sent = {str(k): as_int(v) for k, v in as_dict(record.get("signals")).items()}
    known = [s.name for s in signals.ALL if s.name in sent]
    signal_rows = tuple((name, sent[name]) for name in [*known, *sorted(set(sent) - set(known))])
    blocks: list[Block] = [facts(rows), Table(("signal", "sent"), signal_rows, "Signals sent, by name.")]
    return Part("Execution metrics", tuple(blocks))


def step_table(files: RunFiles, charts_on: bool) -> Part:
    steps = _steps(files)
    rows = []
    for name, s in steps.items():
        note = s.get("error") or s.get("skipped_because")
        if s.get("cache") == "hit":
            note = note or "reused from the cache"
        elif s.get("cache") == "miss" and s.get("status") == "succeeded":
            note = note or f"ran: {s.get('cache_reason')}"
        rows.append(
            (
                name,
                plain(s.get("uses")),
                plain(s.get("status")),
                as_int(s.get("attempts")),
                seconds(s.get("duration_s")),
                rows_text(s.get("rows_in")),
                rows_text(s.get("rows_out")),
                plain(note) if note else None,
            )
        )
    header = ("step", "uses", "status", "attempts", "time (s)", "rows in", "rows out", "error or reason")
    blocks: list[Block] = [Table(header, tuple(rows))]
    if charts_on:
        blocks += _step_charts(steps)
    return Part("Steps", tuple(blocks))


def _step_charts(steps: dict[str, dict[str, object]]) -> list[Block]:
    blocks: list[Block] = []
    timed = [(name, t) for name, s in steps.items() if (t := seconds(s.get("duration_s"))) is not None]
    if timed:
        slowest = sorted(timed, key=lambda item: -item[1])[: charts.MAX_BARS]
        shown = [item for item in timed if item in slowest]
        title = "Step durations" if len(shown) == len(timed) else f"The {len(shown)} slowest steps"
        svg = charts.bars([n for n, _ in shown], {"seconds": [t for _, t in shown]}, "seconds", title)
        blocks.append(Image.svg(svg, f"{title}, in seconds", "step-durations"))
    counted = [(name, rows_total(s.get("rows_in")), rows_total(s.get("rows_out"))) for name, s in steps.items()]
    counted = [c for c in counted if c[1] is not None or c[2] is not None][: charts.MAX_BARS]
    if counted:
        nan = float("nan")  # not counted: no bar, rather than a bar of zero
        series = {
            "rows in": [nan if c[1] is None else float(c[1]) for c in counted],
            "rows out": [nan if c[2] is None else float(c[2]) for c in counted],
        }
        svg = charts.bars([c[0] for c in counted], series, "rows", "Rows in and out per step")
        blocks.append(Image.svg(svg, "Rows in and out per step", "step-rows"))
    return blocks


def status(files: RunFiles) -> Part:
    record, steps = files.record, _steps(files)
    statuses = Counter(str(s.get("status")) for s in steps.values())
    ordered = [s for s in STATUS_ORDER if s in statuses] + sorted(set(statuses) - set(STATUS_ORDER))
    reused = sum(1 for s in steps.values() if s.get("cache") == "hit")
    code = as_int(record.get("exit_code"))
    rows: list[tuple[str, Cell, str]] = [
        ("status", plain(record.get("status")), f"exit code {code}" if code is not None else ""),
        ("wall time (s)", seconds(record.get("duration_s")), ""),
        ("steps", ", ".join(f"{statuses[s]} {s}" for s in ordered) or None,
         f"{reused} reused from the cache" if reused else ""),
    ]
    if record.get("error"):
        rows.append(("error", plain(record["error"]), ""))
    blocks: list[Block] = [Tiles(tuple(rows))]
    bad = [
        (n, plain(s.get("status")), plain(s.get("error") or s.get("skipped_because") or ""))
        for n, s in steps.items()
        if s.get("status") not in ("succeeded",)
    ]
    if bad:
        blocks.append(Table(("step", "status", "error or reason"), tuple(bad), "Steps that did not succeed."))
    errors = [as_dict(e) for e in as_list(record.get("listener_errors"))]
    if errors:
        rows_e = tuple((plain(e.get("signal")), plain(e.get("receiver")), plain(e.get("error"))) for e in errors)
        blocks.append(Table(("signal", "receiver", "error"), rows_e, "Listeners that raised (the run went on)."))
    blocks += [Text(problem) for problem in files.problems]
    return Part("Status", tuple(blocks))
