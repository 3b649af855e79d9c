"""The exam-score-anomalies showcase's cohort norms and review list against a few lines of plain pandas over the
raw Avro files (its attempts set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, raw_avro, run_showcase

VALID_CENTRES = ["online", "hall-north", "hall-south", "hall-east"]


def _scored_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    attempts = raw_avro(run.data, "attempts/*/part-*.avro").drop_duplicates("attempt_id")
    attempts = attempts[attempts["score_pct"].between(0, 100) & attempts["minutes_used"].between(5, 180)
                        & attempts["centre"].isin(VALID_CENTRES)]
    attempts = attempts.merge(raw_avro(run.data, "papers.avro"), on="paper_id")
    cohort = attempts.groupby("paper_id")

    def robust_z(column: str) -> pd.Series:
        median = cohort[column].transform("median")
        mad = (attempts[column] - median).abs().groupby(attempts["paper_id"]).transform("median")
        return (attempts[column] - median) / (1.4826 * mad)

    return attempts.assign(score_z=robust_z("score_pct"), time_z=robust_z("minutes_used"))


def test_the_review_list_is_what_plain_pandas_flags_in_the_raw_attempts() -> None:
    run = run_showcase("exam-score-anomalies")
    scored = _scored_by_hand(run)
    flagged = scored[(scored["score_z"] > 3.0) | ((scored["score_z"] > 2.0) & (scored["time_z"] < -2.0))]
    review = run.published("review_list").set_index("attempt_id")
    assert sorted(review.index) == sorted(flagged["attempt_id"])
    mine = flagged.set_index("attempt_id").loc[review.index]
    assert (review["score_z"] - mine["score_z"]).abs().max() <= 0.02
    assert (review["time_z"] - mine["time_z"]).abs().max() <= 0.02
    assert review["score_z"].is_monotonic_decreasing


def test_each_papers_cohort_norm_and_flag_count() -> None:
    run = run_showcase("exam-score-anomalies")
    scored = _scored_by_hand(run)
    norms = run.published("cohort_norms").set_index("paper_id")
    by_paper = scored.groupby("paper_id")
    assert norms["attempts"].to_dict() == by_paper.size().to_dict()
    assert (norms["median_score"] - by_paper["score_pct"].median()).abs().max() <= 0.006
    summary = run.published("paper_summary").set_index("paper_id")
    assert summary["attempts"].sum() == len(scored)
    assert summary["flagged"].sum() == len(run.published("review_list"))
