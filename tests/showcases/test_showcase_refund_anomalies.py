"""The refund-anomalies showcase's cashier scores against a few lines of plain pandas over the raw CSV files, and its
anomalies against the cashiers data.yaml draws more often (its refunds set aside are held to the generator's
manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import yaml
from showcase_support import ShowcaseRun, data_showcases, run_showcase


def _scores_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    refunds = pd.read_csv(run.data / "refunds.csv").drop_duplicates("refund_id")
    reasons = ["wrong size", "faulty", "changed mind", "damaged"]
    refunds = refunds[refunds["amount"].between(1, 500) & refunds["reason"].isin(reasons)]
    refunds = refunds.merge(pd.read_csv(run.data / "cashiers.csv"), on="cashier_id")
    mine = refunds.groupby(["store_id", "cashier_id"]).agg(refunds=("refund_id", "size"), refunded=("amount", "sum"))
    mine = mine.reset_index()
    store = mine.groupby("store_id").agg(total=("refunds", "sum"), cashiers=("cashier_id", "size"))
    mine = mine.join(store, on="store_id")
    peers_mean = (mine["total"] - mine["refunds"]) / (mine["cashiers"] - 1)  # the store's others, on average
    return mine.assign(ratio=mine["refunds"] / peers_mean, peers=mine["cashiers"] - 1).set_index("cashier_id")


def test_each_cashier_against_the_others_of_the_store_equals_plain_pandas() -> None:
    run = run_showcase("refund-anomalies")
    expected = _scores_by_hand(run)
    scores = run.published("cashier_scores").set_index("cashier_id")
    assert sorted(scores.index) == sorted(expected.index)
    assert (scores["refunds"] - expected.loc[scores.index, "refunds"]).abs().max() == 0
    assert (scores["refunded"] - expected.loc[scores.index, "refunded"]).abs().max() < 0.006
    assert (scores["refund_ratio"] - expected.loc[scores.index, "ratio"]).abs().max() < 0.006
    assert list(scores["refund_ratio"]) == sorted(scores["refund_ratio"], reverse=True)


def test_the_anomalies_are_the_cashiers_the_data_set_was_made_with() -> None:
    run = run_showcase("refund-anomalies")
    expected = _scores_by_hand(run)
    flagged = expected[(expected["peers"] >= 2) & (expected["ratio"] >= 2.5) & (expected["refunds"] >= 10)]
    anomalies = run.published("anomalous_cashiers")
    assert sorted(anomalies["cashier_id"]) == sorted(flagged.index)
    spec = yaml.safe_load((data_showcases()["refund-anomalies"] / "data.yaml").read_text())
    drawn = spec["tables"]["refunds"]["columns"]["cashier_id"]["distribution"]
    planted = {c for c, w in zip(drawn["values"], drawn["weights"], strict=True) if w > 1}
    assert set(anomalies["cashier_id"]) == planted
