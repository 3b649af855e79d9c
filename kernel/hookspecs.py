"""Hook specifications: the ways a plugin changes what the kernel does.

Hooks change behaviour; signals (``kernel.signals``) only report. The kernel always calls hooks
with keyword arguments, and an implementation takes only the arguments it needs, so adding a
parameter here never breaks a plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import pluggy

from kernel.markers import hookspec

if TYPE_CHECKING:
    import click

    from kernel.config import StepSpec
    from kernel.context import Run, StepVerdict
    from kernel.graph import Plan
    from kernel.showcases import Showcase
    from kernel.signals import Listener
    from kernel.steps import StepType


@hookspec(historic=True)
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add hook specifications of a plugin's own, for other plugins to implement.

    Called for every plugin as it is registered (a historic hook), before any other hook. Call
    ``plugin_manager.add_hookspecs(module_or_class)``; the specs use :data:`kernel.hookspec`. The
    validator adds ``register_checks`` this way, the report writer ``report_sections``. Default: none.
    """


@hookspec
def register_steps() -> Iterable[StepType | Any] | None:
    """Return the step types this plugin provides.

    Called once, when a kernel is made. Each item is a :class:`kernel.StepType` or a function
    marked with :func:`kernel.step`. A name registered by two plugins is an error naming both.
    The built-in ``io`` plugin registers ``io.read`` and ``io.write``.
    """


@hookspec
def register_showcases() -> Iterable[Showcase] | None:
    """Return the showcases this plugin contributes, found by name with ``kernel showcase``.

    Called once, when a kernel is made. A showcase is data: a pipeline file and, optionally,
    a generator of its default data set.
    """


@hookspec
def connect_listeners(run: Run) -> Iterable[Listener] | None:
    """Return the signal receivers this plugin wants for ``run``.

    Called once per run, before ``pipeline_start`` is sent. Each item is a
    :class:`kernel.Listener` (a signal and a receiver). The kernel connects each receiver for
    this run only (sender = the run), holds it strongly while the run lasts, and disconnects it
    when the run ends. A receiver that raises is logged and counted in the run record; it never
    breaks the run. The default: no listeners.
    """


@hookspec
def after_step_run(run: Run, step: StepSpec, outputs: Mapping[str, pd.DataFrame]) -> StepVerdict | None:
    """Judge a step's outputs before any other step sees them.

    Called in the orchestrating thread after each successful step, before ``step_complete``.
    Return ``None`` to let the outputs pass, or a :class:`kernel.StepVerdict` that replaces some
    outputs (for example with the rows that passed checks) and/or blocks the step: a blocked step
    counts as failed with the verdict's reason, its downstream steps are skipped and the run
    fails. Every implementation is called; replacements are applied in call order. The default:
    no judgement.
    """


@hookspec
def after_run(run: Run) -> None:
    """Do the work that needs the whole run: called once every step and the last signal are done.

    Called in the orchestrating thread after ``pipeline_complete`` or ``pipeline_error`` (and their
    receivers) and after ``run.json`` is written in full, so an implementation can read every file
    the run wrote. The report writer writes the report here. An exception is logged and recorded in
    the run record's ``listener_errors``; it does not change the run's status. Default: nothing.
    """


@hookspec
def validate_plan(plan: Plan, plugin_manager: pluggy.PluginManager) -> Iterable[str] | None:
    """Check what this plugin reads from a pipeline, before anything runs.

    Called by ``kernel validate``, ``kernel graph`` and before every run, once the plan is built.
    Return messages naming the step and field that is wrong (the first becomes a one-line error
    naming the plugin), or ``None``. The validator checks the steps' ``checks`` here. Default: none.
    """


@hookspec
def register_commands() -> Iterable[click.Command] | None:
    """Return click commands to add to the ``kernel`` command line (the report writer adds ``report``).

    Called when the command line meets a command name it does not know. A name already taken is
    an error naming the plugin. Default: none.
    """
