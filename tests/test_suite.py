"""``kernel showcase run --all``: every showcase run, one line each in a summary read from the runs' own
records, failed runs first, exit 1 when any failed; the summary never says more passed than did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kernel import Kernel, Showcase, hookimpl
from kernel.app import RunOptions
from kernel.cli import _run_suite, _Show
from kernel.suite import SuiteLine, line_from_record, markdown, ordered


def _record(status: str, **steps: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "duration_s": 1.5, "error": None if status == "succeeded" else "boom",
            "artifacts": {"report (html)": "runs/x/r1/report.html"}, "run_dir": "runs/x/r1", "steps": steps}


def test_a_line_is_read_from_the_record() -> None:
    record = _record(
        "succeeded",
        a={"status": "succeeded", "needs": {}, "rows_out": {"out": 10}, "cache": "hit"},
        b={"status": "succeeded", "needs": {"a": "a.out"}, "rows_in": {"a": 10}, "rows_out": {"out": 7, "rest": 3},
           "cache": "miss"},
        c={"status": "succeeded", "needs": {"b": "b.out"}, "rows_in": {"b": 7}, "rows_out": {}, "cache": "miss"},
    )
    line = line_from_record("x", record, {"checks passed": 2})
    assert (line.steps, line.steps_ok, line.rows_in, line.rows_out, line.cache_hits) == (3, 3, 10, 7, 1)
    assert line.ok and line.report == "runs/x/r1/report.html" and line.facts == {"checks passed": 2}


def test_failed_runs_come_first_and_the_totals_count_only_what_succeeded(tmp_path: Path) -> None:
    lines = [SuiteLine("good", "succeeded", wall_s=1.0, steps=2, steps_ok=2, facts={"checks failed": 0}),
             SuiteLine("bad", "failed", wall_s=2.0, steps=2, steps_ok=1, error="step 'b' failed",
                       facts={"checks failed": 1}),
             SuiteLine("never", "error", error="no such file")]
    assert [line.showcase for line in ordered(lines)] == ["bad", "never", "good"]
    text = markdown(lines, tmp_path, 3.5)
    assert "3 showcases: 1 succeeded, 2 failed" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert rows[0].startswith("| bad | failed: step 'b' failed |") and rows[1].startswith("| never | error:")
    assert "**1 of 3 succeeded**" in rows[-1] and "**3/4**" in rows[-1] and "**1**" in rows[-1]


class _Showcases:
    def __init__(self, root: Path) -> None:
        self.root = root

    @hookimpl
    def register_showcases(self) -> list[Showcase]:
        (self.root / "numbers.csv").write_text("n\n1\n2\n3\n")
        (self.root / "good.yaml").write_text(
            f"name: good\nsteps:\n  - {{name: read, uses: io.read, settings: {{path: {self.root / 'numbers.csv'}}}}}\n"
            "  - {name: big, uses: transform.filter, needs: [read], settings: {where: n > 1}}\n")
        (self.root / "bad.yaml").write_text(
            f"name: bad\nsteps:\n  - {{name: read, uses: io.read, settings: {{path: {self.root / 'absent.csv'}}}}}\n")
        return [Showcase("zz-good", self.root / "good.yaml"), Showcase("zz-bad", self.root / "bad.yaml")]


def test_a_failed_showcase_fails_the_suite_and_is_listed_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    kernel = Kernel(plugins=[("suite-test", _Showcases(tmp_path))], disable=["report"])
    code = _run_suite(kernel, "zz-*", None, {}, RunOptions(runs_root=tmp_path / "runs"), "warning",
                      _Show(quiet=True), tmp_path / "suite")
    assert code == 1
    summary = json.loads((tmp_path / "suite" / "summary.json").read_text())
    assert [(s["showcase"], s["status"]) for s in summary["showcases"]] == [("zz-bad", "failed"),
                                                                            ("zz-good", "succeeded")]
    good = summary["showcases"][1]
    assert (good["rows_in"], good["rows_out"], good["steps"]) == (3, 3, 2)  # rows out: what the last steps got
    page = (tmp_path / "suite" / "summary.html").read_text()
    assert page.index("zz-bad") < page.index("zz-good") and "1 succeeded, 1 failed" in page


def test_showcase_run_all_on_the_command_line(tmp_path: Path) -> None:
    def kernel(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kernel", "showcase", "run", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    done = kernel("--all", "--match", "retail-*", "--scale", "0.2", "-q")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "suite" / "summary.json").read_text())
    (line,) = summary["showcases"]
    run_dir = tmp_path / line["run_dir"]
    validation = json.loads((run_dir / "validation.json").read_text())
    assert line["facts"]["checks passed"] == sum(c["passed"] is True for c in validation["checks"])
    assert line["facts"]["rows quarantined"] == sum(q["rows"] for q in validation["quarantine"])
    record = json.loads((run_dir / "run.json").read_text())
    assert line["wall_s"] == record["duration_s"] and line["status"] == "succeeded"
    assert (tmp_path / "showcase-data" / "retail-orders-scale-0.2" / "manifest.json").exists()
    assert "summary: suite/summary.md and suite/summary.html" in done.stdout
    again = kernel("--all", "--match", "retail-*", "--scale", "0.2", "-q")
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "suite" / "summary.json").read_text())["showcases"][0]
    assert second["cache_hits"] > 0  # nothing changed: served from the cache
    both = kernel("retail-orders", "--all")
    assert both.returncode == 2 and "give a showcase NAME or --all, not both" in both.stderr
    assert kernel("--all", "--match", "nothing-*").returncode == 2
