"""The ``tracker`` plugin: per-step snapshots and schema diffs, run lineage, and OpenLineage run events.

It learns about a run only through the kernel's signals (connected by ``connect_listeners``) and
writes ``tracker.json``, ``lineage.json`` and ``openlineage.jsonl`` to the run directory
(see ``docs/tracker.md``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_tracker.schema import schema_diff
    from kernel_tracker.settings import TrackerSettings
    from kernel_tracker.snapshot import Snapshot, take_snapshot

# Tracker (kernel_tracker.tracker) is not re-exported: a run makes its own (plugin.connect_listeners).
__all__ = ["Snapshot", "TrackerSettings", "schema_diff", "take_snapshot"]

# Imported when first used: loading the plugin must not import what its steps need.
_LAZY = {
    "schema_diff": "kernel_tracker.schema",
    "TrackerSettings": "kernel_tracker.settings",
    "Snapshot": "kernel_tracker.snapshot",
    "take_snapshot": "kernel_tracker.snapshot",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'kernel_tracker' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
