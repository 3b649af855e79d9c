"""The ``window`` plugin: event-time tumbling windows with a watermark (step type ``window.tumbling``).

The algorithm is :func:`kernel_window.tumbling.process`, a pure function of the records, the settings
and the previous state; :mod:`kernel_window.store` keeps that state between runs; :mod:`kernel_window.plugin`
makes it a step. See ``docs/windowing.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import lazy_exports

if TYPE_CHECKING:
    from kernel_window.settings import TumblingSettings, WindowConfig
    from kernel_window.tumbling import WindowResult, WindowState, process

__all__ = ["TumblingSettings", "WindowConfig", "WindowResult", "WindowState", "process"]

# Imported when first used: loading the plugin must not import what its steps need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "TumblingSettings": "kernel_window.settings",
    "WindowConfig": "kernel_window.settings",
    "WindowResult": "kernel_window.tumbling",
    "WindowState": "kernel_window.tumbling",
    "process": "kernel_window.tumbling",
})
