"""Conform (step 2 of the IoT showcase spec): step type ``iot.conform``.

Telemetry is deduplicated first, then quarantined (resolved detail 1): of the copies of a (device_id, seq)
the one with the smallest ingest_time is kept, ties going to file-name order and then row order; every other
copy is a duplicate. Each kept record gets the first reason that applies, in the order of
:data:`TELEMETRY_REASONS` (detail 2), or none and is conformed. Records before ``installed_at`` are conformed
(detail 9). Events get only the device checks and no deduplication (detail 7).

The period is ``[period_end - refresh, period_end)``; ``period_end`` defaults to the day after the newest
conformed event time (detail 6).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kernel import DataError, Inputs, Outputs, StepSettingsError, parse_duration, take_input
from kernel_iot.uptime import positions, require

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int8]

TELEMETRY_REASONS = ("bad_event_time", "future_event_time", "bad_firmware_version", "unknown_device",
                     "decommissioned")
EVENT_REASONS = ("unknown_device", "decommissioned")
VERSION = r"[0-9]+\.[0-9]+\.[0-9]+"  # matched whole (fullmatch): no "v", no pre-release (detail 3)
FUTURE_SLACK_MS = 5 * 60 * 1000  # event_time > ingest_time + 5 min is in the future (strict, detail 4)
DAY_MS = 86_400_000
NAT = np.iinfo(np.int64).min
ONLINE = ("ONLINE", "DEGRADED")
TELEMETRY_COLUMNS = ("device_id", "seq", "event_time", "ingest_time", "status", "firmware_version", "source_file",
                     "row")


def millis(column: pd.Series) -> Int64s:
    """A UTC timestamp column as int64 milliseconds, :data:`NAT` for null (no copy when already ms)."""
    if not isinstance(column.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(column.dtype):
        raise DataError(f"column '{column.name}' is not a timestamp column ({column.dtype})")
    times = column.array  # a DatetimeArray: read in place (an index of the column would be a copy)
    if times.unit != "ms":
        times = times.as_unit("ms")
    values: Int64s = times.asi8
    return values


def device_codes(column: pd.Series) -> tuple[Int64s, pd.Index]:
    """Integer codes of a device_id column and the ids they stand for (-1: null)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), pd.Index(column.cat.categories)
    codes, uniques = pd.factorize(column)
    return codes.astype(np.int64), pd.Index(uniques)


def duplicate_mask(frame: pd.DataFrame) -> Bools:
    """True for every copy of a (device_id, seq) but the first arrival (detail 1).

    One pass finds the keys seen more than once (:func:`repeated_pairs`); only those rows (a few percent)
    are sorted by (key, ingest_time, source_file, row), and the first of each key is kept.
    """
    dev, _ = device_codes(frame["device_id"])
    seq = frame["seq"].to_numpy(dtype=np.int64)
    key, repeated = repeated_pairs(dev, seq)
    out = np.zeros(len(frame), dtype=bool)
    if not len(repeated):
        return out
    files = frame["source_file"].iloc[repeated]
    if isinstance(files.dtype, pd.CategoricalDtype):  # rank the categories by name: file-name order
        rank = np.argsort(np.argsort(np.asarray(files.cat.categories, dtype=str), kind="stable"))
        file_order = rank[files.cat.codes.to_numpy()]
    else:
        file_order = pd.factorize(files, sort=True)[0]
    order = np.lexsort((frame["row"].to_numpy(dtype=np.int64)[repeated], file_order,
                        millis(frame["ingest_time"])[repeated], key[repeated]))
    sorted_rows = repeated[order]
    sorted_key = key[sorted_rows]
    later = np.concatenate(([False], sorted_key[1:] == sorted_key[:-1]))
    out[sorted_rows[later]] = True
    return out


