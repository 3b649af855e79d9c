"""Ingest (step 1 of the IoT showcase spec): step type ``iot.ingest``.

Telemetry and device events are Avro files read by ``kernel_io``'s columnar reader, a file per thread on as
many threads as there are cores (the decoder and the hash release the interpreter's lock), after checking
each file's writer schema against the declared one of :mod:`kernel_iot.schemas` the way Avro schema
resolution would: every declared field present (a missing nullable one becomes nulls), the same kind (int
is promoted to long), enum symbols within the declared ones, and no null in a field declared required. The
registry and the ground truth are JSON.

Every file read is reported with its row count, dtypes and the SHA-256 of its bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
from kernel_io import Column, Source, avro_record_count, describe, read_avro, read_json, resolve, schema_columns

from kernel import DataError, Inputs, Outputs, StepContext
from kernel_iot.placed import Placed, can_place, place_file, placed_columns
from kernel_iot.schemas import DEVICE, DEVICE_EVENT, TELEMETRY

# Columns made categorical while reading: few distinct values over millions of rows. As text, firmware_version
# was 122 MB at 1,000 devices x 7 days (about 12 MB as codes), held by ingest, conform and the window step's
# input and output (last_firmware_version); the gold tables write it as text again (kernel_iot.gold).
TELEMETRY_CATEGORIES = ("device_id", "firmware_version")
REGISTRY_COLUMNS = ("device_id", "model", "site", "installed_at", "decommissioned_at")
TRUTH_COLUMNS = ("device_id", "minute")


def content_hash(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes, read in chunks (no copy of the file in memory)."""
    with path.open("rb") as fo:
        return "sha256:" + hashlib.file_digest(fo, "sha256").hexdigest()


def writer_columns(path: Path) -> dict[str, Column]:
    """The columns the file's own (writer) schema declares, read from its header only."""
    try:
        with path.open("rb") as fo:
            schema = json.loads(fastavro.reader(fo).metadata["avro.schema"])
        return {column.name: column for column in schema_columns(schema)}
    except Exception as exc:  # fastavro and json report a damaged header with many exception types
        raise DataError(f"not a readable Avro file: {type(exc).__name__}: {describe(exc)}", file=path) from None


def check_schema(path: Path, found: Mapping[str, Column], declared: Sequence[Column], record: str) -> None:
    """Refuse a file whose writer schema cannot be resolved to the declared record (Avro resolution rules)."""
    for want in declared:
        have = found.get(want.name)
        if have is None:
            if not want.nullable:
                raise DataError(f"field '{want.name}' of {record} is missing from the file's schema", file=path)
            continue
        if have.kind != want.kind:
            raise DataError(f"field '{want.name}' is {have.kind} in the file's schema; {record} declares "
                            f"{want.kind}", file=path)
        extra = [s for s in have.symbols if s not in want.symbols]
        if extra:
            raise DataError(f"field '{want.name}' has symbol(s) {', '.join(extra)} that {record} does not "
                            f"declare ({', '.join(want.symbols)})", file=path)


