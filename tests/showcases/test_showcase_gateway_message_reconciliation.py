"""The gateway-message-reconciliation showcase's statement against a few lines of plain pandas over the raw Avro and
Parquet files (its messages and reports set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase

KEY = ["device_id", "day"]


def _device_days() -> pd.DataFrame:
    """Per device and day: forwarded (the gateway's count, when usable), stored and rejected messages."""
    data = run_showcase("gateway-message-reconciliation").data
    messages = raw_avro(data, "telemetry/*/part-*.avro").drop_duplicates("msg_id").dropna(subset=["device_id"])
    messages["day"] = pd.to_datetime(messages["event_time"], utc=True).dt.strftime("%Y-%m-%d")
    decoded = messages["temperature_c"].notna()
    stored = messages[decoded].groupby(KEY).size().rename("stored")
    rejected = messages[~decoded].groupby(KEY).size().rename("rejected")
    reports = pd.concat([pd.read_parquet(p) for p in sorted(data.glob("gateway_reports/*/part-*.parquet"))])
    reports = reports.drop_duplicates(["device_id", "report_day"])
    reports = reports[reports["forwarded"].between(0, 96)]
    reports["day"] = pd.to_datetime(reports["report_day"], utc=True).dt.strftime("%Y-%m-%d")
    forwarded = reports.set_index(KEY)["forwarded"]
    days = pd.concat([forwarded, stored, rejected], axis=1)
    return days.fillna({"stored": 0, "rejected": 0}).sort_index()


def test_each_device_day_is_classified_as_plain_pandas_finds_it() -> None:
    days = _device_days()
    gap = days["forwarded"] - days["stored"] - days["rejected"]
    finding = pd.Series("more stored than forwarded", index=days.index)
    finding[gap > 0] = "messages unaccounted for"
    finding[(gap == 0) & (days["rejected"] > 0)] = "decoder rejects"
    finding[(gap == 0) & (days["rejected"] == 0)] = "balanced"
    finding[days["forwarded"].isna()] = "no gateway count"

    run = run_showcase("gateway-message-reconciliation")
    statement = run.published("statement")
    statement["day"] = statement["day"].astype(str)
    statement = statement.set_index(KEY)
    assert sorted(statement.index) == sorted(days.index)
    statement = statement.loc[days.index]
    assert statement["finding"].tolist() == finding.tolist()
    assert statement["stored"].tolist() == days["stored"].astype(int).tolist()
    assert statement["unaccounted"].tolist() == gap.clip(lower=0).fillna(0).astype(int).tolist()

    findings = run.published("findings").set_index("finding")
    assert findings["device_days"].to_dict() == finding.value_counts().to_dict()
    assert findings["unaccounted"].sum() == gap.clip(lower=0).sum()


def test_the_messages_without_a_device_per_day() -> None:
    run = run_showcase("gateway-message-reconciliation")
    messages = raw_avro(run.data, "telemetry/*/part-*.avro").drop_duplicates("msg_id")
    lost = messages[messages["device_id"].isna()]
    per_day = pd.to_datetime(lost["event_time"], utc=True).dt.strftime("%Y-%m-%d").value_counts()
    days = run.published("days")
    days["day"] = days["day"].astype(str)
    assert days.set_index("day")["lost_device_id"].to_dict() == per_day.reindex(days["day"], fill_value=0).to_dict()
    set_aside = run.published("set_aside")
    assert sorted(set_aside.loc[set_aside["set_aside_as"] == "no_device_id", "msg_id"]) == sorted(lost["msg_id"])
