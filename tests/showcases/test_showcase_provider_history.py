"""The provider-history showcase's type-2 history against a few lines of plain pandas over the raw Parquet
snapshots (the snapshot rows it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, run_showcase


def _directory(run: ShowcaseRun) -> pd.DataFrame:
    """One row per provider and week where both systems gave a usable row."""
    licences = pd.concat([pd.read_parquet(p) for p in sorted(run.data.glob("credentialing/*/*.parquet"))])
    licences = licences.drop_duplicates(["npi", "snapshot_at"])
    licences = licences[licences["license_status"].isin(["active", "expired", "suspended"])]
    frames = []
    for path in sorted(run.data.glob("network/*/*.parquet")):
        week = pd.read_parquet(path)
        frames.append(week.rename(columns={"accepts_new_patients": "accepting_new_patients"}))
    contracts = pd.concat(frames).dropna(subset=["npi"])
    both = licences.merge(contracts, on=["npi", "snapshot_at"])
    return both.merge(pd.read_parquet(run.data / "providers.parquet"), on="npi")


def _versions(directory: pd.DataFrame) -> pd.DataFrame:
    """A version opens in the first week a provider shows up, and in each week its state differs from the last
    week it showed up in; it is valid until the next one opens."""
    rows = directory.sort_values(["npi", "snapshot_at"])
    state = rows["license_status"] + "/" + rows["accepting_new_patients"].astype(str)
    opens = state.ne(state.groupby(rows["npi"]).shift())
    versions = rows[opens].rename(columns={"snapshot_at": "valid_from"})
    versions["valid_to"] = versions.groupby("npi")["valid_from"].shift(-1)
    return versions[["npi", "valid_from", "valid_to", "license_status", "accepting_new_patients"]]


def test_the_history_equals_plain_pandas() -> None:
    run = run_showcase("provider-history")
    expected = _versions(_directory(run)).reset_index(drop=True)
    published = run.published("versions")
    assert published["npi"].tolist() == expected["npi"].tolist()
    assert (published["valid_from"] == expected["valid_from"]).all()
    assert published["valid_to"].isna().tolist() == expected["valid_to"].isna().tolist()
    closed = expected["valid_to"].notna()
    assert (published.loc[closed, "valid_to"] == expected.loc[closed, "valid_to"]).all()
    assert published["license_status"].tolist() == expected["license_status"].tolist()
    assert published["accepting_new_patients"].tolist() == expected["accepting_new_patients"].tolist()

    changes = run.published("changes_per_week").set_index("valid_from")
    opened = expected.groupby("valid_from").size()
    assert changes["versions_opened"].to_dict() == opened.to_dict()


def test_the_directory_as_it_was_on_a_day() -> None:
    run = run_showcase("provider-history")
    directory = _directory(run)
    versions = run.published("versions")
    day = pd.Timestamp("2026-01-20T12:00:00Z")  # after the third snapshot, before the fourth
    valid = versions[(versions["valid_from"] <= day) & (versions["valid_to"].isna() | (versions["valid_to"] > day))]
    assert valid["npi"].is_unique
    # Every provider seen by then is in it, with what the latest snapshot showing it said.
    seen = directory[directory["snapshot_at"] <= day].sort_values("snapshot_at").groupby("npi").last()
    assert valid.set_index("npi")["license_status"].sort_index().to_dict() == seen["license_status"].to_dict()
