"""The cache directory: frames stored once per distinct content, and one entry per step key.

    <cache>/CACHEDIR.TAG                         marks the directory (backup tools skip it)
    <cache>/objects/ab/<fingerprint>.arrow       a frame (an Arrow IPC file), named by its content fingerprint
    <cache>/entries/cd/<key>.json                what a step with that key gave: output fingerprints, files
    <cache>/steps/<pipeline>/<step>.json         the last key stored for a step, to explain the next miss

Every file is written under a temporary name and renamed into place, so a reader sees a whole file or
none, and two runs storing the same content at once write the same bytes. ``prune`` deletes only files
of these forms.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from kernel_cache.fingerprint import combine, digests

ENTRY_VERSION = 1
TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# A pipeline-kernel step cache (docs/cache.md).\n"
_TMP = ".tmp-"
_OBJECT = re.compile(r"^xxh3:[0-9a-f]{32}\.(arrow|parquet)$")  # .parquet: the format before 2026-12
_SUFFIX = ".arrow"
# Zstandard at level 1: written 2.4x faster than LZ4 Parquet and read back 2x faster, in files of about the same
# size (docs/cache.md). Integrity is the fingerprint check on every read, not a page checksum.
_WRITE = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))
# Rows are written (and compressed) this many bytes of the table at a time: written whole, a large frame's
# compressed copy was made at once, in fresh memory beside the frame (232 MB for a 333 MB frame, 3x slower).
_BATCH_BYTES = 32 << 20
_ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")
_STALE_TMP_S = 3600.0  # a temporary file this old belongs to a writer that was killed


class StoredCopyDiffers(Exception):
    """A stored frame that does not read back as the frame that was stored (a dtype Arrow cannot keep)."""


@dataclass(frozen=True, slots=True)
class Usage:
    entries: int
    objects: int
    bytes: int


class CacheStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # -- objects -----------------------------------------------------------------------------

    def object_path(self, fingerprint: str) -> Path:
        digest = fingerprint.split(":", 1)[1]
        return self.root / "objects" / digest[:2] / f"{fingerprint}{_SUFFIX}"

    def put_frame(self, frame: pd.DataFrame, fingerprint: str, parts: list[str] | None = None) -> None:
        """Store ``frame`` under its fingerprint (``parts``: its :func:`digests`), unless a copy is there."""
        path = self.object_path(fingerprint)
        if path.exists():
            os.utime(path)  # in use: prune goes by last use
            return
        self._ensure()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP}{uuid.uuid4().hex}-{path.name}")
        try:
            table = _to_table(frame, parts or digests(frame))
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=_WRITE) as out:
                out.write_table(table, max_chunksize=batch_rows(table))
            del table
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get_frame(self, fingerprint: str) -> pd.DataFrame:
        """The frame stored under ``fingerprint``, checked to read back with that same fingerprint."""
        path = self.object_path(fingerprint)
        with pa.OSFile(str(path), "rb") as source:  # read whole: nothing points into a file prune may remove
            table = pa.ipc.open_file(source).read_all()
        frame = _from_table(table)
        kept = orjson.loads((table.schema.metadata or {}).get(_META, b"{}")).get("digests")
        if combine(digests(frame, kept)) != fingerprint:
            raise StoredCopyDiffers(f"the stored copy {path.name} does not read back identical")
        os.utime(path)
        return frame

    def drop_frame(self, fingerprint: str) -> None:
        """Remove a stored frame that does not read back (the next run that computes it stores it again)."""
        self.object_path(fingerprint).unlink(missing_ok=True)

    # -- entries -----------------------------------------------------------------------------

    def entry_path(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / f"{key}.json"

    def get_entry(self, key: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = orjson.loads(self.entry_path(key).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        if data.get("schema_version") != ENTRY_VERSION:
            return None
        return data

    def put_entry(self, key: str, entry: Mapping[str, Any]) -> None:
        self._write(self.entry_path(key), {**entry, "schema_version": ENTRY_VERSION, "key": key})
        self._write(self._last_path(entry["pipeline"], entry["step"]), {"key": key})

    def touch(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.entry_path(key))

    def last_entry(self, pipeline: str, step: str) -> dict[str, Any] | None:
        """The entry last stored for this pipeline's step, whatever its key."""
        try:
            key = orjson.loads(self._last_path(pipeline, step).read_bytes())["key"]
        except (FileNotFoundError, orjson.JSONDecodeError, KeyError, TypeError):
            return None
        return self.get_entry(str(key))

    def _last_path(self, pipeline: str, step: str) -> Path:
        return self.root / "steps" / quote(pipeline, safe="") / f"{quote(step, safe='')}.json"

    def _write(self, path: Path, data: Mapping[str, Any]) -> None:
        self._ensure()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP}{uuid.uuid4().hex}-{path.name}")
        try:
            tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _ensure(self) -> None:
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            tag.write_text(TAG)

    # -- listing and pruning -----------------------------------------------------------------

    def entries(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in sorted((self.root / "entries").glob("*/*.json")):
            if _ENTRY.match(path.name):
                try:
                    yield path, orjson.loads(path.read_bytes())
                except (FileNotFoundError, orjson.JSONDecodeError):
                    continue

    def _objects(self) -> Iterator[Path]:
        for path in (self.root / "objects").glob("*/xxh3:*"):
            if _OBJECT.match(path.name):
                yield path

    def usage(self) -> Usage:
        entries = sum(1 for _ in self.entries())
        objects = list(self._objects())
        size = sum(_size(p) for p in objects)
        return Usage(entries, len(objects), size)

    def prune(self, older_than_s: float, *, dry_run: bool = False) -> Usage:
        """Delete entries not used for ``older_than_s`` seconds, then the stored frames no entry left
        refers to and that were not used for as long, and temporary files of killed writers."""
        now = time.time()
        cutoff = now - older_than_s
        removed_entries, kept_refs = 0, set()
        for path, entry in self.entries():
            if _mtime(path) < cutoff:
                removed_entries += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
            else:
                kept_refs.update(entry.get("outputs", {}).values())
        removed_objects, freed = 0, 0
        for path in list(self._objects()):
            fingerprint, suffix = path.name.rsplit(".", 1)
            # A frame in the earlier format is never read again (its entries now miss): only its age counts.
            if (fingerprint not in kept_refs or suffix != _SUFFIX[1:]) and _mtime(path) < cutoff:
                removed_objects += 1
                freed += _size(path)
                if not dry_run:
                    path.unlink(missing_ok=True)
        for path in self.root.glob(f"*/*/{_TMP}*"):
            if _mtime(path) < now - _STALE_TMP_S and not dry_run:
                path.unlink(missing_ok=True)
        if not dry_run:
            for path in (self.root / "steps").glob("*/*.json"):
                last = self.last_entry(unquote(path.parent.name), unquote(path.stem))
                if last is None:
                    path.unlink(missing_ok=True)
        return Usage(removed_entries, removed_objects, freed)


_META = b"kernel_cache"


def _to_table(frame: pd.DataFrame, parts: list[str]) -> pa.Table:
    """The frame as an Arrow table, with what Arrow would lose kept in the table's metadata: which
    columns hold Python objects (Arrow makes text of them) and the categories of categorical columns
    (an empty column loses them)."""
    table = pa.Table.from_pandas(frame, preserve_index=None)
    kept = {
        "digests": parts,
        "object": [str(c) for c, t in frame.dtypes.items() if t == np.dtype(object)],
        "categories": {
            str(c): {"values": t.categories.tolist(), "ordered": bool(t.ordered), "dtype": str(t.categories.dtype)}
            for c, t in frame.dtypes.items()
            if isinstance(t, pd.CategoricalDtype) and not len(frame[c])
        },
    }
    return table.replace_schema_metadata({**(table.schema.metadata or {}), _META: orjson.dumps(kept)})


def batch_rows(table: pa.Table) -> int:
    """Rows per written batch: about ``_BATCH_BYTES`` of the table, at least one row."""
    rows: int = table.num_rows
    return max(1, _BATCH_BYTES * rows // max(1, int(table.nbytes)))


def _from_table(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas()
    kept = orjson.loads((table.schema.metadata or {}).get(_META, b"{}"))
    for name in kept.get("object", []):
        if name in frame.columns and frame[name].dtype != object:
            column = frame[name].astype(object)
            frame[name] = column.where(column.notna(), None)
    for name, spec in kept.get("categories", {}).items():
        if name in frame.columns:
            categories = pd.Index(spec["values"], dtype=spec["dtype"])
            frame[name] = pd.Categorical(frame[name], categories=categories, ordered=spec["ordered"])
    return frame


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
