"""The gate and the quarantine: what an error, a warning and ``on_fail: quarantine`` do to a run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kernel_validator.plugin as validator_plugin
import pandas as pd
import pytest
from validator_support import ROWS, by_id, run, source

from kernel import StepSpec, events, signals

FW = r"^[0-9]+\.[0-9]+\.[0-9]+$"


def pipeline(checks: list[Any]) -> list[dict[str, Any]]:
    """src (checked) -> mid -> publish, which writes gold/out.csv."""
    return [
        source(checks),
        {"name": "mid", "uses": "vt.pass", "needs": ["src"]},
        {"name": "publish", "uses": "vt.publish", "needs": ["mid"]},
    ]


def test_an_error_blocks_the_step_skips_downstream_and_nothing_is_published(tmp_path: Path) -> None:
    check = {"check": "in_range", "column": "uptime", "min": 0, "max": 1}
    result, validation = run(tmp_path, pipeline([check]))
    steps = result.record.steps
    assert (steps["src"].status, steps["mid"].status, steps["publish"].status) == ("blocked", "skipped", "skipped")
    assert result.record.status == "failed" and result.exit_code == 1
    assert result.record.error == (
        "step 'src' blocked: check 'src.out.in_range(uptime)' failed: "
        "2 of 3 rows failed (66.67%): uptime outside [0, 1]"
    )
    assert not (result.run.run_dir / "gold").exists()
    assert validation is not None
    assert validation["blocked"] == [
        {"step": "src", "check_id": "src.out.in_range(uptime)", "message": steps["src"].error}
    ]
    assert [n["id"] for n in validation["not_run"]] == []  # mid and publish declare no checks


def test_a_warning_is_recorded_and_the_data_goes_on(tmp_path: Path) -> None:
    check = {"check": "in_range", "column": "uptime", "min": 0, "max": 1, "severity": "warn"}
    result, validation = run(tmp_path, pipeline([check]))
    assert result.ok
    assert len(pd.read_csv(result.run.run_dir / "gold" / "out.csv")) == len(ROWS)
    assert validation is not None
    (got,) = validation["checks"]
    assert (got["passed"], got["severity"], got["action"], got["rows_failed"]) == (False, "warn", "warn", 2)
    assert validation["blocked"] == []


def test_every_check_of_a_step_runs_and_the_block_names_the_first_failure(tmp_path: Path) -> None:
    checks = [
        {"check": "not_null", "column": "device_id"},
        {"check": "row_count", "min": 1},
        {"check": "matches", "column": "fw", "pattern": FW},
    ]
    result, validation = run(tmp_path, pipeline(checks))
    assert validation is not None
    assert [c["passed"] for c in validation["checks"]] == [False, True, False]
    error = result.record.steps["src"].error or ""
    assert error.startswith("check 'src.out.not_null(device_id)' failed: 1 of 4 rows failed")
    assert error.endswith("(and 1 more: src.out.matches(fw))")


def test_the_gate_uses_the_after_step_run_hook_not_a_receiver(tmp_path: Path) -> None:
    seen: list[events.StepErrored] = []

    def on_error(sender: object, *, event: events.StepErrored, **_: object) -> None:
        seen.append(event)

    with signals.step_error.connected_to(on_error):
        result, _ = run(tmp_path, pipeline([{"check": "not_null", "column": "device_id"}]))
    assert [(e.step.name, e.blocked) for e in seen] == [("src", True)]
    assert result.record.listener_errors == []


def test_quarantine_moves_failing_rows_with_their_reason_and_keeps_the_rest(tmp_path: Path) -> None:
    checks = [
        {"check": "matches", "column": "fw", "pattern": FW, "on_fail": "quarantine"},
        {"check": "in_set", "column": "status", "values": ["ONLINE", "OFFLINE", "DEGRADED"], "on_fail": "quarantine"},
    ]
    result, validation = run(tmp_path, pipeline(checks))
    assert result.ok
    run_dir = result.run.run_dir
    quarantined = pd.read_parquet(run_dir / "quarantine" / "src.out.parquet")
    published = pd.read_csv(run_dir / "gold" / "out.csv")
    # Row 2 fails both checks and carries the first; row 4 fails the pattern only.
    assert quarantined["fw"].tolist() == ["v1.2", "2.0"]
    assert quarantined["check_id"].tolist() == ["src.out.matches(fw)", "src.out.matches(fw)"]
    assert set(quarantined["reason"]) == {f"fw does not match '{FW}'"}
    assert set(quarantined["run_id"]) == {result.run.run_id}
    assert list(quarantined.columns) == [*ROWS[0], "check_id", "reason", "run_id"]
    assert published["fw"].tolist() == ["1.2.3", "1.10.0"]
    assert len(published) + len(quarantined) == len(ROWS)
    assert result.record.steps["src"].rows_out == {"out": len(published)}
    assert validation is not None
    assert validation["quarantine"] == [
        {
            "step": "src",
            "output": "out",
            "check_id": "src.out.matches(fw)",
            "reason": f"fw does not match '{FW}'",
            "rows": 2,
            "path": "quarantine/src.out.parquet",
        }
    ]
    results = by_id(validation)
    assert results["src.out.in_set(status)"]["rows_failed"] == 1  # counted, though the row left with the first check
    assert {r["action"] for r in results.values()} == {"quarantine"}


def test_quarantine_beyond_mostly_blocks_the_step(tmp_path: Path) -> None:
    check = {"check": "matches", "column": "fw", "pattern": FW, "on_fail": "quarantine", "mostly": 0.9}
    result, validation = run(tmp_path, pipeline([check]))
    assert result.record.steps["src"].status == "blocked"
    assert "mostly 0.9 not met; moved to quarantine" in (result.record.error or "")
    assert validation is not None and validation["quarantine"][0]["rows"] == 2
    assert not (result.run.run_dir / "gold").exists()


def test_a_quarantined_row_can_be_counted_downstream(tmp_path: Path) -> None:
    check = {"check": "in_set", "column": "status", "values": ["BROKEN"], "on_fail": "quarantine", "severity": "warn"}
    result, _ = run(tmp_path, pipeline([check]), keep_outputs=True)
    assert result.outputs["mid"]["out"]["status"].tolist() == ["BROKEN"]


def test_disabling_the_validator_runs_no_check(tmp_path: Path) -> None:
    checks = [
        {"check": "not_null", "column": "device_id"},
        {"check": "matches", "column": "fw", "pattern": FW, "on_fail": "quarantine"},
    ]
    result, validation = run(tmp_path, pipeline(checks), plugins={"disable": ["validator"]})
    assert result.ok
    assert validation is None
    assert not (result.run.run_dir / "quarantine").exists()
    assert len(pd.read_csv(result.run.run_dir / "gold" / "out.csv")) == len(ROWS)
    assert "validator" not in result.record.plugins


def test_a_step_without_checks_is_not_judged() -> None:
    spec = StepSpec.model_validate({"name": "plain", "uses": "vt.pass"})
    # No run state is needed to let a step without checks pass: nothing of the run is read but its plan.
    run = SimpleNamespace(plan=SimpleNamespace(steps={"plain": SimpleNamespace(fields={"checks": ()})}), stash={})
    assert validator_plugin.after_step_run(run=run, step=spec, outputs={"out": pd.DataFrame()}, findings=None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", [1, 2])
def test_validation_json_matches_the_run_record(tmp_path: Path, workers: int) -> None:
    steps = [
        source([{"check": "matches", "column": "fw", "pattern": FW, "on_fail": "quarantine"}]),
        source([{"check": "row_count", "min": 1}], name="other"),
        {"name": "mid", "uses": "vt.pass", "needs": ["src"],
         "checks": [{"check": "in_set", "column": "device_id", "values": ["d1"]}]},
        {"name": "after", "uses": "vt.pass", "needs": ["mid"], "checks": [{"check": "row_count", "max": 100}]},
    ]
    result, validation = run(tmp_path, steps, workers=workers)
    assert validation is not None and validation["run_id"] == result.run.run_id
    record = result.record.steps
    checks = by_id(validation)
    assert set(checks) == {"src.out.matches(fw)", "other.out.row_count", "mid.out.in_set(device_id)"}
    # Rows checked are the rows the step produced; the record counts what went on after quarantine.
    assert checks["src.out.matches(fw)"]["rows_checked"] - 2 == record["src"].rows_out["out"]
    assert checks["mid.out.in_set(device_id)"]["rows_checked"] == record["mid"].rows_in["src"]  # passed through
    assert checks["other.out.row_count"]["observed"] == {"rows": record["other"].rows_out["out"]}
    assert validation["blocked"] == [
        {"step": "mid", "check_id": "mid.out.in_set(device_id)", "message": record["mid"].error}
    ]
    assert validation["not_run"] == [
        {"id": "after.out.row_count", "step": "after", "check": "row_count", "reason": "step skipped"}
    ]
    assert result.record.status == "failed"


def test_rows_that_cannot_be_written_to_quarantine_stop_the_step(tmp_path: Path) -> None:
    data: list[dict[str, Any]] = [{"device_id": "d1", "ts": "2024-01-01T00:00:00Z", "mixed": 1},
            {"device_id": "d2", "ts": "2024-01-01T00:00:00Z", "mixed": "one"}]
    check = {"check": "in_set", "column": "device_id", "values": ["d9"], "on_fail": "quarantine"}
    result, validation = run(tmp_path, [source([check], data), {"name": "mid", "uses": "vt.pass", "needs": ["src"]}])
    assert result.record.steps["src"].status == "blocked"
    assert (result.record.error or "").startswith("step 'src' blocked: cannot write the quarantine table")
    assert result.record.steps["mid"].status == "skipped"
    assert validation is not None and validation["quarantine"] == []
