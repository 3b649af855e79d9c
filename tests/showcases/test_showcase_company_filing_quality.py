"""The company-filing-quality showcase's late filings and penalties against a few lines of plain pandas over the
raw CSV (its quarantined filings are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

PRIVATE = [(30, 150), (90, 375), (180, 750), (10_000, 1500)]   # days late at most, penalty in pounds
PUBLIC = [(30, 750), (90, 1500), (180, 3000), (10_000, 7500)]


def penalty(days: int, form: str) -> int:
    if days <= 0:
        return 0
    return next(gbp for most, gbp in (PUBLIC if form == "plc" else PRIVATE) if days <= most)


def test_late_filings_and_penalties_equal_plain_pandas_over_the_raw_csv() -> None:
    run = run_showcase("company-filing-quality")
    raw = pd.read_csv(run.data / "filings.csv", keep_default_na=False, na_values=[""])
    filings = raw.drop_duplicates("filing_id")
    trusted = (filings["company_number"].str.fullmatch(r"[A-Z]{2}\d{6}").fillna(False).astype(bool)
               & filings["legal_form"].isin(["ltd", "plc", "llp", "cic"])
               & filings["employees"].between(0, 250))
    good = filings[trusted].copy()
    period_end = pd.to_datetime(good["period_end"], utc=True).dt.tz_localize(None)
    due = period_end + pd.DateOffset(months=9)   # 31 March + 9 months is 31 December
    filed = pd.to_datetime(good["filed_at"], utc=True).dt.tz_localize(None).dt.normalize()
    good["days_late"] = (filed - due).dt.days.clip(lower=0)
    good["penalty"] = [penalty(d, f) for d, f in zip(good["days_late"], good["legal_form"], strict=True)]
    expected = good.groupby(["legal_form", "region"]).agg(
        filings=("filing_id", "size"), late=("days_late", lambda d: int((d > 0).sum())), penalties=("penalty", "sum"))

    published = run.published("late_filing").set_index(["legal_form", "region"]).sort_index()
    assert published.index.tolist() == expected.index.tolist()
    assert published["filings"].tolist() == expected["filings"].tolist()
    assert published["late"].tolist() == expected["late"].tolist()
    assert published["penalties_gbp"].tolist() == expected["penalties"].tolist()
    # counted + quarantined + second copies = every row of the file
    assert len(good) + (~trusted).sum() + raw["filing_id"].duplicated().sum() == len(raw)
    assert len(run.rows("quarantine/unique_filings.out")) == (~trusted).sum()


def test_the_largest_penalties_come_first() -> None:
    published = run_showcase("company-filing-quality").published("late_filing")
    assert published["penalties_gbp"].is_monotonic_decreasing
    assert (published["late"] <= published["filings"]).all()
