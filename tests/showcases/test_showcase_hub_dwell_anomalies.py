"""The hub-dwell-anomalies showcase's norms and anomalies against a few lines of plain pandas over the raw Avro
files (its dwells set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from showcase_support import raw_avro, run_showcase


def _valid_dwells(data):
    dwells = raw_avro(data, "dwells/*/part-*.avro").drop_duplicates("dwell_id")
    hubs = raw_avro(data, "hubs.avro")
    return dwells[dwells["dwell_min"].between(1, 2880) & dwells["hub_id"].isin(hubs["hub_id"])]


def test_each_hubs_norm_is_its_median_and_median_absolute_deviation() -> None:
    run = run_showcase("hub-dwell-anomalies")
    dwells = _valid_dwells(run.data)
    by_hub = dwells.groupby("hub_id")["dwell_min"]
    median = by_hub.median()
    mad = (dwells["dwell_min"] - dwells["hub_id"].map(median)).abs().groupby(dwells["hub_id"]).median()
    norms = run.published("hub_norms").set_index("hub_id").sort_index()
    assert norms.index.tolist() == median.index.tolist()
    assert norms["dwells"].tolist() == by_hub.size().tolist()
    assert (norms["median_min"] - median).abs().max() < 1e-6
    assert (norms["mad_min"] - mad).abs().max() < 1e-6
    assert (norms["p95_min"] - by_hub.quantile(0.95)).abs().max() <= 0.05 + 1e-9


def test_the_anomalies_are_the_dwells_far_above_their_hubs_norm() -> None:
    run = run_showcase("hub-dwell-anomalies")
    dwells = _valid_dwells(run.data)
    median = dwells.groupby("hub_id")["dwell_min"].transform("median")
    mad = (dwells["dwell_min"] - median).abs().groupby(dwells["hub_id"]).transform("median")
    z = (dwells["dwell_min"] - median) / (1.4826 * mad)
    expected = dwells.loc[z.round(2) > 3.5, "dwell_id"]
    published = run.published("anomalies")
    assert sorted(published["dwell_id"]) == sorted(expected)
    assert published["robust_z"].is_monotonic_decreasing
    summary = run.published("hub_summary").set_index("hub_id")
    assert summary["anomalies"].sum() == len(published)
    per_hub = published.groupby("hub_id").size().reindex(summary.index, fill_value=0)
    assert summary["anomalies"].to_dict() == per_hub.to_dict()
