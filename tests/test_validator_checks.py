"""Each built-in check on one output: pass and fail, with the counts and failing values it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from validator_support import by_id, run, source

FW = r"^[0-9]+\.[0-9]+\.[0-9]+$"

# (declaration, passed, rows_checked, rows_failed, failing values) on ROWS: d1 twice at the same ts,
# uptime 0.5 / 1.5 / -0.1 / null, status BROKEN once, firmware v1.2 and 2.0 malformed, one null device.
ROW_CASES: list[tuple[dict[str, Any], bool, int, int, list[Any]]] = [
    ({"check": "not_null", "column": "status"}, True, 4, 0, []),
    ({"check": "not_null", "column": "device_id"}, False, 4, 1, [None]),
    (
        {"check": "not_null", "columns": ["device_id", "uptime"]},
        False, 4, 1, [{"device_id": None, "uptime": None}],
    ),
    ({"check": "unique", "columns": ["device_id", "status"]}, True, 4, 0, []),
    (
        {"check": "unique", "columns": ["device_id", "ts"]},
        False, 4, 2, [{"device_id": "d1", "ts": "2024-01-01T00:00:00+00:00"}],
    ),
    ({"check": "unique", "columns": ["device_id", "ts"], "keep": "first"}, False, 4, 1,
     [{"device_id": "d1", "ts": "2024-01-01T00:00:00+00:00"}]),
    ({"check": "in_range", "column": "uptime", "min": -1, "max": 2}, True, 3, 0, []),
    ({"check": "in_range", "column": "uptime", "min": 0, "max": 1}, False, 3, 2, [1.5, -0.1]),
    ({"check": "in_range", "column": "uptime", "min": 0.5, "min_inclusive": False}, False, 3, 2, [0.5, -0.1]),
    ({"check": "in_range", "column": "uptime", "max": 1.5, "max_inclusive": False}, False, 3, 1, [1.5]),
    (
        {"check": "in_range", "column": "ts", "min": "2024-01-01T00:00:30Z", "max": "2024-01-01T00:05:00"},
        False, 4, 2, ["2024-01-01T00:00:00+00:00"],
    ),
    ({"check": "in_set", "column": "status", "values": ["ONLINE", "OFFLINE", "DEGRADED", "BROKEN"]}, True, 4, 0, []),
    ({"check": "in_set", "column": "status", "values": ["ONLINE", "OFFLINE", "DEGRADED"]}, False, 4, 1, ["BROKEN"]),
    ({"check": "in_set", "column": "device_id", "values": ["d1"]}, False, 3, 1, ["d2"]),
    ({"check": "matches", "column": "fw", "pattern": r"^[0-9v]"}, True, 4, 0, []),
    ({"check": "matches", "column": "fw", "pattern": FW}, False, 4, 2, ["v1.2", "2.0"]),
    ({"check": "matches", "column": "uptime", "pattern": r"^\d\.5$"}, False, 3, 1, [-0.1]),
]


@pytest.fixture(scope="module")
def row_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    # One run holds every case (as warnings, so that all of them are recorded).
    checks = [{**case, "id": f"case{i}", "severity": "warn"} for i, (case, *_) in enumerate(ROW_CASES)]
    result, validation = run(tmp_path_factory.mktemp("rows"), [source(checks)])
    assert result.ok and validation is not None
    return by_id(validation)


@pytest.mark.parametrize(("index", "case"), list(enumerate(ROW_CASES)), ids=lambda v: str(v)[:60])
def test_a_row_check_reports_its_counts_and_failing_values(
    row_results: dict[str, dict[str, Any]], index: int, case: tuple[dict[str, Any], bool, int, int, list[Any]]
) -> None:
    declaration, passed, checked, failed, values = case
    got = row_results[f"case{index}"]
    assert (got["passed"], got["rows_checked"], got["rows_failed"]) == (passed, checked, failed)
    assert got["failing_values"] == values
    assert got["fraction_failed"] == pytest.approx(failed / checked)
    assert got["check"] == declaration["check"] and got["output"] == "out" and got["step"] == "src"


def test_failing_values_are_distinct_and_at_most_five(tmp_path: Path) -> None:
    data = [{"device_id": f"x{i % 7}", "ts": "2024-01-01T00:00:00Z"} for i in range(30)]
    check = {"check": "in_set", "column": "device_id", "values": ["none"], "severity": "warn"}
    _, validation = run(tmp_path, [source([check], data)])
    assert validation is not None
    (result,) = validation["checks"]
    assert result["rows_failed"] == 30
    assert result["failing_values"] == ["x0", "x1", "x2", "x3", "x4"]


def test_failing_values_can_be_switched_off_for_sensitive_data(tmp_path: Path) -> None:
    check = {"check": "in_set", "column": "device_id", "values": ["none"], "severity": "warn"}
    plugins = {"settings": {"validator": {"failing_values": 0}}}
    _, validation = run(tmp_path, [source([check])], plugins=plugins)
    assert validation is not None
    assert validation["checks"][0]["rows_failed"] == 3
    assert validation["checks"][0]["failing_values"] == []


@pytest.mark.parametrize(
    ("bounds", "passed"), [({"min": 4, "max": 4}, True), ({"min": 5}, False), ({"max": 3}, False), ({"max": 10}, True)]
)
def test_row_count_judges_the_whole_output(tmp_path: Path, bounds: dict[str, int], passed: bool) -> None:
    _, validation = run(tmp_path, [source([{"check": "row_count", "severity": "warn", **bounds}])])
    assert validation is not None
    (result,) = validation["checks"]
    assert result["passed"] is passed
    assert result["observed"] == {"rows": 4}
    assert result["rows_checked"] == 4
    assert result["rows_failed"] is None  # not a row-by-row check: no row "fails"
    assert result["failing_values"] == ([] if passed else [4])


@pytest.mark.parametrize(
    ("now", "max_age", "passed", "words"),
    [
        ("2024-01-01T00:10:00Z", "15min", True, "newest ts 2024-01-01T00:02:00+00:00"),
        ("2024-01-01T00:10:00Z", "5min", False, "is older than 2024-01-01T00:05:00+00:00"),
        ("2024-01-01T00:01:00Z", "1d", False, "is after 2024-01-01T00:01:00+00:00"),
        ("2024-01-01T01:02:00+01:00", "1min", True, "newest ts"),  # an offset is converted to UTC
    ],
)
def test_freshness_compares_the_newest_timestamp_with_now(
    tmp_path: Path, now: str, max_age: str, passed: bool, words: str
) -> None:
    check = {"check": "freshness", "column": "ts", "max_age": max_age, "now": now, "severity": "warn"}
    _, validation = run(tmp_path, [source([check])])
    assert validation is not None
    (result,) = validation["checks"]
    assert result["passed"] is passed
    assert words in result["message"]
    assert result["observed"]["newest"] == "2024-01-01T00:02:00+00:00"
    assert result["rows_checked"] == 4


def test_freshness_takes_now_from_a_pipeline_parameter(tmp_path: Path) -> None:
    check = {"check": "freshness", "column": "ts", "max_age": "${params.refresh}", "now": "${params.period_end}"}
    params = {"period_end": "2024-01-02T00:00:00Z", "refresh": "1d"}
    result, validation = run(tmp_path, [source([check])], params=params)
    assert result.ok and validation is not None
    assert validation["checks"][0]["observed"]["now"] == "2024-01-02T00:00:00+00:00"
    assert validation["checks"][0]["id"] == "src.out.freshness(ts)"


@pytest.mark.parametrize(("mostly", "passed"), [(0.5, True), (0.51, False), (None, False)])
def test_mostly_is_the_fraction_of_checked_rows_that_must_pass(
    tmp_path: Path, mostly: float | None, passed: bool
) -> None:
    # Two of the four statuses are outside the set: exactly half pass.
    check = {"check": "in_set", "column": "status", "values": ["ONLINE", "DEGRADED"], "mostly": mostly}
    result, validation = run(tmp_path, [source([check])])
    assert validation is not None
    (got,) = validation["checks"]
    assert (got["passed"], got["rows_failed"], got["fraction_failed"], got["mostly"]) == (passed, 2, 0.5, mostly)
    assert result.ok is passed


DAYS = [{"day": "2025-01-01"}, {"day": "2025-03-01"}, {"day": None}, {"day": "2025-02-01"}]


@pytest.mark.parametrize("arrow_dates", [False, True], ids=["python dates", "arrow date32"])
def test_in_range_compares_calendar_dates_with_date_bounds(tmp_path: Path, arrow_dates: bool) -> None:
    check = {"check": "in_range", "column": "day", "min": "2025-01-15", "max": "2025-02-01", "severity": "warn"}
    step = {"name": "src", "uses": "vt.rows", "checks": [check],
            "settings": {"rows": DAYS, "dates": ["day"], "arrow_dates": arrow_dates}}
    _result, validation = run(tmp_path, [step])
    assert validation is not None
    (got,) = validation["checks"]
    assert (got["passed"], got["rows_checked"], got["rows_failed"]) == (False, 3, 2)
    assert sorted(got["failing_values"]) == ["2025-01-01", "2025-03-01"]


def test_a_date_column_refuses_a_bound_that_is_not_a_date(tmp_path: Path) -> None:
    check = {"check": "in_range", "column": "day", "min": "last tuesday"}
    step = {"name": "src", "uses": "vt.rows", "checks": [check], "settings": {"rows": DAYS, "dates": ["day"]}}
    result, validation = run(tmp_path, [step])
    assert validation is not None and not result.ok
    (got,) = validation["checks"]
    assert "column 'day' holds dates: 'last tuesday' is not a date (YYYY-MM-DD)" in got["message"]


def test_a_number_written_as_text_bounds_a_number_column(tmp_path: Path) -> None:
    # min: "-${params.limit}" gives text: it is read as the number it spells; other text is refused by name.
    checks = [{"check": "in_range", "column": "uptime", "min": "-0.05", "max": "1", "id": "text", "severity": "warn"},
              {"check": "in_range", "column": "uptime", "min": "low", "id": "word", "severity": "warn"}]
    _result, validation = run(tmp_path, [source(checks)])
    assert validation is not None
    got = by_id(validation)
    assert (got["text"]["rows_failed"], got["text"]["failing_values"]) == (2, [1.5, -0.1])
    assert "column 'uptime' holds numbers: 'low' is not a number" in got["word"]["message"]


def test_a_missing_column_fails_the_check_and_names_the_column(tmp_path: Path) -> None:
    result, validation = run(tmp_path, [source([{"check": "not_null", "column": "devise_id"}])])
    assert validation is not None
    (got,) = validation["checks"]
    assert got["passed"] is False and got["rows_checked"] is None
    assert "column 'devise_id' is not in output 'out'" in got["message"]
    assert result.record.steps["src"].status == "blocked"


def test_default_ids_name_the_step_output_check_and_columns(tmp_path: Path) -> None:
    checks = [
        {"check": "unique", "columns": ["device_id", "ts"], "severity": "warn"},
        {"check": "row_count", "min": 1},
        {"check": "matches", "column": "fw", "pattern": ".", "id": "firmware-text"},
    ]
    _, validation = run(tmp_path, [source(checks)])
    assert validation is not None
    assert [c["id"] for c in validation["checks"]] == [
        "src.out.unique(device_id,ts)",
        "src.out.row_count",
        "firmware-text",
    ]


def test_a_check_names_one_of_several_outputs(tmp_path: Path) -> None:
    split: dict[str, Any] = {"name": "win", "uses": "vt.window", "needs": ["src"]}
    split["settings"] = {"late_before": "2024-01-01T00:01:00Z"}
    split["checks"] = [{"check": "row_count", "output": "late", "max": 0, "severity": "warn"}]
    _, validation = run(tmp_path, [source([]), split])
    assert validation is not None
    (got,) = validation["checks"]
    # The two rows at 00:00 are late; the row count is of 'late', not of 'windows'.
    assert (got["id"], got["observed"], got["passed"]) == ("win.late.row_count", {"rows": 2}, False)
