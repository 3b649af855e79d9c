"""The :class:`Kernel`: a plugin manager with its step types and showcases, and the way to run a pipeline."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from typing_extensions import Unpack

from kernel.config import Pipeline, load_pipeline
from kernel.context import RunResult, new_run_id
from kernel.errors import KernelError, PipelineError, PluginError
from kernel.executors import ExecutorType, check_shippable
from kernel.fields import Place, RegisteredField
from kernel.graph import Plan, RegisteredStep, build_plan
from kernel.hooks import per_plugin
from kernel.locks import Holder, PathLock
from kernel.plugins import (
    KERNEL_KEYS,
    PluginInfo,
    collect_executors,
    collect_fields,
    collect_showcases,
    collect_steps,
    disabled_declarations,
    make_plugin_manager,
)
from kernel.prepare import check_run_id, earlier_run, resumable
from kernel.record import RunRecord
from kernel.selection import Selection
from kernel.showcases import Showcase

if TYPE_CHECKING:
    import pandas as pd

    from kernel.run import Runner

DEFAULT_RUNS_ROOT = Path("runs")


class RunOptions(TypedDict, total=False):
    """What :meth:`Kernel.start` and :meth:`Kernel.run` take besides the pipeline (all optional)."""

    params: Mapping[str, Any] | None  # parameter values, with a pipeline path
    workers: int  # steps run at once (default 1: inline)
    fail_fast: bool  # stop at the first failed step
    run_id: str | None  # default: a new one
    run_dir: str | Path | None  # default: <runs_root>/<pipeline>/<run_id>
    runs_root: str | Path  # default: runs
    keep_outputs: bool  # keep every step's outputs in the result, not only the final steps'
    wait: bool  # wait for a path another run holds instead of refusing
    executor: str | None  # inline, threads, processes or a plugin's (default: the file's, else inline/threads)
    default_executor: str | None  # when neither ``executor`` nor the file names one (a project's configuration)
    address: str | None  # the cluster an executor uses, for one that takes an address
    on_wait: Callable[[PathLock, Holder | None], None] | None  # told whom the run waits for
    inputs_from: str | None  # a partial run: take the outputs of steps left out from this run (by its keys)
    resume: str | None  # the id of a failed or interrupted run to run again, in its own directory (docs/cache.md)
    from_steps: Sequence[str]  # a partial run: these steps and everything downstream (--from)
    to_steps: Sequence[str]  # ... these steps and everything upstream (--to)
    only: Sequence[str]  # ... these steps alone (--only)
    tags: Sequence[str]  # ... the steps with any of these tags (--tags)
    refresh: Sequence[str] | bool  # steps to recompute, with everything downstream, whatever a cache holds (True: all)
    given: Mapping[str, Mapping[str, pd.DataFrame]]  # outputs that stand for these steps (without inputs): not run


class Kernel:
    """Plugins found through entry points (less ``disable``) plus ``plugins`` given as (name, object).

    Each kernel has its own plugin manager; two kernels in one process share nothing. A disabled plugin
    is blocked in pluggy, whether the command line (``-p no:NAME``), ``disable`` or a pipeline's
    ``plugins.disable`` disables it: none of its hooks is called, none of its step types is known.
    With ``skip_broken``, an installed plugin that cannot be loaded is left out and listed in ``broken``
    (with its error) instead of stopping the kernel: the command line does so, and says so.
    """

    def __init__(
        self,
        *,
        disable: Iterable[str] = (),
        plugins: Sequence[tuple[str, object]] = (),
        entry_points: bool = True,
        skip_broken: bool = False,
    ) -> None:
        disabled: list[tuple[str, object]] = []
        self.broken: list[PluginInfo] = []
        self.pm, self.plugins = make_plugin_manager(
            disable=disable, plugins=plugins, entry_points=entry_points, disabled=disabled,
            broken=self.broken if skip_broken else None,
        )
        self.steps: dict[str, RegisteredStep] = collect_steps(self.pm)
        self.fields: dict[tuple[Place, str], RegisteredField] = collect_fields(self.pm, KERNEL_KEYS)
        self.executors: dict[str, ExecutorType] = collect_executors(self.pm)
        # What disabled plugins declare: named in errors, their fields let through unread.
        self._disabled_steps, self._disabled_fields = disabled_declarations(disabled, KERNEL_KEYS)
        self._showcases: dict[str, tuple[Showcase, str]] | None = None
        self._without: dict[frozenset[str], Kernel] = {}

    @property
    def plugin_names(self) -> list[str]:
        return [info.name for info in self.plugins]

    @property
    def showcases(self) -> dict[str, tuple[Showcase, str]]:
        if self._showcases is None:
            self._showcases = collect_showcases(self.pm)
        return self._showcases

    def plugin(self, name: str) -> PluginInfo | None:
        return next((info for info in self.plugins if info.name == name), None)

    def load(self, path: str | Path, params: Mapping[str, Any] | None = None) -> Pipeline:
        return load_pipeline(path, params)

    def without(self, names: Iterable[str]) -> Kernel:
        """This kernel less the plugins ``names``: a kernel of its own (made once) in which they are blocked."""
        off = frozenset(names) & set(self.plugin_names)
        if not off:
            return self
        derived = self._without.get(off)
        if derived is None:
            kept = [info for info in self.plugins if info.name not in off]
            derived = Kernel(plugins=[(info.name, self.pm.get_plugin(info.name)) for info in kept], entry_points=False)
            for name, plugin in self.pm.list_name_plugin():
                if plugin is None or name in off:
                    derived.pm.set_blocked(name)
            derived.plugins = kept
            derived.broken = self.broken
            derived._disabled_steps = self._disabled_steps | {
                name: entry.plugin for name, entry in self.steps.items() if entry.plugin in off
            }
            derived._disabled_fields = self._disabled_fields | {
                key: entry for key, entry in self.fields.items() if entry.plugin in off
            }
            self._without[off] = derived
        return derived

    def for_pipeline(self, pipeline: Pipeline) -> Kernel:
        """The kernel that runs ``pipeline``: this one less the plugins the pipeline disables."""
        known = {name for name, _ in self.pm.list_name_plugin()}
        for name in pipeline.plugins.disable:
            if name not in known:
                raise PipelineError(
                    f"cannot disable plugin '{name}': no such plugin (installed: {', '.join(sorted(known)) or 'none'})",
                    file=pipeline.source,
                    field="plugins.disable",
                )
        return self.without(pipeline.plugins.disable)

    def plan(self, pipeline: Pipeline, run_values: Mapping[str, Any] | None = None) -> Plan:
        """Build and check the plan; plugins check their parts of it through ``validate_plan``."""
        kernel = self.for_pipeline(pipeline)
        return kernel._plan(pipeline, run_values)

    def _plan(self, pipeline: Pipeline, run_values: Mapping[str, Any] | None) -> Plan:
        self._check_plugin_settings(pipeline)
        plan = build_plan(
            pipeline,
            self.steps,
            run_values,
            disabled_steps=self._disabled_steps,
            fields=self.fields,
            disabled_fields=self._disabled_fields,
            unloaded=tuple(f"'{info.name}' ({info.error})" for info in self.broken),
        )
        for hook in per_plugin(self.pm, "validate_plan"):
            try:
                problems = cast(Iterable[str] | None, hook(plan=plan, plugin_manager=self.pm))
            except PipelineError:
                raise
            except Exception as exc:
                raise PluginError(hook.plugin, f"validate_plan failed: {type(exc).__name__}: {exc}") from None
            for problem in problems or ():
                raise PipelineError(f"plugin '{hook.plugin}': {problem}", file=pipeline.source)
        return plan

    def _executor(self, name: str | None, plan: Plan, address: str | None = None) -> ExecutorType | None:
        """The executor called ``name`` (``None``: the default for the number of workers), checked for the plan."""
        if name is None:
            if address:
                takers = ", ".join(sorted(n for n, e in self.executors.items() if e.takes_address)) or "none here"
                raise PipelineError(f"an address needs an executor that uses a cluster ({takers})", field="executor")
            return None
        found = self.executors.get(name)
        if found is None:
            known = ", ".join(sorted(self.executors))
            raise PipelineError(f"no executor is named '{name}' (executors: {known})", file=plan.pipeline.source,
                                field="executor")
        if address and not found.takes_address:
            raise PipelineError(f"executor '{name}' takes no address", field="executor")
        if found.check is not None:
            try:
                found.check()
            except KernelError as exc:
                raise PipelineError(f"executor '{name}': {exc.message}", file=plan.pipeline.source,
                                    field="executor") from None
        if found.ships:
            try:
                check_shippable(name, plan.steps)
            except PipelineError as exc:
                raise PipelineError(exc.message, file=plan.pipeline.source, step=exc.step, field=exc.field) from None
        return found

    def _check_plugin_settings(self, pipeline: Pipeline) -> None:
        """``plugins.settings`` may only name plugins (enabled or not): a misspelt one is an error."""
        known = {name for name, _ in self.pm.list_name_plugin()}
        for name in pipeline.plugins.settings:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (plugins: {', '.join(sorted(known)) or 'none'})"
                raise PipelineError(f"no plugin is named '{name}'{hint}", file=pipeline.source,
                                    field=f"plugins.settings.{name}")

    def commands(self) -> dict[str, Any]:
        """The click commands plugins add to the command line, by name."""
        found: dict[str, Any] = {}
        for hook in per_plugin(self.pm, "register_commands"):
            for command in cast(Iterable[Any] | None, hook()) or ():
                if command.name in found:
                    raise PluginError(hook.plugin, f"command '{command.name}' is already added by another plugin")
                found[command.name] = command
        return found

    def start(self, pipeline: Pipeline | str | Path, **options: Unpack[RunOptions]) -> Runner:
        """Plan a run and prepare it: lock the paths its steps claim, let plugins check and recover them
        (``before_run``), and claim its run directory. Nothing else is written yet.

        Use the returned runner as a context manager and call its ``execute()``; on leaving it the locks
        are released (and the run directory of a run never executed removed). A path another run holds is
        refused with :class:`kernel.KernelError` naming that run, or waited for with ``wait``.
        """
        params = options.get("params")
        resume = options.get("resume")
        runs_root = options.get("runs_root", DEFAULT_RUNS_ROOT)
        earlier: RunRecord | None = None
        if resume is not None:
            if options.get("run_id") not in (None, resume):
                raise KernelError("--resume runs the run again under its own id: give no other --run-id")
            check_run_id(resume)
            earlier = resumable(resume, options.get("run_dir"), runs_root)
            params = {**earlier.params, **(params or {})}
            if isinstance(pipeline, Pipeline):
                pipeline = load_pipeline(pipeline.source, params) if pipeline.source else pipeline
                params = None
        if not isinstance(pipeline, Pipeline):
            pipeline = load_pipeline(pipeline, params)
        elif params:
            raise ValueError("params go with a pipeline path; a loaded Pipeline already has its values")
        if earlier is not None and earlier.pipeline != pipeline.name:
            raise KernelError(f"run '{resume}' is a run of pipeline '{earlier.pipeline}', not '{pipeline.name}'")
        run_id = resume or options.get("run_id") or new_run_id()
        check_run_id(run_id)
        run_dir = options.get("run_dir")
        directory = Path(run_dir) if run_dir is not None else Path(runs_root) / pipeline.name / run_id
        if earlier is not None:
            directory = Path(earlier.run_dir)
        from kernel.run import Runner  # here: planning and listing must not import what running needs

        kernel = self.for_pipeline(pipeline)
        plan = kernel._plan(pipeline, {"run.id": run_id, "run.dir": str(directory)}).loaded()
        chosen = options.get("executor") or pipeline.executor or options.get("default_executor")
        executor = kernel._executor(chosen, plan, options.get("address"))
        runner = Runner(
            plan,
            kernel.pm,
            run_id=run_id,
            run_dir=directory,
            workers=options.get("workers", 1),
            fail_fast=options.get("fail_fast", False),
            keep_outputs=options.get("keep_outputs", False),
            executor=executor,
            address=options.get("address"),
            refresh=options.get("refresh", ()),
            runs_root=Path(runs_root),
            resumes=earlier,
            selection=Selection.of(cast(Mapping[str, Sequence[str] | None], options)),
            inputs_from=earlier_run(options.get("inputs_from"), runs_root),
            given=options.get("given"),
        )
        runner.prepare(wait=options.get("wait", False), on_wait=options.get("on_wait"))
        return runner

    def explain(self, pipeline: Pipeline | str | Path, **options: Unpack[RunOptions]) -> list[tuple[str, str, str]]:
        """What a run with these options would do, step by step, without running or writing anything:
        ``(step, "reuse" | "run" | "missing" | "not selected", why)`` in plan order (``kernel run --explain``;
        "missing": left out of a partial run, and no cache can give what it would)."""
        params = options.get("params")
        if not isinstance(pipeline, Pipeline):
            pipeline = load_pipeline(pipeline, params)
        runs_root = options.get("runs_root", DEFAULT_RUNS_ROOT)
        directory = Path(runs_root) / pipeline.name / "EXPLAIN"
        from kernel.run import Runner

        kernel = self.for_pipeline(pipeline)
        plan = kernel._plan(pipeline, {"run.id": "EXPLAIN", "run.dir": str(directory)}).loaded()
        runner = Runner(
            plan, kernel.pm, run_id="EXPLAIN", run_dir=directory, refresh=options.get("refresh", ()),
            runs_root=Path(runs_root), selection=Selection.of(cast(Mapping[str, Sequence[str] | None], options)),
        )
        return runner.explain()

    def run(self, pipeline: Pipeline | str | Path, **options: Unpack[RunOptions]) -> RunResult:
        """Plan and execute a pipeline; the run directory defaults to ``runs/<pipeline>/<run_id>/``.

        Outputs of the final steps are in the result (of every step with ``keep_outputs``). See
        :meth:`start` for what happens before the first step.
        """
        with self.start(pipeline, **options) as runner:
            return runner.execute()
