"""Durations as pipeline files write them, read without pandas (checking a pipeline must not import it).

The forms are those of pandas' ``Timedelta`` text that ``docs/pipeline-file.md`` documents, with the same
values (tests/test_durations.py compares the two on random text): a number and a unit, repeated (``90s``,
``2min``, ``1h30min``, ``1.5 hours``, ``1d``, ``2w``), ISO 8601 (``PT2M``, ``P1DT2H``) and clock time
(``00:01:30``, ``1 days 02:00:00``).
"""

from __future__ import annotations

import re
from decimal import Decimal

_NS = {
    "w": 7 * 86_400 * 10**9,
    "d": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_UNITS = {
    **dict.fromkeys(("w", "week", "weeks"), "w"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("h", "hr", "hour", "hours"), "h"),
    **dict.fromkeys(("m", "min", "minute", "minutes"), "m"),
    **dict.fromkeys(("s", "sec", "second", "seconds"), "s"),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds"), "ms"),
    **dict.fromkeys(("us", "µs", "micro", "micros", "microsecond", "microseconds"), "us"),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds"), "ns"),
}
_LARGEST = 2**63 - 1  # nanoseconds in an int64, as pandas' Timedelta (about 292 years)
_NUMBER = r"\d+(?:\.\d*)?"
_PAIR = re.compile(rf"\s*({_NUMBER})\s*([a-zµ]+)\s*", re.IGNORECASE)
_ISO = re.compile(rf"P(?:({_NUMBER})W)?(?:({_NUMBER})D)?(?:T(?:({_NUMBER})H)?(?:({_NUMBER})M)?(?:({_NUMBER})S)?)?")
_CLOCK = re.compile(r"(?:(\d+)\s*days?\s+)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,9}))?")


def parse_duration(text: str) -> int | None:
    """The duration ``text`` stands for, in nanoseconds (as exact as the text); ``None`` when it is not a
    duration or does not fit an int64 of nanoseconds. A sign is kept: callers refuse what they cannot use."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    body = text[1:].lstrip() if text[:1] in "+-" else text
    found = _iso(body) if body.startswith("P") else _clock(body) if ":" in body else _pairs(body)
    if found is None or found > _LARGEST:
        return None
    return sign * found


def _pairs(body: str) -> int | None:
    total, at = Decimal(0), 0
    while at < len(body):
        match = _PAIR.match(body, at)
        if match is None or match.end() == at:
            return None
        unit = _UNITS.get(match.group(2).lower())
        if unit is None or (match.group(2).isupper() and unit == "m"):  # "M" would be months to some
            return None
        total += Decimal(match.group(1)) * _NS[unit]
        at = match.end()
    return int(total) if at else None


def _iso(body: str) -> int | None:
    match = _ISO.fullmatch(body)
    if match is None or not any(match.groups()):
        return None
    total = Decimal(0)
    for value, unit in zip(match.groups(), ("w", "d", "h", "m", "s"), strict=True):
        if value is not None:
            total += Decimal(value) * _NS[unit]
    return int(total)


def _clock(body: str) -> int | None:
    match = _CLOCK.fullmatch(body)
    if match is None:
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    total = (int(days or 0) * 24 + int(hours)) * 3_600 + int(minutes) * 60 + int(seconds)
    return total * 10**9 + (int(fraction.ljust(9, "0")) if fraction else 0)
