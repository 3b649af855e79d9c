"""The transit-tap-enrichment showcase's fare revenue against a few lines of plain pandas over the raw Avro files
(its set-aside and unknown taps are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase

BASE = {"bus": 1.80, "tram": 2.20, "metro": 2.60}
ZONE = {1: 0.0, 2: 0.40, 3: 0.80}
CONCESSION = {"adult": 1.0, "student": 0.7, "child": 0.5, "senior": 0.0}


def fared_taps(data) -> pd.DataFrame:
    taps = raw_avro(data, "taps/*/part-*.avro").drop_duplicates("tap_id")
    taps = taps[taps["stop_id"].notna() & taps["tap_type"].isin(["entry", "transfer"])]
    stops, routes, cards = (raw_avro(data, f"{name}.avro") for name in ("stops", "routes", "cards"))
    lines = taps.merge(stops, on="stop_id").merge(routes, on="route_id")   # unknown stops and routes: not counted
    lines = lines.merge(cards, on="card_id", how="left").fillna({"concession": "adult"})
    full = lines["mode"].map(BASE) + lines["zone"].map(ZONE)
    lines["fare"] = (full * lines["concession"].map(CONCESSION)).where(lines["tap_type"] == "entry", 0.0).round(2)
    lines["day"] = pd.to_datetime(lines["tapped_at"], utc=True).dt.strftime("%Y-%m-%d")
    return lines


def test_revenue_per_route_and_day_equals_plain_pandas() -> None:
    run = run_showcase("transit-tap-enrichment")
    lines = fared_taps(run.data)
    expected = lines.groupby(["route_id", "day"]).agg(
        taps=("tap_id", "size"), boardings=("tap_type", lambda t: int((t == "entry").sum())), revenue=("fare", "sum"))
    published = run.published("route_days").set_index(["route_id", "day"]).sort_index()
    assert published.index.tolist() == expected.index.tolist()
    assert published["taps"].tolist() == expected["taps"].tolist()
    assert published["boardings"].tolist() == expected["boardings"].tolist()
    assert (published["revenue_eur"] - expected["revenue"]).abs().max() < 0.006


def test_zone_and_concession_figures_equal_plain_pandas() -> None:
    run = run_showcase("transit-tap-enrichment")
    lines = fared_taps(run.data)
    expected = lines.groupby(["zone", "concession"]).agg(taps=("tap_id", "size"), revenue=("fare", "sum"))
    expected["share"] = expected["taps"] / expected.groupby(level="zone")["taps"].transform("sum")
    published = run.published("zone_concessions").set_index(["zone", "concession"]).sort_index()
    assert published["taps"].tolist() == expected["taps"].tolist()
    assert (published["revenue_eur"] - expected["revenue"]).abs().max() < 0.006
    assert (published["share_of_zone"] - expected["share"]).abs().max() < 5e-5
    cards = raw_avro(run.data, "cards.avro")
    assert len(run.published("unregistered_card_taps")) == (~lines["card_id"].isin(cards["card_id"])).sum()
