"""Checks across steps: foreign keys into another step's output, and reconciliations of counts and sums."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_validator.builtin import ForeignKey
from kernel_validator.crossstep import foreign_key
from kernel_validator.refs import Ref
from validator_support import ROWS, by_id, make_kernel, run, source

from kernel import Inputs, hookimpl, step

FW = r"^[0-9]+\.[0-9]+\.[0-9]+$"


def registry(devices: list[str], column: str = "device_id") -> dict[str, Any]:
    return {"name": "registry", "uses": "vt.rows", "settings": {"rows": [{column: d} for d in devices]}}


def conform(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Takes the telemetry; needs the registry too, so the registry is upstream of it."""
    needs = {"records": "src", "registry": "registry"}
    return {"name": "conform", "uses": "vt.pick", "needs": needs, "settings": {"take": "records"}, "checks": checks}


def test_a_foreign_key_passes_when_every_value_is_in_the_referenced_output(tmp_path: Path) -> None:
    check = {"check": "foreign_key", "column": "device_id", "ref": "registry"}
    result, validation = run(tmp_path, [registry(["d1", "d2"]), source([]), conform([check])])
    assert result.ok and validation is not None
    (got,) = validation["checks"]
    assert (got["id"], got["passed"], got["rows_checked"], got["rows_failed"]) == (
        "conform.out.foreign_key(device_id)", True, 3, 0,  # the null device is not checked
    )


def test_a_foreign_key_reports_unknown_values_and_can_quarantine_them(tmp_path: Path) -> None:
    check = {"check": "foreign_key", "column": "device_id", "ref": "registry.out", "ref_column": "id"}
    steps = [registry(["d1", "d9"], column="id"), source([]), conform([{**check, "on_fail": "quarantine"}])]
    steps.append({"name": "publish", "uses": "vt.publish", "needs": ["conform"]})
    result, validation = run(tmp_path, steps)
    assert result.ok and validation is not None
    (got,) = validation["checks"]
    assert (got["rows_checked"], got["rows_failed"], got["failing_values"]) == (3, 1, ["d2"])
    quarantined = pd.read_parquet(result.run.run_dir / "quarantine" / "conform.out.parquet")
    assert quarantined["device_id"].tolist() == ["d2"]
    assert quarantined["reason"].tolist() == ["device_id not in registry.out.id"]
    published = pd.read_csv(result.run.run_dir / "gold" / "out.csv")
    assert published["device_id"].fillna("<null>").tolist() == ["d1", "d1", "<null>"]


def test_a_foreign_key_error_blocks_the_step(tmp_path: Path) -> None:
    check = {"check": "foreign_key", "column": "device_id", "ref": "registry"}
    result, _ = run(tmp_path, [registry(["d1"]), source([]), conform([check])])
    assert result.record.steps["conform"].status == "blocked"
    assert "check 'conform.out.foreign_key(device_id)' failed: 1 of 3 rows failed" in (result.record.error or "")


frames: list[weakref.ref[pd.DataFrame]] = []


@step("vt.tracked")
def tracked(inputs: Inputs, *, devices: list[str]) -> pd.DataFrame:
    """A registry whose frame the test can watch being freed."""
    frame = pd.DataFrame({"device_id": devices})
    frames.append(weakref.ref(frame))
    return frame


class TrackedPlugin:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [tracked]


def test_a_foreign_key_keeps_the_referenced_values_not_the_frame(tmp_path: Path) -> None:
    frames.clear()
    steps = [
        {"name": "registry", "uses": "vt.tracked", "settings": {"devices": ["d1", "d2", "d1"]}},
        source([]),
        conform([{"check": "foreign_key", "column": "device_id", "ref": "registry"}]),
        {"name": "after", "uses": "vt.pass", "needs": ["conform"]},
    ]
    result, _ = run(tmp_path, steps, kernel=make_kernel(("tracked", TrackedPlugin())))
    assert result.ok
    gc.collect()
    assert frames and frames[0]() is None  # released by the kernel; the validator kept no reference
    kept = result.run.stash["validator"].figures().values(Ref("registry", "out", "device_id"))
    assert isinstance(kept, pd.Index) and sorted(kept) == ["d1", "d2"]  # the unique values only


