"""The lms-login-activity showcase's active-learner counts against a few lines of plain pandas over the raw Avro
files (the sign-ins it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pandas as pd
from showcase_support import run_showcase


def _avro(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        return pd.DataFrame(list(fastavro.reader(handle)))


def _on_time_sign_ins(data: Path) -> pd.DataFrame:
    """Clean sign-ins of known learners that reached the gateway's feed before their hour had closed."""
    logins = _avro(data / "logins.avro").drop_duplicates("event_id")
    logins = logins[logins["platform"].isin(["web", "mobile", "desktop"])
                    & logins["session_minutes"].between(1, 240)]
    logins = logins.merge(_avro(data / "learners.avro"), on="learner_id")
    hour = logins["signed_in_at"].dt.floor("h")
    # a sign-in is late when it arrives after its hour's end plus the 15-minute grace
    on_time = logins["received_at"] < hour + pd.Timedelta(minutes=75)
    return logins[on_time].assign(hour_start=hour, day=hour.dt.date.astype(str))


def test_active_learners_per_hour_day_and_week_equal_plain_pandas_over_the_raw_avro() -> None:
    run = run_showcase("lms-login-activity")
    sign_ins = _on_time_sign_ins(run.data)

    hourly = run.published("hourly")
    hourly["hour_start"] = pd.to_datetime(hourly["hour_start"], utc=True)
    got = hourly.set_index(["faculty", "hour_start"])["active_learners"].to_dict()
    assert got == sign_ins.groupby(["faculty", "hour_start"])["learner_id"].nunique().to_dict()

    daily = run.published("daily")
    got = daily.astype({"day": str}).set_index(["faculty", "day"])["active_learners"].to_dict()
    assert got == sign_ins.groupby(["faculty", "day"])["learner_id"].nunique().to_dict()

    weekly = run.published("weekly").set_index("faculty")
    registered = _avro(run.data / "learners.avro")["faculty"].value_counts()
    active = sign_ins.groupby("faculty")["learner_id"].nunique()
    assert weekly["learners"].to_dict() == registered.to_dict()
    assert weekly["active_learners"].to_dict() == active.to_dict()
    assert (weekly["weekly_reach_pct"] - 100 * active / registered).abs().max() <= 0.051
    assert weekly["sign_ins"].to_dict() == sign_ins["faculty"].value_counts().to_dict()


def test_late_sign_ins_are_those_forwarded_after_their_hour_closed() -> None:
    run = run_showcase("lms-login-activity")
    late = run.published("late")
    assert (late["minutes_late"] > 15).all()
    sent = _avro(run.data / "logins.avro")
    assert len(sent) == (run.published("weekly")["sign_ins"].sum() + len(late)
                         + len(run.rows("unique_logins.duplicates")) + len(run.rows("quarantine/unique_logins.out"))
                         + len(run.rows("signed_in.quarantine_left")))