def repeated_pairs(dev: Int64s, seq: Int64s) -> tuple[Int64s, Int64s]:
    """One int64 per (device code, seq) pair, and the rows whose pair appears more than once, in order.

    A device's sequence numbers are usually dense: when every device's range of them, added up, is at most
    twice the rows, each pair is numbered within its device's range and counted with one ``bincount``
    (twice as fast as hashing ten million keys); otherwise the pair keys are hashed.
    """
    if len(seq):
        code = dev + 1  # -1 (no device id) is a device of its own
        devices = int(code.max()) + 1
        low = np.full(devices, np.iinfo(np.int64).max)
        high = np.full(devices, np.iinfo(np.int64).min)
        np.minimum.at(low, code, seq)
        np.maximum.at(high, code, seq)
        present = np.flatnonzero(high >= low)
        spans = [int(high[d]) - int(low[d]) + 1 for d in present.tolist()]  # Python ints: no overflow
        total = sum(spans)
        if total <= 2 * len(seq) + 4096:
            width = np.zeros(devices, dtype=np.int64)
            width[present] = spans
            base = np.cumsum(width) - width - np.where(high >= low, low, 0)  # key = seq - low + offset
            key = base[code]
            key += seq
            # counts to flags before the gather: it reads a byte per row, not an int64 (78 MB fewer at 10M rows)
            many = np.bincount(key, minlength=total) > 1
            return key, np.flatnonzero(many[key])
    key = _pair_key(dev, seq)
    return key, np.flatnonzero(pd.Series(key, copy=False).duplicated(keep=False).to_numpy())


def _pair_key(dev: Int64s, seq: Int64s) -> Int64s:
    """One int64 per (device code, seq) pair: arithmetic when it fits, else a factorization of the pairs."""
    if not len(seq):
        return seq
    low, span = int(seq.min()), int(seq.max()) - int(seq.min()) + 1
    if (int(dev.max()) + 2) * span < 2**62:
        return (dev + 1) * span + (seq - low)
    pairs = pd.MultiIndex.from_arrays([dev, seq])
    return pd.factorize(pairs)[0].astype(np.int64)


def registry_lookup(devices: pd.DataFrame, ids: pd.Index, codes: Int64s) -> tuple[Bools, Int64s]:
    """For each row's device: is it in the registry, and its decommissioned_at in ms (NAT: none)."""
    pos = pd.Index(devices["device_id"]).get_indexer(ids)
    decom = millis(devices["decommissioned_at"])
    per_id = np.where(pos >= 0, decom[pos], NAT) if len(decom) else np.full(len(ids), NAT, dtype=np.int64)
    known_id = pos >= 0
    # A null device_id (code -1) is unknown: index one past the end, a False / NAT sentinel.
    known_id = np.append(known_id, False)
    per_id = np.append(per_id, NAT)
    return known_id[codes], per_id[codes]


def telemetry_reasons(frame: pd.DataFrame, devices: pd.DataFrame) -> Codes:
    """The reason code of each record: 0 conformed, else 1 + its index in :data:`TELEMETRY_REASONS`."""
    event, ingest = millis(frame["event_time"]), millis(frame["ingest_time"])
    dev, ids = device_codes(frame["device_id"])
    known, decom = registry_lookup(devices, ids, dev)
    bad_time = event == NAT
    future = ~bad_time & (ingest != NAT) & (event > ingest + FUTURE_SLACK_MS)
    bad_version = ~version_ok(frame["firmware_version"])
    gone = known & (decom != NAT) & (event >= decom)
    conditions = [bad_time, future, bad_version, ~known, gone]
    reasons: Codes = np.select(conditions, np.arange(1, 6, dtype=np.int8), np.int8(0))  # first match wins
    return reasons


