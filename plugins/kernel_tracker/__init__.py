"""The ``tracker`` plugin: per-step snapshots and schema diffs, run lineage, and OpenLineage run events.

It learns about a run only through the kernel's signals (connected by ``connect_listeners``) and
writes ``tracker.json``, ``lineage.json`` and ``openlineage.jsonl`` to the run directory
(see ``docs/tracker.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_tracker.schema import schema_diff
    from kernel_tracker.settings import TrackerSettings
    from kernel_tracker.snapshot import SameAs, Snapshot, take_snapshot
    from kernel_tracker.tracker import read_tracker

# Tracker (kernel_tracker.tracker) is not re-exported: a run makes its own (plugin.connect_listeners).
__all__ = ["SameAs", "Snapshot", "TrackerSettings", "read_tracker", "schema_diff", "take_snapshot"]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "schema_diff": "kernel_tracker.schema",
    "TrackerSettings": "kernel_tracker.settings",
    "Snapshot": "kernel_tracker.snapshot",
    "SameAs": "kernel_tracker.snapshot",
    "read_tracker": "kernel_tracker.tracker",
    "take_snapshot": "kernel_tracker.snapshot",
})
