"""The keys ``transform.dedupe`` has let through in earlier runs (``state_dir``): a plain directory.

::

    <state_dir>/manifest.json           what the store is: the only file a reader starts from
    <state_dir>/keys-<generation>.parquet   the key columns of every row let through (and its time)

As the window's state store (docs/windowing.md#the-state-store-final-false): a run stages a new generation
and the kernel commits it (``manifest.json`` replaced in one rename) once every step of the run has
succeeded; the manifest names the previous generation and fingerprints the records the current one was
made from, so the same records again (a rerun after a kill past the commit) start from the state before
them and come out as one undisturbed run's. ``remember`` forgets keys whose time lies that long behind
the newest time seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernel import DataError, atomic_path, write_text_atomic

FORMAT = "kernel-transform-seen-keys"
VERSION = 1
MANIFEST = "manifest.json"
KIND = "transform.seen"
TIME = "__seen_at"  # nanoseconds since the epoch, UTC: the row's time_column
_FILE = re.compile(r"^keys-(\d+)\.parquet$")


def fingerprint(records: pd.DataFrame, columns: list[str], salt: str | None = None) -> str:
    """The records' key (and time) columns, row by row, and ``salt`` (the run's parameters)."""
    hashes = pd.util.hash_pandas_object(records[columns], index=False).to_numpy()
    digest = hashlib.sha256(hashes.tobytes())
    digest.update(json.dumps([len(records), columns] if salt is None else [len(records), columns, salt]).encode())
    return "sha256:" + digest.hexdigest()


class SeenKeys:
    def __init__(self, directory: str | Path, keys: list[str] | None = None, time_column: str | None = None,
                 salt: str | None = None) -> None:
        self.directory = Path(directory)
        self.salt = salt
        self.keys = keys or []
        self.time_column = time_column
        self._base: dict[str, Any] | None = None
        self.redo = False

    def _fail(self, message: str) -> DataError:
        return DataError(f"state store '{self.directory}': {message}", field="settings.state_dir")

    def _manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {MANIFEST}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
            raise self._fail(f"{MANIFEST} is not a store of seen keys (format '{FORMAT}', version {VERSION})")
        return data

    def _columns(self) -> list[str]:
        return [*self.keys, *([self.time_column] if self.time_column else [])]

    def load(self, records: pd.DataFrame) -> tuple[pd.DataFrame | None, int | None]:
        """The keys let through before, and the newest time seen (ns); the state before the current one when
        ``records`` are exactly those it was made from (:attr:`redo`)."""
        current = self._manifest()
        base = current
        self.redo = False
        if current is not None and current.get("records") == fingerprint(records, self._columns(), self.salt):
            base, self.redo = current.get("previous"), True
        self._base = base
        if base is None:
            return None, None
        if base.get("keys") != self.keys:
            raise self._fail(f"the saved keys are ({', '.join(base.get('keys') or [])}), not "
                             f"({', '.join(self.keys)}); use another state_dir, or delete this one to start over")
        try:
            seen = pd.read_parquet(self.directory / base["file"])
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {base['file']}: {exc}") from None
        return seen, base.get("newest")

    def stage(self, seen: pd.DataFrame, newest: int | None, records: pd.DataFrame) -> dict[str, Any]:
        current = self._manifest()
        numbers = [int(m.group(1)) for p in self.directory.iterdir() if (m := _FILE.match(p.name))] \
            if self.directory.is_dir() else []
        generation = max([0, *numbers, int(current["generation"]) if current else 0]) + 1
        name = f"keys-{generation:06d}.parquet"
        try:
            with atomic_path(self.directory / name) as tmp:
                seen.to_parquet(tmp, index=False)
        except (TypeError, ValueError, ImportError) as exc:
            raise self._fail(f"cannot save the keys: {exc}") from None
        previous = {k: v for k, v in self._base.items() if k != "previous"} if self._base else None
        return {"format": FORMAT, "version": VERSION, "generation": generation, "keys": self.keys,
                "time_column": self.time_column, "file": name, "rows": len(seen), "newest": newest,
                "records": fingerprint(records, self._columns(), self.salt), "previous": previous}

    def commit(self, manifest: dict[str, Any]) -> None:
        write_text_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        self._base = manifest
        self._collect(_named(manifest))

    def discard(self, manifest: dict[str, Any]) -> None:
        current = self._manifest()
        if manifest["file"] not in (_named(current) if current else set()):
            (self.directory / manifest["file"]).unlink(missing_ok=True)

    def recover(self) -> None:
        if self.directory.is_dir():
            current = self._manifest()
            self._collect(_named(current) if current else set())

    def _collect(self, keep: set[str]) -> None:
        for path in self.directory.iterdir():
            stale = _FILE.match(path.name) and path.name not in keep
            leftover = path.name.startswith((".keys-", f".{MANIFEST}.")) and path.name.endswith(".tmp")
            if stale or leftover:
                path.unlink(missing_ok=True)


def _named(manifest: dict[str, Any]) -> set[str]:
    names = {manifest["file"]}
    if manifest.get("previous"):
        names.add(manifest["previous"]["file"])
    return names


def utc_ns(values: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """A time column as int64 nanoseconds, UTC (naive is UTC, text is parsed); NaT as the smallest int64."""
    stamps = values if isinstance(values.dtype, pd.DatetimeTZDtype) else pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)