def text_codes(column: pd.Series) -> tuple[npt.NDArray[np.integer[Any]], list[Any]]:
    """Integer codes of a text column (-1: null; Arrow's int32 for Arrow-backed text) and the distinct values,
    in order of first appearance (a categorical column: its codes and categories, used or not)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), list(column.cat.categories)
    if isinstance(column.dtype, pd.ArrowDtype) or getattr(column.dtype, "storage", None) == "pyarrow":
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        # Arrow's own hashing, in Arrow's memory pool: several times pandas' factorize of the same text.
        text = column.array.__arrow_array__()
        # One chunk is read as it is: combining copies even a single chunk (the text of every record).
        encoded = pc.dictionary_encode(text.chunk(0) if text.num_chunks == 1 else text.combine_chunks())
        uniques: list[Any] = encoded.dictionary.to_pylist()
        indices = encoded.indices
        codes = (indices if indices.null_count == 0 else indices.fill_null(-1)).to_numpy(zero_copy_only=False)
    else:
        codes, found = pd.factorize(column)
        uniques = list(found)
    return codes, uniques


def version_ok(column: pd.Series) -> Bools:
    """Whether each firmware version matches MAJOR.MINOR.PATCH; tested once per distinct value."""
    codes, uniques = text_codes(column)
    ok = pd.Series(uniques, dtype="str").str.fullmatch(VERSION).to_numpy(dtype=bool, na_value=False)
    found: Bools = np.append(ok, False)[codes]  # code -1 (null) is not a version
    return found


HEARD_COLUMNS = ("device_id", "firmware_version", "records_in_period", "last_event_time")


def heard_of(telemetry: pd.DataFrame, period: pd.DataFrame) -> pd.DataFrame:
    """What each device was heard with: per (device_id, firmware_version) of ``telemetry``, the records with an
    event time in the one-row ``period`` (all of them without a period) and the newest event time.

    A few rows per device, sorted by device then version: the steps after the windows read this, so that the
    ten million conformed records can be let go once they are windowed.
    """
    column = telemetry["device_id"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # the codes pandas keeps (int8 to int32), not a copy
        dev, ids = column.cat.codes.to_numpy(), pd.Index(column.cat.categories)
    else:
        dev, ids = device_codes(column)
    ver, versions = text_codes(telemetry["firmware_version"])
    event = millis(telemetry["event_time"])
    width = len(versions) + 1
    size = (len(ids) + 1) * width
    # One code per (device, version), 0 in either part for a null; int32 when it fits: ten million of them.
    key: npt.NDArray[np.signedinteger[Any]] = np.asarray(dev).astype(np.int32 if size < 1 << 31 else np.int64)
    key += 1
    key *= width
    key += ver
    key += 1
    del ver
    pairs: Int64s | None = None
    if size > 4 * len(key) + 4096:  # many pairs that never occur: number the ones that do
        pairs, key = np.unique(key, return_inverse=True)
        size = len(pairs)
    records = np.bincount(key, minlength=size)
    in_period = records
    if len(period):
        start, end = millis(period["period_start"])[0], millis(period["period_end"])[0]
        in_period = np.bincount(key[(event >= start) & (event < end)], minlength=size)
    newest = np.full(size, NAT, dtype=np.int64)
    np.maximum.at(newest, key, event)
    seen = np.flatnonzero(records)
    pair = seen if pairs is None else pairs[seen]
    device, version = pair // width - 1, pair % width - 1
    out = pd.DataFrame({
        "device_id": pd.Series(ids.array.take(device, allow_fill=True), dtype="str"),
        "firmware_version": pd.Series(pd.array(versions, dtype="str").take(version, allow_fill=True)),
        "records_in_period": in_period[seen].astype(np.int64),
        "last_event_time": pd.Series(newest[seen].view("M8[ms]"), dtype="datetime64[ms, UTC]"),
    })
    return out.sort_values(["device_id", "firmware_version"], kind="stable").reset_index(drop=True)


def event_reasons(events: pd.DataFrame, devices: pd.DataFrame) -> Codes:
    """0 conformed, 1 unknown_device, 2 decommissioned (the device checks only, detail 7)."""
    dev, ids = device_codes(events["device_id"])
    known, decom = registry_lookup(devices, ids, dev)
    event = millis(events["event_time"])
    gone = known & (decom != NAT) & (event != NAT) & (event >= decom)
    reasons: Codes = np.select([~known, gone], np.arange(1, 3, dtype=np.int8), np.int8(0))
    return reasons


def split(frame: pd.DataFrame, reasons: Codes, names: tuple[str, ...], skip: Bools | None = None, *,
          consume: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The conformed rows and the quarantined rows (with ``reason``), in input order. ``consume``: the caller
    gives ``frame`` up, and each of its columns is dropped once the conformed rows of it are taken."""
    keep = reasons == 0 if skip is None else (reasons == 0) & ~skip
    bad = reasons > 0 if skip is None else (reasons > 0) & ~skip
    quarantined = rows_where(frame, bad)
    codes = reasons[bad].astype(np.int64) - 1
    quarantined["reason"] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(names)))
    conformed = frame if bool(keep.all()) else rows_where(frame, keep, consume=consume)
    return conformed, quarantined


