"""The carrier-rate-history showcase's lane history against a few lines of plain pandas over the raw rate card
exports (its lines set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

TERMS = ["rate_per_pallet", "min_charge", "transit_days"]


def _changes_by_hand(data) -> pd.DataFrame:
    """Each lane's terms card by card (a card is the four-week period a line was published in, whatever file it
    came in), and the cards whose terms differ from the lane's last valid ones."""
    files = sorted(data.glob("rate_cards/*/part-*.csv"))
    lines = pd.concat([pd.read_csv(f) for f in files], ignore_index=True).drop_duplicates("line_id")
    if "pallet_rate" in lines:
        lines["rate_per_pallet"] = lines["rate_per_pallet"].fillna(lines["pallet_rate"])
    lines = lines[lines["rate_per_pallet"].between(50, 400) & (lines["currency"] == "EUR")]
    published = pd.to_datetime(lines["published_at"], utc=True)
    start = pd.Timestamp("2026-01-05", tz="UTC")
    card = ((published - start) / pd.Timedelta(days=28)).round().astype(int)
    lines = lines.assign(card_day=start + card * pd.Timedelta(days=28)).sort_values(["lane_id", "card_day"])
    changed = lines.groupby("lane_id")[TERMS].shift().ne(lines[TERMS]).any(axis=1)
    first = ~lines["lane_id"].duplicated()
    return lines.assign(first=first)[changed]


def test_the_changes_are_those_plain_pandas_finds_in_the_raw_cards() -> None:
    run = run_showcase("carrier-rate-history")
    expected = _changes_by_hand(run.data)
    published = run.published("rate_changes")
    got = sorted(zip(published["lane_id"], pd.to_datetime(published["valid_from"], utc=True),
                     published["rate_per_pallet"], strict=True))
    want = expected[~expected["first"]]
    assert got == sorted(zip(want["lane_id"], want["card_day"], want["rate_per_pallet"], strict=True))
    history = run.published("history")
    assert len(history) == len(expected)  # a version per lane's first card and per change
    assert history.groupby("lane_id")["is_current"].sum().eq(1).all()
    steps = published["rate_per_pallet"] - published["previous_rate"]
    assert (published["rate_step"] - steps).abs().max() < 1e-9
