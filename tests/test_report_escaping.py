"""Malicious values in data and files come out inert in both report formats."""

from __future__ import annotations

import importlib
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
            assert dict(attrs)["src"].startswith("data:image/png;base64,")
    assert {tag for tag, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p",
                                             "span", "nav", "ol", "li", "a", "section", "table", "thead", "tbody",
                                             "tr", "th", "td", "pre", "img"}
    # The values are there, as text a person can read.
    text = "".join(page.text)
    assert SCRIPT in text
    assert "[x](javascript:alert(1))" in text


def test_every_report_section_is_present_despite_hostile_values(report: tuple[str, str]) -> None:
    markdown, _ = report
    assert list(md_sections(markdown)) == [
        "Business context", "Architecture", "Execution metrics", "Steps", "Data quality", "Lineage", "Status",
    ]


@given(st.text(max_size=400))
@settings(max_examples=150, deadline=None)
def test_any_value_is_one_inert_table_cell_that_reads_back_as_itself(value: str) -> None:
    cell = md(value)
    row = split_row(f"| {cell} | next |")
    assert row[1] == "next"
    assert not re.search(r"(?<!\\)(?:\\\\)*[<>\[\]`|*_#~]", cell.replace("\\\\", ""))
    expected = one_line(value)
    if len(expected) <= CELL_LIMIT:
        assert row[0] == expected.strip()
    else:
        assert row[0].startswith(expected[:CELL_LIMIT].strip()) and row[0].endswith(" characters)")
