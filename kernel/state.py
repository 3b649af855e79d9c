"""A step's state between runs (a window's open windows, the keys a dedupe let through, each device's last
windows): a plain directory any tool can read, made current only when the whole run succeeds.

::

    <directory>/manifest.json            what the state is: the only file a reader starts from
    <directory>/<role>-<generation>.parquet   the state's tables of that generation, one file per role

A save is two steps. :meth:`StateStore.stage` writes the new generation's files under a number never
used before and returns the manifest that will name them; :meth:`StateStore.commit` replaces
``manifest.json`` in one rename. In a run the step hands the manifest to :meth:`StateStore.keep`, and
the kernel commits it once every step has succeeded (or discards it), so a run that fails, is
interrupted or killed leaves the previous manifest, and the files it names, as they were.

The manifest keeps the previous generation too, and a fingerprint of the records the current one was
made from (with the run's parameters): the same records again, a re-run after a kill past the commit,
start from the state before them and come out as one undisturbed run's (:attr:`StateStore.redo`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel.atomic import atomic_path, write_text_atomic
from kernel.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from kernel.steps import StepContext

KIND = "kernel.state"  # the kind of a staged state (StepContext.stage); the kernel commits it itself
MANIFEST = "manifest.json"


def fingerprint(records: pd.DataFrame, columns: list[str], salt: str | None = None) -> str:
    """``sha256:<hex>`` of ``records``' ``columns``, row by row in order, and of ``salt`` (the run's
    parameters): the same records in a run with other parameters are another batch, not this one again."""
    import pandas as pd

    present = [c for c in dict.fromkeys(columns) if c in records.columns]
    hashes = pd.util.hash_pandas_object(records[present], index=False).to_numpy()
    digest = hashlib.sha256(hashes.tobytes())
    digest.update(json.dumps([len(records), present] if salt is None else [len(records), present, salt]).encode())
    return "sha256:" + digest.hexdigest()


class StateStore:
    """The state of one step in ``directory``: tables named by ``roles``, a manifest of ``format`` and
    ``version`` (``what`` names it in errors). One step writes one directory: in a run the kernel locks
    it (the step type's ``claims``), so two runs never write it at once."""

    def __init__(self, directory: str | Path, *, format: str, version: int, roles: tuple[str, ...],
                 what: str = "state") -> None:
        self.directory = Path(directory)
        self.format, self.version, self.roles, self.what = format, version, roles, what
        self._file = re.compile(rf"^(?:{'|'.join(map(re.escape, roles))})-(\d+)\.parquet$")
        self.base: dict[str, Any] | None = None  # the manifest load() started from
        self.redo = False  # whether load() found a re-run of the current state's own records

    fingerprint = staticmethod(fingerprint)

    def fail(self, message: str) -> DataError:
        return DataError(f"state store '{self.directory}': {message}", field="settings.state_dir")

    def manifest(self) -> dict[str, Any] | None:
        """The current manifest, or ``None`` when there is no state yet."""
        try:
            data = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self.fail(f"cannot read {MANIFEST}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != self.format:
            raise self.fail(f"{MANIFEST} is not a {self.what} (format '{self.format}')")
        if data.get("version") != self.version:
            raise self.fail(f"state version {data.get('version')} is not supported (expected {self.version})")
        return data

    def load(self, made_from: str | None = None) -> dict[str, Any] | None:
        """The manifest of the state to start from (``None``: none yet). When ``made_from`` is the fingerprint
        the current state was made from, this is a re-run of that batch: the state before it (``redo``)."""
        current = self.manifest()
        base, self.redo = current, False
        if current is not None and made_from is not None and current.get("records") == made_from:
            base, self.redo = current.get("previous"), True
        self.base = base
        return base

    def read(self, role: str) -> pd.DataFrame | None:
        """The ``role`` table of the state :meth:`load` returned; ``None`` when it has none."""
        import pandas as pd

        entry = self.base.get(role) if self.base else None
        if not entry:
            return None
        try:
            return pd.read_parquet(self.directory / entry["file"])
        except (OSError, ValueError) as exc:
            raise self.fail(f"cannot read {entry['file']}: {exc}") from None

    def stage(self, tables: Mapping[str, pd.DataFrame | None], made_from: str | None, **fields: Any
              ) -> dict[str, Any]:
        """Write ``tables`` (role -> table; ``None`` writes none) as the next generation and return the manifest
        that will name them, with ``fields``; nothing reads them until :meth:`commit`. Its ``previous`` is the
        state :meth:`load` started from."""
        current = self.manifest()
        used = [int(m.group(1)) for p in self.directory.iterdir() if (m := self._file.match(p.name))] \
            if self.directory.is_dir() else []
        # Never reuse a number: a killed save may have left a file under the next one.
        generation = max([0, *used, int(current["generation"]) if current else 0]) + 1
        self.directory.mkdir(parents=True, exist_ok=True)
        entries: dict[str, Any] = {}
        for role, table in tables.items():
            if role not in self.roles:
                raise ValueError(f"{role!r} is not a role of this store ({', '.join(self.roles)})")
            if table is None:
                entries[role] = None
                continue
            name = f"{role}-{generation:06d}.parquet"
            try:
                with atomic_path(self.directory / name) as tmp:
                    table.to_parquet(tmp, index=False)
            except (TypeError, ValueError, ImportError) as exc:  # pyarrow cannot store some object columns
                raise self.fail(f"cannot save {role}: {exc}") from None
            entries[role] = {"file": name, "rows": len(table), "columns": [str(c) for c in table.columns]}
        previous = {k: v for k, v in self.base.items() if k != "previous"} if self.base else None
        return {"format": self.format, "version": self.version, "roles": list(self.roles), "generation": generation,
                **fields, **entries, "records": made_from, "previous": previous}

    def keep(self, manifest: dict[str, Any], ctx: StepContext | None) -> None:
        """Make a staged state current with the run ``ctx`` belongs to, or at once for a step called alone."""
        if ctx is None:
            self.commit(manifest)
        else:
            ctx.stage(KIND, directory=str(self.directory), manifest=manifest, format=self.format,
                      version=self.version, roles=list(self.roles), what=self.what)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Replace ``manifest.json`` in one rename, then remove what no manifest names. Committing the current
        manifest again changes nothing."""
        write_text_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        self.base = manifest
        self._collect(self._named(manifest))

    def discard(self, manifest: dict[str, Any]) -> None:
        """Remove a staged generation's files (unless the current manifest names them)."""
        current = self.manifest()
        named = self._named(current) if current else set()
        for name in self._named(manifest, previous=False) - named:
            (self.directory / name).unlink(missing_ok=True)

    def recover(self) -> None:
        """Remove what a stopped run left: staged files no manifest names, temporary files of killed saves."""
        if self.directory.is_dir():
            current = self.manifest()
            self._collect(self._named(current) if current is not None else set())

    def _collect(self, keep: set[str]) -> None:
        temporary = (*(f".{role}-" for role in self.roles), f".{MANIFEST}.")
        for path in self.directory.iterdir():
            stale = self._file.match(path.name) and path.name not in keep
            leftover = path.name.startswith(temporary) and path.name.endswith(".tmp")
            if stale or leftover:
                path.unlink(missing_ok=True)

    def _named(self, manifest: dict[str, Any], *, previous: bool = True) -> set[str]:
        """The files a manifest names (with its ``previous`` one's)."""
        names = {entry["file"] for role in self.roles if isinstance(entry := manifest.get(role), dict)}
        if previous and manifest.get("previous"):
            names |= self._named(manifest["previous"], previous=False)
        return names


def settle(details: Mapping[str, Any], *, commit: bool) -> None:
    """Commit or discard a state a step staged (``KIND``): the kernel's part of a run's commit."""
    store = StateStore(details["directory"], format=details["format"], version=details["version"],
                       roles=tuple(details["roles"]), what=details.get("what", "state"))
    if commit:
        store.commit(details["manifest"])
    else:
        store.discard(details["manifest"])


def recover_claimed(paths: Iterable[Path]) -> None:
    """Before a run: in each path a step claims that holds a state (its manifest names its roles), remove what
    a stopped run left (staged files no manifest names, temporary files). Other directories are left alone."""
    for path in paths:
        try:
            data = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # no state here (yet), or not one of these: the step says what is wrong when it reads it
        roles = data.get("roles") if isinstance(data, dict) else None
        if isinstance(roles, list) and all(isinstance(r, str) and r.isidentifier() for r in roles) and roles \
                and isinstance(data.get("format"), str) and isinstance(data.get("version"), int):
            StateStore(path, format=data["format"], version=data["version"], roles=tuple(roles)).recover()