def conform_columns(frame: pd.DataFrame, path: Path, declared: Sequence[Column],
                    categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The declared dtypes: declared enum categories, UTC milliseconds, nullable ints and booleans."""
    out: dict[str, Any] = {}
    for col in declared:
        if col.name not in frame.columns:  # a nullable field the writer did not have
            missing = _nulls(col, len(frame))
            out[col.name] = missing.astype("category") if col.name in categorical else missing
            continue
        values = frame[col.name]
        if not col.nullable and bool(values.isna().any()):
            raise DataError(f"field '{col.name}' has {int(values.isna().sum())} null value(s) but is declared "
                            "required", file=path)
        if col.kind == "enum":
            values = values.cat.set_categories(list(col.symbols))
        elif col.kind == "timestamp":
            values = values.dt.tz_localize("UTC") if values.dt.tz is None else values
            values = values.dt.as_unit("ms")
        elif col.kind == "long":
            values = values.astype("Int64" if col.nullable else "int64")
        elif col.kind == "boolean":
            values = values.astype("boolean" if col.nullable else "bool")
        elif col.kind == "string" and col.name in categorical:
            values = values.astype("category")
        out[col.name] = values
    return pd.DataFrame(out, copy=False)


def declared_dtype(col: Column, categorical: Sequence[str] = ()) -> str:
    """The dtype ``conform_columns`` gives a declared column, as ``str(dtype)`` names it."""
    if col.kind == "enum" or (col.kind == "string" and col.name in categorical):
        return "category"
    return {"timestamp": "datetime64[ms, UTC]", "long": "Int64" if col.nullable else "int64", "double": "float64",
            "boolean": "boolean" if col.nullable else "bool", "string": "str"}.get(col.kind, "object")


def _nulls(col: Column, rows: int) -> Any:
    dtype: Any = {"enum": pd.CategoricalDtype(list(col.symbols)), "timestamp": "datetime64[ms, UTC]", "long": "Int64",
             "boolean": "boolean", "double": "float64", "string": "str"}.get(col.kind, object)
    fill: Any = pd.NA if dtype in ("Int64", "boolean") else None
    return pd.Series(fill, index=pd.RangeIndex(rows), dtype=dtype)


def read_avro_sources(sources: Sequence[Source], schema: Mapping[str, Any], *, categorical: Sequence[str] = (),
                      ctx: StepContext | None = None, origin: bool = False) -> pd.DataFrame:
    """Read the files into one frame, in their order; ``origin`` adds ``source_file`` and ``row``.

    Files are read on a few threads; a file that cannot be read is reported as the first such file in order.
    Where every declared column can be made before reading (``kernel_iot.placed``), the files' records are
    written straight into it; otherwise each file becomes a frame and the frames are joined.
    """
    declared = schema_columns(dict(schema))
    names = [c.name for c in declared]
    record = f"{schema.get('namespace', '')}.{schema['name']}".lstrip(".")
    placed: dict[str, Placed] | None = None
    counts: list[int] = []
    if can_place(declared, categorical):  # a file the blocks of which do not add up is read the other way
        known = [avro_record_count(source.path) for source in sources]
        counts = [n for n in known if n is not None]
        total = sum(counts, 0)
        if len(counts) == len(sources) and total:
            placed = placed_columns(declared, total)
    starts = np.cumsum([0, *counts])
    declared_types = {c.name: declared_dtype(c, categorical) for c in declared}

    def conformed(source: Source) -> pd.DataFrame:
        return conform_columns(read_avro(source.path, names), source.path, declared, categorical)

    def read_one(index: int) -> tuple[pd.DataFrame | int, str]:
        source = sources[index]
        found = writer_columns(source.path)
        check_schema(source.path, found, declared, record)
        digest = content_hash(source.path)
        if placed is None:
            return conformed(source), digest
        place_file(source.path, found, placed, int(starts[index]), counts[index], lambda: conformed(source))
        return counts[index], digest

    parts: list[dict[str, pd.Series]] = []
    lengths: list[int] = []
    threads = max(1, min(len(sources), os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(threads, thread_name_prefix="iot-ingest") as pool:
        # map yields in file order, so files are reported (and a bad one refused) in order
        for source, (read, digest) in zip(sources, pool.map(read_one, range(len(sources))), strict=True):
            if isinstance(read, pd.DataFrame):
                parts.append({name: read[name] for name in names})
                lengths.append(len(read))
            else:
                lengths.append(read)
            if ctx is not None:
                columns = dtypes(read) if isinstance(read, pd.DataFrame) else declared_types
                ctx.read(source.path, "avro", rows=lengths[-1], columns=columns, content_hash=digest)
            del read
            if ctx is not None:
                ctx.progress(sum(lengths), unit="records")
    frame = concat_columns(parts, names) if placed is None else pd.DataFrame(
        {name: column.array() for name, column in placed.items()}, copy=False)
    if origin:
        files = pd.CategoricalDtype([s.name for s in sources])  # categories in file-name order
        codes = np.repeat(np.arange(len(sources), dtype=np.int32), lengths)
        frame["source_file"] = pd.Categorical.from_codes(codes, dtype=files)
        frame["row"] = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
    return frame


def concat_columns(parts: list[dict[str, pd.Series]], names: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-file columns one column at a time, releasing each file's copy as it goes.

    Categoricals are unioned (pandas would fall back to object when files have different categories),
    so peak memory is the result plus one column, not twice the result.
    """
    out: dict[str, Any] = {}
    for name in names:
        pieces = [part.pop(name) for part in parts]
        if len(pieces) == 1:
            out[name] = pieces[0].reset_index(drop=True)
        elif isinstance(pieces[0].dtype, pd.CategoricalDtype):
            same = all(p.dtype == pieces[0].dtype for p in pieces)
            out[name] = pd.Series(pd.api.types.union_categoricals(pieces, sort_categories=not same), copy=False)
        else:
            out[name] = pd.concat(pieces, ignore_index=True)
        del pieces
    return pd.DataFrame(out, copy=False)


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


def _refuse_object(path: Path) -> None:
    """A registry that is one JSON object (``{"devices": [...]}``, or an object written over several lines)
    is not a list of devices; a one-line object is JSON lines holding one device."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        data = json.loads(text) if text.startswith("{") else None
    except (OSError, UnicodeDecodeError, ValueError):
        return  # read_json says what is wrong
    if isinstance(data, dict) and ("\n" in text or any(isinstance(v, dict | list) for v in data.values())):
        raise DataError("the registry is a JSON object; expected an array of devices (or JSON lines, one "
                        "device per line)", file=path)


def read_registry(path: Path, ctx: StepContext | None = None) -> pd.DataFrame:
    """The device registry (JSON array or lines); times to UTC (no offset = UTC); first row of a repeated id."""
    if not path.is_file():
        raise DataError("no such file (the device registry)", file=path)
    _refuse_object(path)
    raw = read_json(path)
    if ctx is not None:
        ctx.read(path, "json", rows=len(raw), columns=dtypes(raw), content_hash=content_hash(path))
    declared = {c.name: c for c in schema_columns(DEVICE)}
    out: dict[str, Any] = {}
    for name in REGISTRY_COLUMNS:
        col = declared[name]
        if name not in raw.columns:
            if not col.nullable and len(raw):  # an empty registry is one: every device is unknown
                raise DataError(f"the registry has no field '{name}'", file=path)
            out[name] = pd.Series(pd.NaT if col.kind == "timestamp" else None, index=raw.index,
                                  dtype="datetime64[ms, UTC]" if col.kind == "timestamp" else "str")
            continue
        values = raw[name]
        if not col.nullable and bool(values.isna().any()):
            raise DataError(f"field '{name}' is null in {int(values.isna().sum())} registry row(s)", file=path)
        if col.kind == "timestamp":
            out[name] = _utc_times(values, name, path)
        else:
            if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
                raise DataError(f"field '{name}' of the registry holds values that are not text", file=path)
            out[name] = values.astype("str")
    frame = pd.DataFrame(out, copy=False)
    return frame.drop_duplicates("device_id", keep="first").reset_index(drop=True)  # resolved detail 8


def _utc_times(values: pd.Series, name: str, path: Path) -> pd.Series:
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as exc:
        for row, value in enumerate(values, start=1):  # name the first record that does not parse
            try:
                pd.to_datetime(pd.Series([value]), utc=True, format="ISO8601")
            except (ValueError, TypeError, OverflowError):
                raise DataError(f"record {row}: field '{name}' is not an ISO-8601 date-time: {value!r}",
                                file=path) from None
        raise DataError(f"field '{name}' is not ISO-8601 date-times: {describe(exc)}", file=path) from None
    return parsed.dt.as_unit("ms")


def read_truth(path: Path | None, ctx: StepContext | None = None) -> pd.DataFrame:
    """The generator's ground truth (device_id, minute); empty with those columns when there is none."""
    if path is None or not path.exists():
        return pd.DataFrame({"device_id": pd.Series([], dtype="str"),
                             "minute": pd.Series([], dtype="datetime64[ms, UTC]")})
    raw = read_json(path)
    if ctx is not None:
        ctx.read(path, "json", rows=len(raw), columns=dtypes(raw), content_hash=content_hash(path))
    missing = [name for name in TRUTH_COLUMNS if name not in raw.columns]
    if missing and len(raw):
        raise DataError(f"the ground truth has no field '{missing[0]}'", file=path)
    if missing:
        return read_truth(None)
    return pd.DataFrame({"device_id": raw["device_id"].astype("str"),
                         "minute": _utc_times(raw["minute"], "minute", path)})


def telemetry_sources(path: str) -> list[Source]:
    """The telemetry files, in file-name order; no file at all stops the run (nothing to publish)."""
    where = Path(path)
    if where.is_dir() and not any(p.suffix.lower() == ".avro" and not p.name.startswith(".")
                                  for p in where.iterdir() if p.is_file()):
        raise DataError("no telemetry: the directory holds no .avro files; nothing is computed or published",
                        file=where)
    _, sources = resolve(path, "avro")
    return sources


def split_by_files(settings: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """The settings of each part of a split ingest: the telemetry files in at most ``count`` runs of
    consecutive files of about equal size; the first part also reads the events, registry and truth."""
    if settings.get("telemetry") is None:
        return [dict(settings)]
    sources = telemetry_sources(str(settings["telemetry"]))
    sizes = np.array([source.path.stat().st_size for source in sources], dtype=np.float64)
    parts = min(count, len(sources))
    ends = np.cumsum(sizes)
    # A run ends where the running size first reaches its share of the total (each run keeps a file).
    cuts = [int(np.searchsorted(ends, ends[-1] * k / parts, side="left")) + 1 for k in range(1, parts)]
    bounds = [0]
    for k, cut in enumerate(cuts, start=1):
        bounds.append(min(max(cut, bounds[-1] + 1), len(sources) - (parts - k)))
    bounds.append(len(sources))
    return [{**settings, "telemetry_files": [s.name for s in sources[a:b]], "telemetry_only": k > 0}
            for k, (a, b) in enumerate(itertools.pairwise(bounds))]


def combine_files(parts: list[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The whole ingest from its parts: the telemetry of every part in order (categories unioned as one
    read unions them), the other outputs as the first part read them."""
    names = list(parts[0]["telemetry"].columns)
    telemetry = concat_columns([{name: part["telemetry"][name] for name in names} for part in parts], names)
    return {"telemetry": telemetry, "events": parts[0]["events"], "devices": parts[0]["devices"],
            "truth": parts[0]["truth"]}


def ingest(inputs: Inputs, *, telemetry: str | None, events: str, devices: str, truth: str | None = None,
           telemetry_files: list[str] | None = None, telemetry_only: bool = False,
           ctx: StepContext | None = None) -> Outputs:
    """Read telemetry and events (Avro) and the registry and ground truth (JSON) with their declared schemas.

    ``telemetry_files`` and ``telemetry_only`` are a part's, when the step runs in parts
    (``partitions: {count: N}``): the names of the telemetry files it reads, and whether it reads nothing else.
    """
    # telemetry None: the reference data alone (a stream's period reads its telemetry from the sink)
    sources = [] if telemetry is None else telemetry_sources(telemetry)
    if telemetry_files is not None:
        wanted = set(telemetry_files)
        sources = [source for source in sources if source.name in wanted]
    tele = read_avro_sources(sources, TELEMETRY, categorical=TELEMETRY_CATEGORIES, ctx=ctx, origin=True) \
        if sources else pd.DataFrame()
    if telemetry_only:
        return {"telemetry": tele, "events": pd.DataFrame(), "devices": pd.DataFrame(), "truth": pd.DataFrame()}
    _, event_files = resolve(events, "avro")
    evts = read_avro_sources(event_files, DEVICE_EVENT, ctx=ctx)
    for name in ("from_version", "to_version", "detail"):  # small frame: object with None, as the contract says
        evts[name] = evts[name].astype(object).where(evts[name].notna(), None)
    registry = read_registry(Path(devices), ctx)
    return {"telemetry": tele, "events": evts, "devices": registry,
            "truth": read_truth(Path(truth) if truth else None, ctx)}