def rows_where(frame: pd.DataFrame, mask: Bools, *, consume: bool = False) -> pd.DataFrame:
    """``frame[mask]`` numbered from 0, filtered column by column: on ten million rows pandas' take of whole
    blocks costs three to five times numpy's boolean indexing of each column. ``consume``: each column of
    ``frame`` is dropped once filtered (a frame the step owns, ``kernel.take_input``: its memory goes at once)."""
    if not frame.columns.is_unique:
        return frame[mask].reset_index(drop=True)
    names = frame.columns
    columns: dict[Any, pd.Series] = {}
    for name in names:
        columns[name] = pd.Series(frame[name].array[mask], copy=False)
        if consume:
            del frame[name]
    out = pd.DataFrame(columns, columns=names, copy=False)
    out.attrs = dict(frame.attrs)
    return out


def duration(text: str) -> pd.Timedelta | None:
    """A duration such as '7d' or '1min' (the pipeline file's durations), or None when the text is not one."""
    ns = parse_duration(text) if isinstance(text, str) else None
    return None if ns is None else pd.Timedelta(ns, unit="ns")


def period_row(telemetry: pd.DataFrame, period_end: datetime | None, refresh: str | None) -> pd.DataFrame:
    """``[period_end - refresh, period_end)``, by default ending the day after the newest event (detail 6);
    no row without ``refresh`` (a stream's batch has no period of its own)."""
    if refresh is None:
        return pd.DataFrame({name: pd.Series([], dtype="datetime64[ms, UTC]")
                             for name in ("period_start", "period_end", "newest_event_time")})
    length = duration(refresh)
    if length is None or length <= pd.Timedelta(0):
        raise StepSettingsError(f"{refresh!r} is not a positive duration (examples: '7d', '24h')",
                                field="settings.refresh")
    if period_end is not None:
        end = pd.Timestamp(period_end if period_end.tzinfo else period_end.replace(tzinfo=UTC)).tz_convert("UTC")
    else:
        event = telemetry["event_time"]
        if not len(event) or bool(event.isna().all()):
            raise DataError("no conformed telemetry to end the period at (every record was a duplicate or "
                            "quarantined); set period_end")
        end = event.max().floor("D") + pd.Timedelta(days=1)
    end = end.as_unit("ms")
    newest = telemetry["event_time"].max() if len(telemetry) else pd.NaT
    return pd.DataFrame({"period_start": pd.Series([end - length], dtype="datetime64[ms, UTC]"),
                         "period_end": pd.Series([end], dtype="datetime64[ms, UTC]"),
                         # the freshness gate: the newest conformed event must fall inside the period
                         "newest_event_time": pd.Series([newest], dtype="datetime64[ms, UTC]")})


def conform(inputs: Inputs, *, period_end: datetime | None = None, refresh: str | None = "7d") -> Outputs:
    """Deduplicate and quarantine telemetry, check events against the registry, and fix the period."""
    # Telemetry is the step's to let go of: each column goes once its conformed rows are taken.
    telemetry, events = take_input(inputs, "telemetry"), inputs["events"]
    require(telemetry, "telemetry", TELEMETRY_COLUMNS)
    require(events, "events", ("device_id", "event_time"))
    require(inputs["devices"], "devices", ("device_id", "decommissioned_at"))
    devices = inputs["devices"].drop_duplicates("device_id", keep="first").reset_index(drop=True)  # detail 8

    dup = duplicate_mask(telemetry)
    duplicates = rows_where(telemetry, dup)
    reasons = telemetry_reasons(telemetry, devices)
    conformed, quarantine = split(telemetry, reasons, TELEMETRY_REASONS, skip=dup, consume=True)
    # looked up once per category (status is categorical): 10 million rows cost one take
    conformed = conformed.assign(online=(positions(pd.Index(ONLINE), conformed["status"]) >= 0).astype(np.int8))

    good_events, bad_events = split(events, event_reasons(events, devices), EVENT_REASONS)
    counts = pd.DataFrame({
        "telemetry_in": [len(telemetry)], "duplicates": [len(duplicates)], "quarantined": [len(quarantine)],
        "conformed": [len(conformed)], "events_in": [len(events)], "events_quarantined": [len(bad_events)],
        "events_conformed": [len(good_events)],
    })
    period = period_row(conformed, period_end, refresh)
    return {"telemetry": conformed, "events": good_events, "devices": devices,
            "quarantine_telemetry": quarantine, "quarantine_events": bad_events, "duplicates": duplicates,
            "period": period, "heard": heard_of(conformed, period), "counts": counts}
