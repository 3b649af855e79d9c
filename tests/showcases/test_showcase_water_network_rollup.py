"""The water-network-rollup showcase's volumes at every level of the network against a few lines of plain pandas
over the raw CSV files (its reads and meters set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import run_showcase


def _reads() -> pd.DataFrame:
    """The reads counted: once each, with a volume of 0 to 2,000 litres and a known quality code, of a meter the
    GIS can place, with its zone, district and city."""
    data = run_showcase("water-network-rollup").data
    reads = pd.concat([pd.read_csv(p) for p in sorted(data.glob("readings/*/part-*.csv"))])
    reads = reads.drop_duplicates("reading_id")
    reads = reads[reads["litres"].between(0, 2000) & reads["read_quality"].isin(["actual", "estimated"])]
    places = (pd.read_csv(data / "meters.csv").merge(pd.read_csv(data / "zones.csv"), on="zone_id")
              .merge(pd.read_csv(data / "districts.csv"), on="district_id"))
    reads = reads.merge(places, on="meter_id")
    read_at = pd.to_datetime(reads["read_at"], utc=True)
    return reads.assign(day=read_at.dt.strftime("%Y-%m-%d"), hour=read_at.dt.hour)


@pytest.mark.parametrize(("level", "keys"), [("zone_days", ["zone_id", "day"]),
                                             ("district_days", ["district_id", "day"]),
                                             ("city_days", ["city", "day"])])
def test_each_levels_daily_volume_equals_plain_pandas(level: str, keys: list[str]) -> None:
    reads = _reads()
    expected = reads.groupby(keys).agg(litres=("litres", "sum"))
    expected["meters"] = reads.groupby([*keys, "hour"]).size().groupby(keys).max()  # the most in one hour
    published = run_showcase("water-network-rollup").published(level).set_index(keys)
    assert sorted(published.index) == sorted(expected.index)
    published = published.loc[expected.index]
    assert published["m3"].tolist() == pytest.approx((expected["litres"] / 1000).tolist(), abs=0.0006)
    assert published["meters"].tolist() == expected["meters"].tolist()


def test_the_citys_peak_hour_and_the_night_use_suspects() -> None:
    reads = _reads()
    hours = reads.groupby(["city", "day", "hour"])["litres"].sum()
    peak = hours.groupby(["city", "day"]).idxmax().map(lambda key: key[2])
    city_days = run_showcase("water-network-rollup").published("city_days").set_index(["city", "day"])
    assert city_days["peak_hour"].to_dict() == peak.to_dict()

    per_day = reads.groupby(["meter_id", "day"])
    night = reads[reads["hour"].between(1, 4)].groupby(["meter_id", "day"])["litres"].sum()
    share = (night / per_day["litres"].sum()).fillna(0)
    suspects = share[(share.round(3) > 0.35) & (night.reindex(share.index).round(1) >= 100)]
    night_use = run_showcase("water-network-rollup").published("night_use")
    assert sorted(zip(night_use["meter_id"], night_use["day"], strict=True)) == sorted(suspects.index)
