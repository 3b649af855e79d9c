"""The edge-error-spikes showcase's bursts against a few lines of plain pandas over the raw Avro export: each
edge's minutes in time order, a rolling median of its error rate, the same rule (that the bursts are exactly the
generator's above-range error counts is held by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, raw_avro, run_showcase


def _scored_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    rows = raw_avro(run.data, "edge_minutes.avro").drop_duplicates("metric_id")
    rows = rows[rows["requests"].notna() & (rows["errors"] >= 0)]
    rows = rows.sort_values(["edge_id", "minute_at", "metric_id"]).reset_index(drop=True)
    rows["rate"] = (100 * rows["errors"] / rows["requests"]).round(4)
    by_edge = rows.groupby("edge_id")["rate"]
    before = by_edge.transform(lambda r: r.rolling(30, min_periods=10).median())
    after = by_edge.transform(lambda r: r[::-1].rolling(30, min_periods=1).median()[::-1])
    rows["normal"] = before.fillna(after).round(4)
    rows["burst"] = (rows["rate"] >= 3 * rows["normal"]) & (rows["errors"] >= 25)
    return rows


def test_the_bursts_equal_plain_pandas_over_the_raw_counters() -> None:
    run = run_showcase("edge-error-spikes")
    expected = _scored_by_hand(run).query("burst").sort_values("metric_id").reset_index(drop=True)
    published = run.published("error_bursts").sort_values("metric_id").reset_index(drop=True)
    assert published["metric_id"].tolist() == expected["metric_id"].tolist()
    assert published["edge_id"].tolist() == expected["edge_id"].tolist()
    assert published["errors"].tolist() == expected["errors"].tolist()
    assert (published["error_rate_pct"] - expected["rate"]).abs().max() < 1e-9
    assert (published["normal_rate_pct"] - expected["normal"]).abs().max() < 1e-3
    assert len(published) > 0


def test_no_ordinary_minute_comes_near_the_rule() -> None:
    scored = _scored_by_hand(run_showcase("edge-error-spikes"))
    ordinary = scored[~scored["burst"]]
    assert (ordinary["errors"] < 25).all()
    assert (ordinary["rate"] / ordinary["normal"]).max() < 3
