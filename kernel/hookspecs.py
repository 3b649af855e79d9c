"""Hook specifications: the ways a plugin changes what the kernel does.

Hooks change behaviour; signals (``kernel.signals``) only report. The kernel always calls hooks
through pluggy with keyword arguments, and an implementation takes only the arguments it needs, so
adding a parameter here never breaks a plugin. No kernel hook may be a wrapper (``kernel.hooks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from kernel.markers import hookspec

if TYPE_CHECKING:
    from pathlib import Path

    import click
    import pandas as pd

    from kernel.config import StepSpec
    from kernel.context import Run, StepVerdict
    from kernel.executors import ExecutorType
    from kernel.fields import PipelineField
    from kernel.graph import Plan
    from kernel.reuse import Judge, Observer, Recompute, Reused, Summarizer
    from kernel.showcases import Showcase
    from kernel.signals import Listener
    from kernel.steps import Staged, StepType


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
def register_fields() -> Iterable[PipelineField] | None:
    """Return the keys this plugin adds to the pipeline file, as :class:`kernel.PipelineField` values.

    Called once, when a kernel is made. The kernel's models know only steps, params and plugins: any
    other key of the file, or of a step, must be added by a plugin, or planning fails naming it (a typo
    anywhere is an error). Each value is validated with the field's type when the plan is built and
    reaches plugins as ``plan.fields[name]`` (a step's: ``plan.steps[step].fields[name]``), the default
    when the file leaves it out. A name the kernel or another plugin has is an error naming both. The
    validator adds the steps' ``checks``, the report writer ``domain``, ``archetype`` and ``kpis``.
    """


@hookspec
def register_executors() -> Iterable[ExecutorType] | None:
    """Return the executors this plugin adds, as :class:`kernel.ExecutorType` values, chosen by name with
    ``kernel run --executor NAME`` (or ``executor:`` in the pipeline file).

    Called once, when a kernel is made. ``make(workers)`` returns a ``concurrent.futures.Executor`` that
    runs step attempts; set ``ships`` when they leave the process (the kernel then checks, before
    anything runs, that every step function can be imported by name). A name taken by the kernel's own
    executors (``inline``, ``threads``, ``processes``) or by another plugin is an error naming the plugin.
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
    :class:`kernel.Listener` (a signal and a receiver). The kernel calls each receiver itself, for
    this run only (sender = the run), before the receivers connected to the signal; it never
    connects it to the signal, so nothing of it outlives the run or reaches another run. A receiver
    that raises is logged and counted in the run record; it never breaks the run. The default: no
    listeners.
    """


@hookspec
def before_run(run: Run) -> None:
    """Prepare for ``run``, or refuse it, before anything of it is written.

    Called once per run in the orchestrating thread, after the paths its steps claim (``StepType.claims``)
    are locked for it and before its run directory is made and any signal is sent. Recover here what an
    earlier, stopped run left in the paths this plugin's steps write (no other run can be using them
    now), and check that they may be written. Raise a :class:`kernel.KernelError` naming the path to
    refuse the run: the command line prints it as one line and exits 2, and no run directory is made.
    The ``io`` plugin checks results directories here; the ``window`` plugin its state stores. Default:
    nothing.
    """


@hookspec(firstresult=True)
def commit_staged(run: Run, staged: Staged) -> bool | None:
    """Make final a write a step staged with ``StepContext.stage``.

    Called in the orchestrating thread once every step of ``run`` has succeeded, for each staged write
    in the order the steps finished, while the run still holds its locks; the run counts as succeeded
    only once every commit is done. Return ``True`` if this plugin committed ``staged`` (its ``kind`` is
    this plugin's), ``None`` if it is not this plugin's. Make it idempotent and quick (a rename): a commit
    that raises fails the run and the staged writes after it are discarded. The ``io`` plugin swaps in
    results directories here; the ``window`` plugin makes a new state current. Default: ``None``.
    """


@hookspec(firstresult=True)
def discard_staged(run: Run, staged: Staged) -> bool | None:
    """Throw away a staged write that will not be committed: its attempt failed, or the run failed or
    was interrupted. Return ``True`` if ``staged`` is this plugin's. A process killed before this could
    be called leaves the staged files behind: ``before_run`` of the next run on the same path removes
    them. Default: ``None``.
    """


@hookspec(firstresult=True)
def reuse_step(run: Run, step: StepSpec, refresh: bool, key: str | None) -> Reused | Recompute | None:
    """Answer for a step instead of running it, or say why it must run.

    Called in the orchestrating thread when ``step`` is about to start, once its inputs are ready. Return
    a :class:`kernel.Reused` (outputs that stand for the step's: it is not run, ``after_step_run`` and
    ``step_complete`` see them with ``cached=True``), a :class:`kernel.Recompute` (it runs; the reason
    goes to ``run.json``), or ``None``. ``refresh`` is true for a step the run must recompute
    (``--refresh``, ``--no-cache``): answer with a ``Recompute`` then. ``key``, when given, is the key an
    earlier run recorded for this step (``--inputs-from RUN_ID``): answer with what is stored under it, as
    it is. The first answer wins. The cache plugin answers here. Default: ``None``.
    """


@hookspec(firstresult=True)
def explain_step(run: Run, step: StepSpec, refresh: bool) -> Reused | Recompute | None:
    """Forecast what ``reuse_step`` would answer, without loading anything: for ``kernel run --explain``.

    Called in plan order for the steps a run would run, with a run that is never executed (nothing is
    written). Answer :class:`kernel.Reused` (its ``outputs`` empty) for a step that would be reused, or
    :class:`kernel.Recompute` with the reason it would run. A step that runs makes the forecast of the
    steps it feeds uncertain: say so in their reason. Default: ``None`` (nobody caches: every step runs).
    """


@hookspec
def observe_step(run: Run, step: StepSpec) -> Observer | None:
    """Return a function to call next to ``step`` on its outputs, or ``None``.

    Called in the orchestrating thread before each run of a step. The function is called with the step's
    outputs and its context (``None`` for a step without one) where the step ran, in the worker under an
    executor that ships steps, so it must be picklable (a module-level function, or a ``functools.partial``
    of one) and return something small and picklable: a summary, not a frame. What it returns reaches
    ``step_complete`` as ``observed[plugin]`` (an :class:`kernel.ObservationFailed` if it raised). The
    cache plugin fingerprints and stores outputs here. Default: ``None``.
    """


@hookspec
def judge_step(run: Run, step: StepSpec) -> Judge | None:
    """Return a function that judges ``step``'s outputs next to the step, or ``None``.

    Called in the orchestrating thread before each run of a step. The function is called where the
    step ran (in the worker under an executor that ships steps, so it must be picklable, as for
    ``observe_step``), after the ``observe_step`` functions, with the outputs as the judges before it left
    them, and returns ``None`` or a :class:`kernel.StepVerdict`: its ``replace`` takes effect there (the
    frames never travel), its ``blocked_because`` blocks the step, and its ``findings`` (small and
    picklable: check results, the rejected rows) reach this plugin's ``after_step_run``. A judge that
    raises blocks the step. The validator checks here. Default: ``None``.
    """


@hookspec
def summarize_step(run: Run, step: StepSpec) -> Summarizer | None:
    """Return a function that summarizes ``step``'s outputs next to the step, or ``None``.

    Like ``observe_step``, but called after the judges, on the outputs as judged (what the consumers and
    ``step_complete`` get: a :class:`kernel.Judged` mapping whose ``replaced`` names the outputs a judge
    replaced). What it returns reaches ``StepCompleted.summaries[plugin]`` (and ``StepErrored.summaries``
    for a blocked step). The listeners' per-step work that needs a frame (the tracker's snapshots, the
    report's counts) goes here, so that it runs where the frame is. Default: ``None``.
    """


@hookspec
def after_step_run(
    run: Run, step: StepSpec, outputs: Mapping[str, pd.DataFrame], findings: Any
) -> StepVerdict | None:
    """Judge a step's outputs before any other step sees them, in the orchestrating process.

    Called in the orchestrating thread after each successful step, before ``step_complete``, with
    ``findings``: what this plugin's ``judge_step`` function found next to the step (``None`` when it
    has none, or the step was reused from the cache and judged here). Return ``None`` to let the outputs
    pass, or a :class:`kernel.StepVerdict` that replaces some outputs and/or blocks the step: a blocked
    step counts as failed with the verdict's reason, its downstream steps are skipped and the run fails.
    Every implementation is called; replacements are applied in call order. Reading ``outputs`` under an
    executor that keeps frames on its workers (Dask) brings each frame read to this process: judge in
    ``judge_step`` instead. The default: no judgement.
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
    an error naming the plugin. A command named ``"showcase NAME"`` is added to ``kernel showcase`` as
    ``NAME`` (the streaming plugin adds ``kernel showcase stream``). Default: none.
    """


@hookspec
def summary_facts(run_dir: Path, record: Mapping[str, Any]) -> Mapping[str, int | float | str] | None:
    """Return figures this plugin knows about a finished run, for a line of a summary of many runs (``kernel
    showcase run --all`` writes one): ``{"checks passed": 12, "checks failed": 0}``, read from what the plugin
    wrote into ``run_dir``; ``record`` is the run's ``run.json``. Called after the run, in the orchestrating
    process. Default: none. Figures are summed over the runs when they are numbers.
    """
