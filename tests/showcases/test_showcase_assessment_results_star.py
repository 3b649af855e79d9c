"""The assessment-results-star showcase's course and band results against a few lines of plain pandas over the
raw Parquet files (the results it sets aside or counts under an unknown member are held to the generator's
manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _results_by_hand(data: Path) -> pd.DataFrame:
    results = pd.read_parquet(data / "results.parquet").drop_duplicates("result_id")
    kinds = ["exam", "coursework", "practical"]
    results = results[results["score"].between(0, 100) & results["assessment"].isin(kinds)]
    terms = pd.read_parquet(data / "terms.parquet")
    terms["term"] = pd.to_datetime(terms["starts_at"]).dt.month.map({9: "autumn", 1: "spring", 5: "summer"})
    students = pd.read_parquet(data / "students.parquet")
    known_courses = set(pd.read_parquet(data / "courses.parquet")["course_code"])
    results = results.merge(terms[["term_code", "term"]], on="term_code", how="left")
    results = results.merge(students[["student_id", "band"]], on="student_id", how="left")
    results["course"] = results["course_code"].where(results["course_code"].isin(known_courses), "unknown")
    return results.fillna({"term": "unknown", "band": "unknown"}).assign(passed=lambda r: r["score"] >= 40)


def _compare(published: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert published["results"].tolist() == expected["size"].tolist()
    assert published["passed"].tolist() == expected["sum"].astype(int).tolist()
    assert (published["pass_rate_pct"] - 100 * expected["sum"] / expected["size"]).abs().max() <= 0.051
    assert (published["mean_score"] - expected["mean_score"]).abs().max() <= 0.0051


def test_pass_rate_and_mean_mark_per_course_and_band_equal_plain_pandas_over_the_raw_parquet() -> None:
    run = run_showcase("assessment-results-star")
    results = _results_by_hand(run.data)
    for name, keys in (("by_course_term", ["course_code", "term"]), ("by_band_term", ["band", "term"])):
        column = "course" if name == "by_course_term" else "band"
        expected = results.groupby([column, "term"]).agg(size=("passed", "size"), sum=("passed", "sum"),
                                                        mean_score=("score", "mean"))
        published = run.published(name).set_index(keys).sort_index()
        assert published.index.tolist() == expected.index.tolist()
        _compare(published, expected)


def test_attainment_gap_is_band_a_less_band_d() -> None:
    run = run_showcase("assessment-results-star")
    results = _results_by_hand(run.data)
    means = results.groupby(["term", "band"])["score"].mean().unstack()
    gap = run.published("attainment_gap").set_index("term")
    assert gap.index.tolist() == ["autumn", "spring", "summer"]
    assert ((gap["mean_score_gap"] - (means["A"] - means["D"]).loc[gap.index]).abs() <= 0.011).all()
