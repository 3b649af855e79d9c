"""Sections other plugins add through ``report_sections``.

At the end of a run the report writer asks the run's own plugin manager; ``kernel report RUN_DIR``
has no run, so it loads the installed plugins (entry points) that ``run.json`` says took part.

Plugins draw charts of data values (device models, reasons) with matplotlib, which reads a pair of
``$`` as math: ``$x_{$`` raised and took every section of the plugin with it. A plugin whose sections
fail once matplotlib is loaded is asked again with math text off (``text.parse_math``), so a label is
only text; a plugin that wants math text asks for it on that text (``parse_math=True``). Only then:
importing matplotlib for every report would cost every run about 60 ms, most of them drawing nothing.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pluggy

from kernel import ENTRY_POINT_GROUP, Kernel, KernelError, per_plugin
from kernel_report.blocks import Part, Section, Text, as_section
from kernel_report.files import RunFiles
from kernel_report.settings import NAME


def plugin_sections(files: RunFiles, plugin_manager: pluggy.PluginManager | None = None) -> list[Part]:
    """Sections from the plugins that took part; ``plugin_manager`` is the run's (none: ``kernel report``)."""
    if plugin_manager is None:
        try:
            plugin_manager = _kernel_for(files.plugins).pm
        except KernelError as exc:
            text = f"Sections from other plugins could not be collected: {exc}"
            return [Part("Sections from other plugins", (Text(text),))]
    parts: list[Part] = []
    for hook in per_plugin(plugin_manager, "report_sections"):
        plugin = hook.plugin
        try:
            try:
                sections = _sections(hook, files)
            except Exception:
                if "matplotlib" not in sys.modules:
                    raise
                with _labels_as_text():
                    sections = _sections(hook, files)
        except Exception as exc:
            text = f"Plugin '{plugin}' could not add its sections: {type(exc).__name__}: {exc}"
            parts.append(Part(f"Sections from plugin {plugin}", (Text(text),), plugin))
            continue
        parts += [section.part(plugin, n) for n, section in enumerate(sections, start=1)]
    return parts


def _sections(hook: Any, files: RunFiles) -> list[Section]:
    returned = hook(run_dir=files.run_dir, record=files.record)
    return [as_section(item) for item in (returned or ())]


@contextmanager
def _labels_as_text() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        yield


def _kernel_for(plugins: list[str]) -> Kernel:
    installed = {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}
    # The report writer stays: its add_hookspecs is what declares report_sections.
    return Kernel(disable=sorted(installed - set(plugins) - {NAME}))
