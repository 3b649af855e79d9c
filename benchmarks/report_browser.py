"""A run report as a person sees it: report.html opened in a real headless Chromium at laptop widths.

    python benchmarks/report_browser.py RUN_DIR [--chromium /usr/bin/chromium] [--screenshot docs/report.png]

Needs Playwright's Python package (``pip install playwright``) and a Chromium: browser downloads are not needed,
the operating system's (``apt install chromium``) is driven through ``--chromium``. At 1280 and 1440 pixels
wide it measures what a reader meets: whether the page scrolls sideways, which tables are wider than the
page, which numbers break across lines, how far down the first KPI tile and the status are, and how many
sections are folded; with ``--screenshot`` it saves the first screen at 1280 x 800. Exit 1 when the page
scrolls sideways, a number breaks, or the answer (status, first tile) is below the first screen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll('div.scroll')].filter(d => d.scrollWidth > d.clientWidth + 1)
    .map(d => (d.closest('section, details')?.querySelector('h2')?.textContent || '?'));
  const broken = [...document.querySelectorAll('td.num')].filter(td => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    return lines.size > 1;  // the number's text sits on more than one line
  }).map(td => td.textContent);
  const tile = document.querySelector('.tile');
  const status = document.querySelector('.status');
  return {
    page_width: document.documentElement.scrollWidth, viewport: width,
    tables_wider_than_page: tables, numbers_broken: broken.slice(0, 10), numbers_broken_count: broken.length,
    first_tile_top: tile ? Math.round(tile.getBoundingClientRect().top) : null,
    status_top: status ? Math.round(status.getBoundingClientRect().top) : null,
    sections: document.querySelectorAll('section').length,
    folded: document.querySelectorAll('details.part:not([open])').length,
    height: document.documentElement.scrollHeight,
  };
}"""


def measure(report: Path, chromium: str, screenshot: Path | None) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    found = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for width in (1280, 1440):
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(report.resolve().as_uri())
            figures = page.evaluate(MEASURE)
            if screenshot is not None and width == 1280:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            opened = page.evaluate(MEASURE)  # every section open: tables and numbers of the details too
            figures["opened"] = {k: opened[k] for k in ("page_width", "tables_wider_than_page", "numbers_broken",
                                                        "numbers_broken_count", "height")}
            found.append({"width": width, **figures})
            page.close()
        browser.close()
    return found


def problems(figures: dict[str, Any]) -> list[str]:
    width = figures["viewport"]
    found = []
    for state in (figures, figures["opened"]):
        if state["page_width"] > width:
            found.append(f"{figures['width']} px: the page scrolls sideways ({state['page_width']} px)")
        if state["numbers_broken_count"]:
            found.append(f"{figures['width']} px: {state['numbers_broken_count']} numbers break across lines")
    for name, top in (("status", figures["status_top"]), ("first KPI tile", figures["first_tile_top"])):
        if top is not None and top > 800:
            found.append(f"{figures['width']} px: the {name} is below the first screen ({top} px)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    report = args.run_dir / "report.html"
    if not report.is_file():
        sys.exit(f"error: {report}: no such file")
    found = measure(report, args.chromium, args.screenshot)
    print(json.dumps(found, indent=2))
    bad = [line for figures in found for line in problems(figures)]
    for line in bad:
        print(f"problem: {line}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
