"""The warehouse-pick-star showcase's pick rates and short picks against a few lines of plain pandas over the raw
Avro files (its picks set aside and unmatched are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase


def _picks_with_their_masters(data) -> pd.DataFrame:
    picks = raw_avro(data, "picks/*/part-*.avro").drop_duplicates("pick_id")
    kept = (picks["quantity"].between(1, 48) & picks["pick_seconds"].between(3, 600)
            & picks["outcome"].isin(["picked", "short", "damaged"]))
    picks = picks[kept]
    for table in ("pickers", "locations", "articles"):  # an unknown or missing key: the unknown member
        picks = picks.merge(raw_avro(data, f"{table}.avro"), how="left")
    return picks.fillna({"team": "unknown", "zone": "unknown", "velocity": "unknown"})


def test_lines_per_hour_per_team_and_zone_equal_plain_pandas() -> None:
    run = run_showcase("warehouse-pick-star")
    picks = _picks_with_their_masters(run.data)
    expected = picks.groupby(["team", "zone"]).agg(lines=("pick_id", "size"), units=("quantity", "sum"),
                                                   seconds=("pick_seconds", "sum"))
    rates = run.published("team_zone_rates").set_index(["team", "zone"]).sort_index()
    assert rates.index.tolist() == expected.index.tolist()
    assert rates["lines"].tolist() == expected["lines"].tolist()
    assert rates["units"].tolist() == expected["units"].tolist()
    per_hour = expected["lines"] / (expected["seconds"] / 3600)
    assert (rates["lines_per_hour"] - per_hour).abs().max() <= 0.05 + 1e-9


def test_short_and_damaged_picks_per_zone_and_velocity_equal_plain_pandas() -> None:
    run = run_showcase("warehouse-pick-star")
    picks = _picks_with_their_masters(run.data)
    table = pd.crosstab([picks["zone"], picks["velocity"]], picks["outcome"])
    shorts = run.published("short_picks").set_index(["zone", "velocity"]).sort_index()
    assert shorts.index.tolist() == table.index.tolist()
    assert shorts["short"].tolist() == table.get("short", 0).tolist()
    assert shorts["damaged"].tolist() == table.get("damaged", 0).tolist()
    assert shorts["lines"].tolist() == table.sum(axis=1).tolist()
    # every fact is in the star once; the unknown members carry the unmatched ones
    assert run.published("daily")["lines"].sum() == len(picks) == len(run.published("fact_picks"))
