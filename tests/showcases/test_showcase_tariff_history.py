"""The tariff-history showcase's price steps against a few lines of plain pandas over the raw JSON lines (the
captures it sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _valid_captures(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("snapshots/*/part-*.jsonl"))
    captures = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    captures = captures.drop_duplicates("scrape_id")
    captures = captures[captures["unit_rate"].between(10, 60) & captures["standing_charge"].notna()]
    captures["day"] = pd.to_datetime(captures["captured_at"], utc=True).dt.floor("D")  # the snapshot's day
    return captures.sort_values(["tariff_id", "day"]).reset_index(drop=True)


def test_price_steps_equal_plain_pandas_over_the_raw_captures() -> None:
    run = run_showcase("tariff-history")
    captures = _valid_captures(run.data)
    before = captures.groupby("tariff_id")[["unit_rate", "standing_charge"]].shift()
    changed = before["unit_rate"].notna() & (
        (captures["unit_rate"] != before["unit_rate"]) | (captures["standing_charge"] != before["standing_charge"]))
    expected = captures[changed].assign(previous_unit_rate=before["unit_rate"])
    assert len(expected) > 0

    steps = run.published("price_steps")
    steps["valid_from"] = pd.to_datetime(steps["valid_from"], utc=True)
    columns = ["tariff_id", "unit_rate", "standing_charge", "previous_unit_rate"]
    assert steps[["tariff_id", "valid_from"]].values.tolist() == expected[["tariff_id", "day"]].values.tolist()
    assert steps[columns].values.tolist() == expected[columns].values.tolist()


def test_each_tariff_has_one_current_version_at_its_last_captured_price() -> None:
    run = run_showcase("tariff-history")
    last = _valid_captures(run.data).groupby("tariff_id").last()
    history = run.published("history")
    current = history[history["is_current"]].set_index("tariff_id")
    assert current.index.is_unique and len(history[history["valid_to"].isna()]) == len(current)
    assert current[["unit_rate", "standing_charge"]].sort_index().equals(last[["unit_rate", "standing_charge"]])
