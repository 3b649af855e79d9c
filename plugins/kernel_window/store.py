"""The state store of ``window.tumbling`` (rule 10, ``final: false``): a plain directory any tool can read.

::

    <state_dir>/manifest.json             what the state is; the only file a reader starts from
    <state_dir>/windows-<generation>.parquet   the open windows of that generation (a partial table)

A save is two steps: :meth:`StateStore.stage` writes a new Parquet file under a new generation number,
and :meth:`StateStore.commit` replaces ``manifest.json`` in one rename (:func:`kernel.atomic_path`). In a
run, the commit waits until every step of the run has succeeded (the kernel's staged writes), so a run
that fails, is interrupted or killed leaves the previous manifest, and the files it names, as they were.

The manifest keeps the previous generation too, and a fingerprint of the records the current one was made
from: a run given exactly those records again is a re-run of that refresh (after a crash past the commit,
say), and starts from the previous state instead of counting them twice. ``docs/windowing.md`` documents
every field.
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
from kernel_window.settings import WindowConfig
from kernel_window.tumbling import WindowState

FORMAT = "kernel-window-tumbling-state"
VERSION = 1
MANIFEST = "manifest.json"
_FILE = re.compile(r"^(?:windows|held)-(\d+)\.parquet$")
# Partial-table columns holding nanoseconds since the epoch; Parquet stores them as UTC timestamps.
_TIMES = ("window_start", "first:event_time", "last:event_time")


def _iso(ns: int | None) -> str | None:
    return None if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()


def _ns(text: str | None) -> int | None:
    return None if text is None else int(pd.Timestamp(text).value)


def records_fingerprint(records: pd.DataFrame, config: WindowConfig, salt: str | None = None) -> str:
    """``sha256:<hex>`` of the columns the step reads from its records, row by row in order, and of ``salt``
    (the run's parameters and ``hold``): the same records in a run with other parameters (another file of a
    stream, another time to hold to) are another batch, not the same one again."""
    wanted = [config.time_column, config.arrival_column, *config.keys, *config.order_by,
              *(a.column for a in config.aggregations)]
    columns = list(dict.fromkeys(c for c in wanted if c is not None and c in records.columns))
    hashes = pd.util.hash_pandas_object(records[columns], index=False).to_numpy()
    digest = hashlib.sha256(hashes.tobytes())
    digest.update(json.dumps([len(records), columns] if salt is None else [len(records), columns, salt]).encode())
    return "sha256:" + digest.hexdigest()


class StateStore:
    """The state of one windowing step in ``directory``, for one configuration.

    ``run_id`` and ``step`` say who writes (kept in the manifest for people to read). One step writes one
    directory: in a run the kernel locks it (``claims``), so two runs never write it at once. ``config``
    is needed to load and stage, not to commit, discard or recover.
    """

    def __init__(self, directory: str | Path, config: WindowConfig | None = None, *, run_id: str | None = None,
                 step: str | None = None, salt: str | None = None) -> None:
        self.directory = Path(directory)
        self.config = config
        self.salt = salt
        self.run = {"id": run_id, "step": step}
        self._base: dict[str, Any] | None = None
        self.redo = False  # whether load() found a re-run of the current state's own records

    def _config(self) -> WindowConfig:
        if self.config is None:
            raise ValueError("a StateStore needs the step's config to load or stage a state")
        return self.config

    def _fail(self, message: str) -> DataError:
        return DataError(f"state store '{self.directory}': {message}", field="settings.state_dir")

    def _manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {MANIFEST}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise self._fail(f"{MANIFEST} is not a window state (format '{FORMAT}')")
        if data.get("version") != VERSION:
            raise self._fail(f"state version {data.get('version')} is not supported (expected {VERSION})")
        return data

    def load(self, records: pd.DataFrame | None = None) -> WindowState | None:
        """The saved state, or ``None`` when there is none yet; a state of other settings is refused.

        Given the run's ``records``: when they are exactly the records the current state was made from,
        this is a re-run of that refresh, and the state before it is returned (:attr:`redo` says so).
        """
        config = self._config()
        current = self._manifest()
        base = current
        self.redo = False
        made_from = current.get("records") if current is not None else None
        if made_from is not None and records is not None and \
                made_from == records_fingerprint(records, config, self.salt):
            base, self.redo = current.get("previous") if current is not None else None, True
        self._base = base
        if base is None:
            return None
        expected = config.fingerprint()
        saved = base.get("config", {})
        changed = [name for name in expected if saved.get(name) != expected[name]]
        if changed:
            name = changed[0]
            raise self._fail(f"the saved state was made with other settings ({name}: {saved.get(name)!r}, now "
                             f"{expected[name]!r}); use another state_dir, or delete this one to start over")
        windows = self._read(base["windows"]["file"])
        return WindowState(watermark=_ns(base.get("watermark")), last_batch=base.get("last_batch"),
                           windows=windows)

    def held(self) -> pd.DataFrame | None:
        """The records the state :meth:`load` returned kept back for a later run (``hold``), in arrival order;
        ``None`` when it kept none."""
        held = self._base.get("held") if self._base else None
        if not held:
            return None
        try:
            return pd.read_parquet(self.directory / held["file"])
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {held['file']}: {exc}") from None

    def _generations(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return [int(m.group(1)) for p in self.directory.iterdir() if (m := _FILE.match(p.name))]

    def _read(self, name: str) -> pd.DataFrame:
        try:
            frame = pd.read_parquet(self.directory / name)
        except (OSError, ValueError) as exc:
            raise self._fail(f"cannot read {name}: {exc}") from None
        for column in frame.columns:
            if column in _TIMES:
                frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None).astype(
                    "datetime64[ns]").to_numpy().view(np.int64)
        return frame

    def save(self, state: WindowState, records: pd.DataFrame | None = None) -> None:
        """Stage and commit at once (outside a run)."""
        self.commit(self.stage(state, records))

    def stage(self, state: WindowState, records: pd.DataFrame | None = None,
              held: pd.DataFrame | None = None, until: str | None = None) -> dict[str, Any]:
        """Write ``state`` as the next generation's file and return the manifest that will name it; nothing
        reads it until :meth:`commit`. ``records`` (the run's input) are fingerprinted for re-runs; ``held``
        are records kept back for the next run (``hold``), written beside the windows.

        The manifest's ``previous`` is the state :meth:`load` started from (none without a load).
        """
        config = self._config()
        current = self._manifest()
        # Never reuse a number: a killed save may have left a file under the next one.
        generation = max([0, *self._generations(), int(current["generation"]) if current else 0]) + 1
        name = f"windows-{generation:06d}.parquet"
        frame = state.windows.copy()
        for column in frame.columns:
            if column in _TIMES:
                frame[column] = pd.Series(frame[column].to_numpy(np.int64).view("M8[ns]")).dt.tz_localize("UTC")
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(self.directory / name) as tmp:
                frame.to_parquet(tmp, index=False)
        except (TypeError, ValueError, ImportError) as exc:  # pyarrow cannot store some object columns
            raise self._fail(f"cannot save the open windows: {exc}") from None
        held_entry = None
        if held is not None and len(held):
            held_name = f"held-{generation:06d}.parquet"
            try:
                with atomic_path(self.directory / held_name) as tmp:
                    held.to_parquet(tmp, index=False)
            except (TypeError, ValueError, ImportError) as exc:
                raise self._fail(f"cannot save the held records: {exc}") from None
            held_entry = {"file": held_name, "rows": len(held), "until": until}
        previous = {k: v for k, v in self._base.items() if k != "previous"} if self._base else None
        return {
            "format": FORMAT,
            "version": VERSION,
            "generation": generation,
            "run": self.run,
            "config": config.fingerprint(),
            "watermark": _iso(state.watermark),
            "last_batch": state.last_batch,
            "last_batch_start": _iso(state.last_batch * config.trigger)
            if state.last_batch is not None and config.trigger is not None else None,
            "windows": {"file": name, "rows": len(frame), "columns": [str(c) for c in frame.columns]},
            "records": records_fingerprint(records, config, self.salt) if records is not None else None,
            "held": held_entry,
            "previous": previous,
        }

    def commit(self, manifest: dict[str, Any]) -> None:
        """Make a staged state current: replace ``manifest.json`` in one rename, then remove what no manifest
        names. Idempotent: committing the current manifest again changes nothing."""
        write_text_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        self._base = manifest
        self._collect(_named(manifest))

    def discard(self, manifest: dict[str, Any]) -> None:
        """Remove a staged generation's file (unless a manifest names it)."""
        current = self._manifest()
        named = _named(current) if current else set()
        for name in _named(manifest, previous=False) - named:
            (self.directory / name).unlink(missing_ok=True)

    def recover(self) -> None:
        """Remove what a stopped run left: staged files no manifest names, temporary files of killed saves."""
        if not self.directory.is_dir():
            return
        current = self._manifest()
        self._collect(_named(current) if current is not None else set())

    def _collect(self, keep: set[str]) -> None:
        """Remove window files no manifest names any more, and temporary files of killed saves."""
        for path in self.directory.iterdir():
            stale = _FILE.match(path.name) and path.name not in keep
            leftover = path.name.startswith((".windows-", ".held-", f".{MANIFEST}.")) and path.name.endswith(".tmp")
            if stale or leftover:
                path.unlink(missing_ok=True)


def _named(manifest: dict[str, Any], *, previous: bool = True) -> set[str]:
    """The files a manifest names (with its ``previous`` one's)."""
    names = {manifest["windows"]["file"]}
    if manifest.get("held"):
        names.add(manifest["held"]["file"])
    if previous and manifest.get("previous"):
        names |= _named(manifest["previous"], previous=False)
    return names
