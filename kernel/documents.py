"""The JSON documents a run leaves in its run directory (``run.json``, the plugins' files) carry a
``schema_version``; a reader reads the versions it knows and says so of any other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kernel.errors import KernelError


def read_document(path: str | Path, version: int | tuple[int, ...]) -> dict[str, Any]:
    """The JSON object in ``path`` if it is of schema ``version``, or of one of them for a reader of several (a
    document without the key was written before versions were, and is version 1); otherwise a
    :class:`KernelError` naming the file, on one line: it is absent, unreadable, not an object, or of another
    version."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KernelError("is absent: the run did not write it", file=path.name) from None
    except (OSError, ValueError) as exc:
        raise KernelError(f"could not be read: {' '.join(str(exc).split())}", file=path.name) from None
    if not isinstance(data, dict):
        raise KernelError("does not hold a JSON object", file=path.name)
    found = data.get("schema_version", 1)
    read = version if isinstance(version, tuple) else (version,)
    if found not in read:
        known = " or ".join(str(v) for v in read)
        raise KernelError(f"has schema version {found!r}; version {known} is read here", file=path.name)
    return data
