"""The cache directory: frames stored once per distinct content, and one entry per step key.

    <cache>/CACHEDIR.TAG                         marks the directory (backup tools skip it)
    <cache>/objects/ab/<fingerprint>.arrow       a frame (an Arrow IPC file), named by its content fingerprint
    <cache>/columns/ab/<key>.arrow               a large column of one or more frames, named by its content
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from kernel_cache.fingerprint import combine, digests
from kernel_cache.threads import pool

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
# A column file's batches are smaller: its columns are compressed on several threads at once, each into a
# buffer as large as the batch (32 MB batches of one column held 70 MB of Arrow's memory at the flagship's peak).
_COLUMN_BATCH_BYTES = 4 << 20
# A column this large is kept in a file of its own, named by its content, that every frame holding the same
# column shares: a step that adds a column to its input (the flagship's gold: 13 of 14 columns of the windows,
# 840 MB) stores the one column it made, not again the ones it was given.
_OWN_FILE_BYTES = 1 << 20
_COLUMN = re.compile(r"^xxh3:[0-9a-f]{32}\.arrow$")
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

    def column_path(self, key: str) -> Path:
        digest = key.split(":", 1)[1]
        return self.root / "columns" / digest[:2] / f"{key}{_SUFFIX}"

    def put_frame(self, frame: pd.DataFrame, fingerprint: str, parts: list[str] | None = None) -> None:
        """Store ``frame`` under its fingerprint (``parts``: its :func:`digests`), unless a copy is there.

        Its large columns are stored first, each in a file of its own unless one with the same content is
        there; the frame's file, written last, names them."""
        self.put_handed([frame].pop, fingerprint, parts)

    def put_handed(self, take: Callable[[], pd.DataFrame], fingerprint: str, parts: list[str] | None = None) -> None:
        """:meth:`put_frame` for a frame handed over (``take`` gives it, once): the store holds each large
        column only until its file is written, so a frame the run has let go of is freed a column at a time
        while the next step runs, not once the whole frame is written."""
        path = self.object_path(fingerprint)
        if _still_there(path):
            take()
            return
        self._ensure()
        frame = take()
        parts = parts or digests(frame)
        table = _to_table(frame, parts)
        own = _own_file_columns(frame, table)
        del frame
        shared: dict[str, str] = {}
        writing = []
        for position in own:
            column, name = table.column(position), table.field(position).name
            shared[str(position)] = key = combine([parts[position + 2], str(column.type), str(len(column))])
            table = table.set_column(position, pa.field(name, pa.null()), pa.nulls(len(column)))
            writing.append(pool("column", beside=True).submit(self._put_column, key, column))
            del column
        for written in writing:  # all of them, then the first error if any
            written.exception()
        for written in writing:
            written.result()
        if shared:
            kept = {**orjson.loads(table.schema.metadata[_META]), "columns": shared}
            table = table.replace_schema_metadata({**table.schema.metadata, _META: orjson.dumps(kept)})
        self._put_table(path, table)

    def _put_column(self, key: str, column: pa.ChunkedArray) -> None:
        path = self.column_path(key)
        if _still_there(path):
            return
        self._put_table(path, pa.table({"values": column}), _COLUMN_BATCH_BYTES)

    def _put_table(self, path: Path, table: pa.Table, batch_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP}{uuid.uuid4().hex}-{path.name}")
        try:
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=_WRITE) as out:
                out.write_table(table, max_chunksize=batch_rows(table, batch_bytes or _BATCH_BYTES))
            del table
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get_frame(self, fingerprint: str) -> pd.DataFrame:
        """The frame stored under ``fingerprint``, checked to read back with that same fingerprint.

        A column file that cannot be read, or that reads back with another digest than the frame recorded
        for it, is removed (the run that computes the frame stores it again); the columns other frames share
        with this one are left as they are."""
        path = self.object_path(fingerprint)
        table = _read(path)  # read whole: nothing points into a file prune may remove
        kept = orjson.loads((table.schema.metadata or {}).get(_META, b"{}"))
        columns = {int(position): self.column_path(key) for position, key in kept.get("columns", {}).items()}
        # read side by side: a column's batches are decompressed one after the other
        reading = {position: pool("read").submit(_read_column, where) for position, where in columns.items()}
        for position, read in reading.items():
            try:
                table = _with_column(table, position, read.result())
            except (OSError, pa.ArrowException, StoredCopyDiffers):  # damaged, or not this frame's
                columns[position].unlink(missing_ok=True)
                raise
        frame = _from_table(table)
        recorded = kept.get("digests")
        found = digests(frame, recorded)
        if combine(found) != fingerprint:
            for position, where in columns.items():
                if recorded is None or found[position + 2] != recorded[position + 2]:
                    where.unlink(missing_ok=True)
            raise StoredCopyDiffers(f"the stored copy {path.name} does not read back identical")
        for used in (path, *columns.values()):
            _still_there(used)
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

    def _columns(self) -> Iterator[Path]:
        for path in (self.root / "columns").glob("*/xxh3:*"):
            if _COLUMN.match(path.name):
                yield path

    def usage(self) -> Usage:
        entries = sum(1 for _ in self.entries())
        objects = list(self._objects())
        size = sum(_size(p) for p in [*objects, *self._columns()])
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
        # Then the columns no stored frame names any more, unused for as long.
        named = {key for path in self._objects() for key in _columns_named(path)}
        for path in list(self._columns()):
            if path.name[: -len(_SUFFIX)] not in named and _mtime(path) < cutoff:
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


def _read_column(path: Path) -> pa.ChunkedArray | None:
    """A stored column, or None when its file is gone."""
    try:
        return _read(path).column(0)
    except FileNotFoundError:
        return None


def _with_column(table: pa.Table, position: int, column: pa.ChunkedArray | None) -> pa.Table:
    name = table.field(position).name
    if column is None:
        raise StoredCopyDiffers(f"column {name} of the stored copy is gone")
    if len(column) != table.num_rows:
        raise StoredCopyDiffers(f"column {name} of the stored copy has another length")
    return table.set_column(position, pa.field(name, column.type), column)


def _own_file_columns(frame: pd.DataFrame, table: pa.Table) -> list[int]:
    """The positions of the columns kept in files of their own: the large ones whose content is all in their
    Arrow data (not Python objects, which Arrow makes text of)."""
    return [
        position for position, dtype in enumerate(frame.dtypes)
        if dtype != np.dtype(object) and table.column(position).nbytes >= _OWN_FILE_BYTES
    ]


def _read(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).read_all()


def _columns_named(path: Path) -> list[str]:
    """The column files a stored frame names (none for a frame that cannot be read: prune goes by age)."""
    if not path.name.endswith(_SUFFIX):
        return []
    try:
        with pa.OSFile(str(path), "rb") as source:
            metadata = pa.ipc.open_file(source).schema.metadata or {}
        return list(orjson.loads(metadata.get(_META, b"{}")).get("columns", {}).values())
    except (OSError, pa.ArrowInvalid, orjson.JSONDecodeError):
        return []


def batch_rows(table: pa.Table, batch_bytes: int = _BATCH_BYTES) -> int:
    """Rows per written batch: about ``batch_bytes`` of the table, at least one row."""
    rows: int = table.num_rows
    return max(1, batch_bytes * rows // max(1, int(table.nbytes)))


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


def _still_there(path: Path) -> bool:
    """Whether ``path`` is there, marked as used now (prune goes by last use)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


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
