"""OpenLineage transports of the tracker: JSON lines in the run directory, written fast.

The client's ``Serde.to_json`` walks an event with ``attr.asdict`` and then again to drop nulls; for
the two events a step sends that costs more than the rest of the tracker. :func:`plain` gives the
same JSON value (``tests/test_tracker_openlineage.py`` holds it to that) in one walk, and orjson
writes it.
"""

from __future__ import annotations

import datetime
import uuid
from enum import Enum
from pathlib import Path
from typing import IO, Any

import attr
import orjson
from openlineage.client.transport import Transport
from openlineage.client.transport.transport import Config


@attr.define
class RunDirConfig(Config):
    path: str = ""

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> RunDirConfig:
        return cls(path=str(params["path"]))


class RunDirTransport(Transport):
    """Appends each event as one JSON line to a file it keeps open for the run, flushed after each line.

    The client's ``FileTransport`` in append mode opens the file again for every event.
    """

    kind = "kernel-run-dir"
    config_class = RunDirConfig

    def __init__(self, config: RunDirConfig) -> None:
        self.config = config
        self._file: IO[bytes] | None = None
        self._fields: dict[type, tuple[str, ...] | None] = {}
        self._shared: dict[int, tuple[object, orjson.Fragment]] = {}

    def share(self, facet: object) -> None:
        """Serialise ``facet`` once: the events of a run repeat it (a schema, the parent run, a job type)."""
        text = orjson.dumps(plain(facet, self._fields, self._shared), option=orjson.OPT_SORT_KEYS)
        self._shared[id(facet)] = (facet, orjson.Fragment(text))

    def forget(self, facet: object) -> None:
        """Drop what :meth:`share` kept once no event to come repeats it (memory stays bounded)."""
        self._shared.pop(id(facet), None)

    def emit(self, event: Any) -> None:
        if self._file is None:
            path = Path(self.config.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("ab")
        value = plain(event, self._fields, self._shared)
        self._file.write(orjson.dumps(value, option=orjson.OPT_SORT_KEYS) + b"\n")
        self._file.flush()

    def close(self, timeout: float = -1) -> bool:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._shared.clear()
        return True


_SCALARS = (str, int, float, bool)


def plain(value: Any, fields: dict[type, tuple[str, ...] | None],
          shared: dict[int, tuple[object, orjson.Fragment]] | None = None) -> Any:
    """``Serde.to_dict`` in one walk: attrs objects as dicts without null values, enums as their value,
    nulls and empty objects dropped from lists. ``fields`` caches each class's attribute names;
    ``shared`` holds objects serialised before (kept alive there, so their ids stay theirs)."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if shared:
        known = shared.get(id(value))
        if known is not None:
            return known[1]
    if cls in fields:
        names = fields[cls]
    else:
        names = fields[cls] = tuple(a.name for a in attr.fields(cls)) if attr.has(cls) else None
    if names is not None:
        out = {}
        for name in names:
            item = getattr(value, name)
            if item is not None:
                out[name] = plain(item, fields, shared)
        return out
    if isinstance(value, dict):
        return {key: plain(item, fields, shared) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item, fields, shared) for item in value if item is not None]
        return [item for item in items if not (isinstance(item, dict) and not item)]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
