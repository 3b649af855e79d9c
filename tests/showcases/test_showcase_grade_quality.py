"""The grade-quality showcase's course summary and report table against a few lines of plain pandas over the raw
Avro files (its quarantined grades are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pytest
from showcase_support import run_showcase


def _avro(paths: list[Path]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with path.open("rb") as stream:
            rows.extend(fastavro.reader(stream))
    return pd.DataFrame(rows)


def _clean_grades(data: Path) -> pd.DataFrame:
    grades = _avro(sorted(data.glob("grades/*/part-*.avro")))
    courses = _avro([data / "courses.avro"])
    grades = grades[grades["course_code"].isin(courses["course_code"]) & grades["score"].between(0, 100)]
    return grades.drop_duplicates("grade_id")


def test_course_summary_equals_plain_pandas() -> None:
    run = run_showcase("grade-quality")
    grades = _clean_grades(run.data)
    by_course = grades.groupby("course_code")["score"]
    summary = run.published("course_summary").set_index("course_code")
    assert summary["grades"].to_dict() == by_course.size().to_dict()
    assert summary["mean_score"].to_dict() == pytest.approx(by_course.mean().round(1).to_dict(), abs=0.051)
    assert summary["sd_score"].to_dict() == pytest.approx(by_course.std().to_dict(), abs=0.0051)
    assert summary["pass_rate"].to_dict() == pytest.approx(by_course.apply(lambda s: (s >= 40).mean()).to_dict(),
                                                           abs=0.00005)
    failed = grades[grades["score"] < 40].groupby("course_code").size()
    assert summary["f"].to_dict() == failed.reindex(summary.index, fill_value=0).to_dict()


def test_each_grade_stands_beside_its_course() -> None:
    run = run_showcase("grade-quality")
    grades = _clean_grades(run.data)
    report = run.published("report").set_index("grade_id").loc[grades["grade_id"]]
    assert len(report) == len(grades)
    summary = run.published("course_summary").set_index("course_code")
    mean = summary.loc[report["course_code"], "mean_score"].to_numpy()
    assert (report["vs_course_mean"] - (grades["score"].to_numpy() - mean)).abs().max() < 0.051
    rank = grades.groupby("course_code")["score"].rank(method="min")
    size = grades.groupby("course_code")["score"].transform("size")
    percentile = 100 * (rank - 1) / (size - 1)  # percent_rank, published to a tenth
    assert abs(report["percentile"].to_numpy() - percentile.to_numpy()).max() < 0.051