def conservation(right: list[str], **extra: Any) -> list[dict[str, Any]]:
    """ingest (4 rows) -> conform (quarantines the 2 malformed firmware rows) -> window (1 late, 1 windowed)."""
    quarantine = {"check": "matches", "column": "fw", "pattern": FW, "on_fail": "quarantine"}
    reconcile = {"check": "reconcile", "left": ["ingest"], "right": right, **extra}
    return [
        source([], name="ingest"),
        {"name": "conform", "uses": "vt.pass", "needs": ["ingest"], "checks": [quarantine]},
        {
            "name": "window",
            "uses": "vt.window",
            "needs": ["conform"],
            "settings": {"late_before": "2024-01-01T00:01:00Z"},
            "checks": [reconcile],
        },
        {"name": "publish", "uses": "vt.publish", "needs": ["window.windows"]},
    ]


def test_record_conservation_across_steps(tmp_path: Path) -> None:
    right = ["window.windows:records", "window.late", "quarantine/conform.out"]
    result, validation = run(tmp_path, conservation(right))
    assert result.ok and validation is not None
    got = by_id(validation)["window.reconcile(ingest.out=window.windows:records+window.late+quarantine/conform.out)"]
    assert got["passed"] is True and got["output"] is None
    assert got["observed"] == {
        "left": 4,
        "right": 4,
        "difference": 0,
        "terms": {"ingest.out": 4, "window.windows:records": 1, "window.late": 1, "quarantine/conform.out": 2},
    }
    assert got["message"] == (
        "4 = 4: ingest.out (4) = window.windows:records (1) + window.late (1) + quarantine/conform.out (2)"
    )


def test_a_broken_conservation_blocks_before_publishing(tmp_path: Path) -> None:
    result, validation = run(tmp_path, conservation(["window.windows:records", "window.late"], id="conservation"))
    assert result.record.steps["window"].status == "blocked"
    assert result.record.steps["publish"].status == "skipped"
    assert not (result.run.run_dir / "gold").exists()
    assert result.record.error == (
        "step 'window' blocked: check 'conservation' failed: left and right totals differ: "
        "4 != 2: ingest.out (4) != window.windows:records (1) + window.late (1)"
    )
    assert validation is not None and validation["checks"][-1]["failing_values"] == [4, 2]


def test_a_reconciliation_sees_its_own_step_after_quarantine(tmp_path: Path) -> None:
    steps = conservation(["window.windows:records", "window.late", "quarantine/conform.out"])
    steps[1]["checks"].append({"check": "reconcile", "left": ["ingest"], "right": ["conform", "quarantine/conform"]})
    result, validation = run(tmp_path, steps)
    assert result.ok and validation is not None
    assert by_id(validation)["conform.reconcile(ingest.out=conform.out+quarantine/conform.out)"]["observed"][
        "terms"
    ] == {"ingest.out": 4, "conform.out": 2, "quarantine/conform.out": 2}


@pytest.mark.parametrize(("tolerance", "passed"), [(1.0, True), (0.5, False)])
def test_a_reconciliation_of_sums_allows_a_tolerance(tmp_path: Path, tolerance: float, passed: bool) -> None:
    steps = conservation(["window.windows:records"], tolerance=tolerance, severity="warn")
    steps[2]["checks"][0]["left"] = ["ingest.out:uptime"]  # 0.5 + 1.5 - 0.1 (the null adds nothing)
    _, validation = run(tmp_path, steps)
    assert validation is not None
    got = validation["checks"][-1]
    assert got["passed"] is passed
    assert got["observed"]["left"] == pytest.approx(sum(r["uptime"] for r in ROWS if r["uptime"] is not None))
    assert got["observed"]["right"] == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["d1", "d2", "d3", "x"])), max_size=30),
       st.lists(st.one_of(st.none(), st.sampled_from(["d1", "d2", "d4"])), max_size=5),
       st.lists(st.sampled_from(["d1", "d2", "d3", "x", "unused"]), unique=True, max_size=5), st.booleans())
def test_a_foreign_key_on_categories_passes_the_rows_pandas_isin_passes(
    rows: list[str | None], referenced: list[str | None], extra: list[str], as_text: bool
) -> None:
    # Categories are looked up once each and the rows read their answer: the same rows pass as with
    # pandas' own isin on every row, whatever categories are unused or missing from the reference.
    column = pd.Series(pd.Categorical(rows, categories=sorted({r for r in rows if r is not None} | set(extra))))
    frame = pd.DataFrame({"device_id": column.astype("str") if as_text else column})
    values = pd.Index(referenced, dtype="str")
    mask = foreign_key(frame, ForeignKey(column="device_id", ref="registry"), values)
    series = frame["device_id"]
    expected = series.astype(object).isin(list(values)).to_numpy() | series.isna().to_numpy()
    assert mask.passed.tolist() == expected.tolist()
