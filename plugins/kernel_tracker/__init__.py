"""The ``tracker`` plugin: per-step snapshots and schema diffs, run lineage, and OpenLineage run events.

It learns about a run only through the kernel's signals (connected by ``connect_listeners``) and
writes ``tracker.json``, ``lineage.json`` and ``openlineage.jsonl`` to the run directory
(see ``docs/tracker.md``).
"""

from __future__ import annotations

from kernel_tracker.schema import schema_diff
from kernel_tracker.settings import TrackerSettings
from kernel_tracker.snapshot import Snapshot, take_snapshot

# Tracker (kernel_tracker.tracker) is not re-exported: a run makes its own (plugin.connect_listeners).
__all__ = ["Snapshot", "TrackerSettings", "schema_diff", "take_snapshot"]
