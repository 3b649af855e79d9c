"""Sections other plugins add through ``report_sections``.

A listener has no handle on the plugin manager of its run (``connect_listeners`` receives the run
only), and ``kernel report RUN_DIR`` has no run at all. Both therefore ask the same thing: the
installed plugins (entry points) that ``run.json`` says took part, so the report built at the end
of a run and the one rebuilt later are the same.
"""

from __future__ import annotations

import importlib.metadata as md
from typing import Any

from kernel import ENTRY_POINT_GROUP, Kernel, KernelError
from kernel_report.blocks import Part, Text, as_section
from kernel_report.files import RunFiles
from kernel_report.settings import NAME


def plugin_sections(files: RunFiles) -> list[Part]:
    try:
        kernel = _kernel_for(files.plugins)
    except KernelError as exc:
        text = f"Sections from other plugins could not be collected: {exc}"
        return [Part("Sections from other plugins", (Text(text),))]
    caller = getattr(kernel.pm.hook, "report_sections", None)
    if caller is None:
        return []
    given: dict[str, Any] = {"run_dir": files.run_dir, "record": files.record}
    parts: list[Part] = []
    for impl in reversed(caller.get_hookimpls()):  # pluggy's call order
        plugin = impl.plugin_name
        try:
            returned = impl.function(**{a: given[a] for a in impl.argnames})
            sections = [as_section(item) for item in (returned or ())]
        except Exception as exc:
            text = f"Plugin '{plugin}' could not add its sections: {type(exc).__name__}: {exc}"
            parts.append(Part(f"Sections from plugin {plugin}", (Text(text),), plugin))
            continue
        parts += [section.part(plugin, n) for n, section in enumerate(sections, start=1)]
    return parts


def _kernel_for(plugins: list[str]) -> Kernel:
    installed = {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}
    # The report writer stays: its add_hookspecs is what declares report_sections.
    return Kernel(disable=sorted(installed - set(plugins) - {NAME}))
