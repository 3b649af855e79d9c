"""Malicious values in data and files come out inert in both report formats."""

from __future__ import annotations

import importlib
import itertools
import re
from pathlib import Path
from typing import Any

import kernel_report.plugin
import pandas as pd
import pytest
from helpers import write_pipeline
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_report.escape import CELL_LIMIT, md, one_line
from report_support import FakeTracker, FakeValidator, Tags, md_sections, split_row

from kernel import Inputs, Kernel, StepContext, hookimpl, step

SCRIPT = "<script>alert(1)</script>"
MARKDOWN = "a | b ` c * d _ e [x](javascript:alert(1)) # f ~ <img src=x onerror=alert(1)>\n| g | h |\n# heading"
LONG = "L" * 100_000
EVIL = [SCRIPT, MARKDOWN, LONG]


@step("evil.write")
def evil_write(inputs: Inputs, *, path: str, ctx: StepContext) -> pd.DataFrame:
    """Report writing a dataset whose path and columns are hostile."""
    ctx.wrote(path, SCRIPT, rows=1, columns={MARKDOWN: SCRIPT}, content_hash="sha256:" + MARKDOWN)
    return pd.DataFrame({SCRIPT: [MARKDOWN]})


class EvilSteps:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [evil_write]


VALIDATION: dict[str, Any] = {
    "checks": [
        {"id": "x|y", "step": "w", "output": "out", "check": MARKDOWN, "severity": "error", "mostly": None,
         "passed": False, "rows_checked": 1, "rows_failed": 1, "fraction_failed": 1.0, "failing_values": EVIL,
         "action": "quarantine", "message": SCRIPT},
    ],
    "quarantine": [{"step": "w", "output": "out", "check_id": "x|y", "reason": SCRIPT, "rows": 1, "path": MARKDOWN}],
    "blocked": [{"step": "w", "check_id": "x|y", "message": LONG}],
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> tuple[str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(demo_site))
        demo = importlib.import_module("kernel_demo_steps")
    tmp = tmp_path_factory.mktemp("evil")
    steps = [
        {"name": "w", "uses": "evil.write", "settings": {"path": MARKDOWN}},
        {"name": "boom", "uses": "demo.boom", "needs": ["w"], "settings": {"message": "\n".join(EVIL)}},
    ]
    path = write_pipeline(
        tmp, steps, description=MARKDOWN + SCRIPT, domain=LONG, archetype=SCRIPT,
        kpis=[{"name": MARKDOWN, "description": SCRIPT}], params={"evil": MARKDOWN},
    )
    kernel = Kernel(entry_points=False, plugins=[
        ("demo", demo), ("evil", EvilSteps()), ("report", kernel_report.plugin),
        ("tracker", FakeTracker(extra_column=MARKDOWN)), ("validator", FakeValidator(VALIDATION)),
    ])
    run_dir = kernel.run(path, runs_root=tmp / "runs").run.run_dir
    return (run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()


def _outside_code(markdown: str) -> str:
    return re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", markdown, flags=re.M | re.S)


def test_markdown_tables_keep_their_shape(report: tuple[str, str]) -> None:
    markdown, _ = report
    tables = 0
    for block in re.split(r"\n\n", _outside_code(markdown)):
        lines = block.splitlines()
        if len(lines) > 1 and lines[1].startswith("|---"):
            tables += 1
            widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
            assert len(widths) == 1, f"a table row has a different number of cells:\n{block[:500]}"
    assert tables >= 10


def test_markdown_values_cannot_open_html_links_or_headings(report: tuple[str, str]) -> None:
    markdown, _ = report
    text = "\n".join(line for line in _outside_code(markdown).splitlines() if not line.startswith("!["))
    assert not re.search(r"(?<!\\)<script", markdown)
    assert not re.search(r"(?<!\\)[<>\[\]`]", text), "an unescaped <, >, [, ] or backtick"
    assert not re.search(r"^#+ .*(heading|alert)", markdown, flags=re.M)


def test_long_values_are_clipped_with_a_note(report: tuple[str, str]) -> None:
    for text in report:
        assert LONG not in text
        assert "L" * 300 + "… (truncated: 100000 characters)" in text
        assert max(len(line) for line in text.splitlines()) < 20_000


def test_html_has_no_script_no_handler_and_no_active_link(report: tuple[str, str]) -> None:
    _, html = report
    assert "<script" not in html.lower()
    page = Tags(html)
    for tag, attrs in page.tags:
        assert tag not in ("script", "iframe", "object", "embed", "a" if any(a == "href" and v and
                           "javascript" in v for a, v in attrs) else "")
        assert not [name for name, _ in attrs if name.startswith("on")], (tag, attrs)
        if tag == "img":
            assert dict(attrs)["src"].startswith(("data:image/png;base64,", "data:image/svg+xml;base64,"))
    assert {tag for tag, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p",
                                             "div", "details", "summary",
                                             "span", "nav", "ol", "li", "a", "section", "table", "thead", "tbody",
                                             "tr", "th", "td", "pre", "img"}
    # The values are there, as text a person can read.
    text = "".join(page.text)
    assert SCRIPT in text
    assert "[x](javascript:alert(1))" in text


def test_every_report_section_is_present_despite_hostile_values(report: tuple[str, str]) -> None:
    markdown, _ = report
    assert list(md_sections(markdown)) == [
        "Status", "Checks", "Data quality",  # the answer; then the details, folded in HTML
        "Steps", "Execution metrics", "Architecture", "Lineage", "Schema changes", "Business context",
    ]


@given(st.text(max_size=400))
@settings(max_examples=150, deadline=None)
def test_any_value_is_one_inert_table_cell_that_reads_back_as_itself(value: str) -> None:
    cell = md(value)
    row = split_row(f"| {cell} | next |")
    assert row[1] == "next"
    assert not re.search(r"(?<!\\)(?:\\\\)*[<>\[\]`|*_#~$&]", cell.replace("\\\\", ""))
    expected = one_line(value)
    if len(expected) <= CELL_LIMIT:
        assert row[0] == expected.strip()
    else:
        assert row[0].startswith(expected[:CELL_LIMIT].strip()) and row[0].endswith(" characters)")


# Names that mean something to Markdown, HTML, LaTeX (GitHub's $math$, matplotlib's math text) or Mermaid.
HOSTILE_NAMES = ["$x_{$", r"$\frac{1}{2}$", "$$", "&lt;b&gt;", "&amp;", "a|b", "-->", "%%", "_hidden", "x^2"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_dollar_and_ampersand_are_escaped_in_markdown(name: str) -> None:
    cell = md(name)
    assert not re.search(r"(?<!\\)(?:\\\\)*[$&]", cell.replace("\\\\", ""))
    assert split_row(f"| {cell} |") == [name]


class ChartSections:
    """A plugin that draws its own chart (with pyplot, as many do) labelled with names from the data."""

    @hookimpl(optionalhook=True)
    def report_sections(self, run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
        import matplotlib

        matplotlib.use("Agg")
        import io

        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        for n, name in enumerate(HOSTILE_NAMES):
            ax.plot([name, "b"], [n, n + 1], label=name)
        ax.set_title(HOSTILE_NAMES[0])
        ax.legend()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        return [{"title": "Models", "text": HOSTILE_NAMES, "images": [buffer.getvalue()]}]


def test_a_plugins_chart_of_hostile_names_keeps_its_section(demo_site: Path, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(demo_site))
        demo = importlib.import_module("kernel_demo_steps")
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers", "settings": {"n": 3}}])
    kernel = Kernel(entry_points=False, plugins=[("demo", demo), ("report", kernel_report.plugin),
                                                 ("charts", ChartSections())])
    run_dir = kernel.run(path, runs_root=tmp_path / "runs").run.run_dir
    parts = md_sections((run_dir / "report.md").read_text())
    assert "Models" in parts, list(parts)
    assert "could not add its sections" not in (run_dir / "report.md").read_text()
    assert "![" in parts["Models"]


@step("evil.fork", outputs=("a|b", 'q"x];', "$x_{$"))
def evil_fork(inputs: Inputs) -> dict[str, pd.DataFrame]:
    """Outputs whose names mean something to Mermaid."""
    return {name: pd.DataFrame({"x": [1]}) for name in ("a|b", 'q"x];', "$x_{$")}


@step("evil.join", inputs=None)
def evil_join(inputs: Inputs) -> pd.DataFrame:
    """Anything in, one row out."""
    return pd.DataFrame({"x": [len(inputs)]})


class ForkSteps:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [evil_fork, evil_join]


def test_the_mermaid_drawing_keeps_its_shape_with_hostile_names(tmp_path: Path) -> None:
    steps = [
        {"name": "a-b", "uses": "evil.fork"},
        {"name": "a_b", "uses": "evil.join", "needs": {"one": "a-b.a|b", "two": 'a-b.q"x];', "three": "a-b.$x_{$"}},
    ]
    path = write_pipeline(tmp_path, steps)
    kernel = Kernel(entry_points=False, plugins=[("fork", ForkSteps()), ("report", kernel_report.plugin)])
    run_dir = kernel.run(path, runs_root=tmp_path / "runs").run.run_dir
    markdown = (run_dir / "report.md").read_text()
    source = re.search(r"^```mermaid\n(.*?)^```$", markdown, flags=re.M | re.S)
    assert source is not None
    lines = source.group(1).splitlines()
    nodes = [line for line in lines if "[" in line and "-->" not in line]
    edges = [line for line in lines if "-->" in line]
    assert len(nodes) == 2 and len({line.split("[")[0] for line in nodes}) == 2  # two steps, two node ids
    assert len(edges) == 3
    # Labels hold plain characters and entity codes (#124; for |) only: nothing Mermaid would read.
    label = r"(?:[A-Za-z0-9 ._/-]|#[0-9]+;)*"
    for line in edges:
        assert re.fullmatch(rf"\s*\w+ -->\|{label}\| \w+", line), line
    for line in nodes:
        assert re.fullmatch(rf'\s*\w+\["{label}<br/>{label}"\]', line), line
    assert "a#124;b" in source.group(1) and "#36;x_#123;#36;" in source.group(1)


@pytest.mark.parametrize("draw", ["bars", "dag"])
def test_the_reports_own_charts_draw_each_name_as_it_is(draw: str) -> None:
    from xml.etree import ElementTree

    from kernel_report import charts

    names = ["$x_{$", "a\\b", "$$", r"\alpha", "x^2", "<b>&amp;</b>", "]]>", "\"q'"]
    if draw == "bars":
        svg = charts.bars(names, {"rows in": [1.0] * len(names), "rows out": [2.0] * len(names)}, "$", "$x_{$")
    else:
        svg = charts.dag(names, list(itertools.pairwise(names)))
    root = ElementTree.fromstring(svg)  # well-formed whatever the names
    drawn = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(names) <= drawn
    assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
    again = charts.bars(names, {"n": [1.0] * len(names)}, "x", "t") if draw == "bars" else charts.dag(names, [])
    assert again == (charts.bars(names, {"n": [1.0] * len(names)}, "x", "t") if draw == "bars"
                     else charts.dag(names, []))  # the same data, the same text
