"""The depot-ops-pack showcase's four pages against a few lines of plain pandas over the four raw CSV exports
(its rows set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def _raw(data, name: str, time: str) -> pd.DataFrame:
    frame = pd.read_csv(data / f"{name}.csv", keep_default_na=False, na_values=[""])
    key = frame.columns[0]
    day = pd.to_datetime(frame[time], utc=True).dt.strftime("%Y-%m-%d")
    return frame.assign(day=day).drop_duplicates(key)


def _page(run, name: str) -> pd.DataFrame:
    return run.published(name).set_index(["day", "depot"]).sort_index()


def test_on_time_rate_per_depot_and_day_equals_plain_pandas() -> None:
    run = run_showcase("depot-ops-pack")
    deliveries = _raw(run.data, "deliveries", "promised_at")
    deliveries = deliveries[deliveries["delay_min"].between(-240, 720)
                            & deliveries["status"].isin(["delivered", "failed", "refused"])]
    deliveries["on_time"] = (deliveries["status"] == "delivered") & (deliveries["delay_min"] <= 0)
    expected = deliveries.groupby(["day", "depot"]).agg(n=("delivery_id", "size"), on_time=("on_time", "sum"))
    page = _page(run, "on_time")
    assert page.index.tolist() == expected.index.tolist()
    assert page["deliveries"].tolist() == expected["n"].tolist()
    assert page["on_time"].tolist() == expected["on_time"].tolist()
    assert (page["on_time_rate"] - expected["on_time"] / expected["n"]).abs().max() < 1e-4


def test_claims_returns_and_fuel_per_depot_and_day_equal_plain_pandas() -> None:
    run = run_showcase("depot-ops-pack")
    claims = _raw(run.data, "damage_claims", "reported_at")
    claims = claims[claims["claim_gbp"].between(1, 5000)
                    & claims["damage"].isin(["crushed", "wet", "torn", "contents missing"])]
    damages = _page(run, "damages")
    assert damages["claims"].to_dict() == claims.groupby(["day", "depot"]).size().to_dict()
    gbp = claims.groupby(["day", "depot"])["claim_gbp"].sum()
    assert (damages["claimed_gbp"] - gbp).abs().max() < 0.006

    returns = _raw(run.data, "returns", "received_at")
    returns = returns[returns["reason"].isin(["not wanted", "wrong item", "damaged", "arrived late"])
                      & returns["parcels"].between(1, 10)]
    page = _page(run, "returns_by_reason")
    assert page["parcels"].to_dict() == returns.groupby(["day", "depot"])["parcels"].sum().to_dict()
    wrong = returns[returns["reason"] == "wrong item"].groupby(["day", "depot"]).size()
    assert page["wrong_item"].to_dict() == wrong.reindex(page.index, fill_value=0).to_dict()

    fuel = _raw(run.data, "fuel", "fuelled_at")
    fuel = fuel[fuel["price_per_litre"].notna() & fuel["litres"].between(5, 400)
                & fuel["vehicle"].str.fullmatch(r"[A-Z]{2}\d{2} [A-Z]{3}")]
    fuel = fuel.assign(cost=(fuel["litres"] * fuel["price_per_litre"]).round(2))
    use = _page(run, "fuel_use")
    by_day = fuel.groupby(["day", "depot"]).agg(litres=("litres", "sum"), cost=("cost", "sum"))
    assert (use["litres"] - by_day["litres"]).abs().max() < 0.006
    assert (use["cost_gbp"] - by_day["cost"]).abs().max() < 0.006
