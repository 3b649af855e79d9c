"""The pluggy markers that plugins use to implement the kernel's hooks."""

from __future__ import annotations

import pluggy

PROJECT = "kernel"
ENTRY_POINT_GROUP = "kernel.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
