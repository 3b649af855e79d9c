"""The article-reads-star showcase's star queries against a few lines of plain pandas over the raw CSV exports
(the reads it sets aside and the ones that point at unknown members are held to the generator's manifest by
its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _reads_by_hand(data: Path) -> pd.DataFrame:
    reads = pd.read_csv(data / "reads.csv").drop_duplicates("read_id")
    reads = reads[reads["seconds_on_page"].between(1, 3600) & reads["scroll_pct"].between(0, 100)]
    articles = pd.read_csv(data / "articles.csv")
    reads = reads.merge(articles, on="article_id", how="left")
    reads = reads.merge(pd.read_csv(data / "sections.csv"), on="section_code", how="left")
    reads = reads.merge(pd.read_csv(data / "authors.csv"), on="author_id", how="left")
    read_at = pd.to_datetime(reads["read_at"], utc=True)
    return reads.assign(iso_week=read_at.dt.isocalendar().week.astype(int),
                        engaged=(reads["seconds_on_page"] >= 30) & (reads["scroll_pct"] >= 50))


def test_reads_per_section_and_week_equal_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("article-reads-star")
    reads = _reads_by_hand(run.data)
    reads["section_code"] = reads["section_code"].fillna("unknown")
    expected = reads.groupby(["section_code", "iso_week"]).agg(
        reads=("read_id", "size"), engaged=("engaged", "mean"), median=("seconds_on_page", "median"),
        subscribers=("subscriber", "mean")).reset_index()
    weeks = run.published("section_weeks")
    assert weeks[["section_code", "iso_week"]].values.tolist() == expected[["section_code", "iso_week"]].values.tolist()
    assert weeks["reads"].tolist() == expected["reads"].tolist()
    assert weeks["median_seconds"].tolist() == expected["median"].tolist()
    assert (weeks["engaged_pct"] - 100 * expected["engaged"]).abs().max() <= 0.051
    assert (weeks["subscriber_pct"] - 100 * expected["subscribers"]).abs().max() <= 0.051


def test_reads_per_author_count_unknown_bylines_under_the_unknown_author() -> None:
    run = run_showcase("article-reads-star")
    reads = _reads_by_hand(run.data)
    author = reads["author_id"].where(reads["byline"].notna(), "unknown")  # no article, or a byline HR never filed
    expected = author.value_counts().to_dict()
    published = run.published("authors_month").set_index("author_id")
    assert published["reads"].to_dict() == expected
    assert published.loc["unknown", "byline"] == "unknown"
