"""The ``kernel`` command. Errors a user can act on become one line on stderr and exit code 2."""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import threading
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource
from pydantic import ValidationError

from kernel import signals
from kernel.app import DEFAULT_RUNS_ROOT, Kernel, RunOptions
from kernel.config import Pipeline, load_pipeline, parse_param
from kernel.context import RunResult
from kernel.errors import DataError, KernelError, validation_problem
from kernel.events import StepCompleted, StepErrored, StepRetrying, StepSkipped, StepStarted
from kernel.graph import to_dot, to_mermaid
from kernel.interrupts import SIGNALS, RunInterrupted, interrupt, stop_reason
from kernel.locks import Holder, PathLock
from kernel.logs import LEVELS, RunLog, configure_quiet, configure_run_log
from kernel.memory import keep_freed_memory
from kernel.project import find_config
from kernel.record import SUCCEEDED, RunRecord
from kernel.showcases import Showcase
from kernel.startup import resume_collector
from kernel.steps import settings_model

F = TypeVar("F", bound=Callable[..., Any])


def _errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KernelError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _plugins_off(options: Sequence[str]) -> list[str]:
    """The plugin names of ``-p no:NAME`` options."""
    names = []
    for option in options:
        if not option.startswith("no:") or len(option) == 3:
            raise click.BadParameter(f"'{option}': use -p no:NAME to disable a plugin", param_hint="-p")
        names.append(option[3:])
    return names


def _params(values: Sequence[str]) -> dict[str, Any]:
    return dict(parse_param(v) for v in values)


param_option = click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Override a pipeline parameter (repeatable)."
)
plugin_option = click.option(
    "-p", "plugin_options", multiple=True, metavar="no:NAME", help="Disable a plugin for this command (repeatable)."
)


def _ignore_signals() -> None:
    """At exit the command is done and said so: a signal while Python shuts down changes nothing."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class _PluginGroup(click.Group):
    """The built-in commands, then those that plugins add through ``register_commands``: the top level takes
    names without a space; a built-in group takes a plugin's ``"GROUP NAME"`` (``"showcase stream"``) as
    its ``NAME``."""

    nested = False

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        # Help lists the commands, then asks for each: the plugins are found once per command line (the
        # root context's), so a process that runs several command lines sees plugins installed in between.
        found: dict[str, dict[str, click.Command]] = ctx.find_root().meta.setdefault("kernel.plugin_commands", {})
        key = str(self.name)
        if key not in found:
            found[key] = self._find_plugin_commands()
        return found[key]

    def _find_plugin_commands(self) -> dict[str, click.Command]:
        configure_quiet()
        prefix = f"{self.name} " if self.nested else ""
        found = {}
        for name, cmd in Kernel(skip_broken=True).commands().items():
            own = name.removeprefix(prefix)
            if name.startswith(prefix) and " " not in own and own not in self.commands:
                found[own] = cmd
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            extra = list(self._plugin_commands(ctx))
        except KernelError:
            extra = []  # help still works with a broken plugin installed
        return sorted([*self.commands, *extra])

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        # One of ours resolves its own commands next; any other command, or a plugin's group, starts its work.
        if not isinstance(command, _PluginGroup) and command not in _PAUSED_THROUGH:
            resume_collector()  # kernel/startup.py
        return name, command, rest

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        try:
            return self._plugin_commands(ctx).get(cmd_name)
        except KernelError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


class _KernelGroup(_PluginGroup):
    """The ``kernel`` command: a command ends with one line on Ctrl-C or SIGTERM."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with SIGINT and SIGTERM as :class:`RunInterrupted`: one line and exit 128 + the
        signal, never a traceback (a run installs its own handlers while it lasts)."""
        previous = {signum: signal.signal(signum, interrupt) for signum in SIGNALS}
        atexit.register(_ignore_signals)
        try:
            return super().invoke(ctx)
        except RunInterrupted as exc:
            click.echo(f"error: {exc}", err=True)
            sys.stdout.flush()
            os._exit(exc.exit_code)  # a step thread may still run: do not wait for it
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@click.group(cls=_KernelGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pipeline-kernel")
def main() -> None:
    """Run data pipelines made of plugin-registered steps."""


def _kernel(plugin_options: Sequence[str], pipeline: Pipeline | None = None, start: Path | None = None) -> Kernel:
    """The kernel of a command: its -p no:NAME plugins and the project configuration's ``disable`` off
    (the configuration that applies to ``start``, else to the pipeline file, else to the working directory)."""
    where = start or (pipeline.source if pipeline is not None and pipeline.source is not None else Path("."))
    off = {*_plugins_off(plugin_options), *find_config(where).disable}
    kernel = _warned(Kernel(disable=sorted(off), skip_broken=True))
    return kernel if pipeline is None else kernel.for_pipeline(pipeline)


def _warned(kernel: Kernel) -> Kernel:
    """The kernel, once each installed plugin it could not load is named on stderr (it is left out)."""
    for info in kernel.broken:
        click.echo(f"warning: plugin '{info.name}' ({info.module}) is skipped: {info.error}", err=True)
    return kernel


@dataclass(frozen=True, slots=True)
class _Show:
    """What the console shows of a run: failed steps' whole tracebacks; only failures and the end."""

    tracebacks: bool = False
    quiet: bool = False


class _Running:
    """The steps running now, as the live view shows them: name and seconds so far (rich renders it)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.progress: dict[str, tuple[int, int | None, str]] = {}  # the run's, once it has started

    def __rich__(self) -> str:
        if not self.started:
            return ""
        now = time.monotonic()
        return "  running " + ", ".join(self._one(name, now - at) for name, at in list(self.started.items()))

    def _one(self, name: str, seconds: float) -> str:
        return f"{name} {_so_far(seconds, self.progress.get(name))}"


def _so_far(seconds: float, said: tuple[int, int | None, str] | None) -> str:
    """``12.3 s``, with what was said of the progress: ``12.3 s (1,000 of 3,000 records, 81/s)``."""
    if said is None:
        return f"{seconds:.1f} s"
    done, total, unit = said
    of = f" of {total:,}" if total is not None else ""
    rate = f", {done / seconds:,.0f}/s" if seconds > 0 else ""
    return f"{seconds:.1f} s ({done:,}{of} {unit}{rate})"


PLAIN_PROGRESS_S = 15.0  # off a terminal (a CI log), how often a line says which steps are running


@contextmanager
def _console(pipeline: str, tracebacks: bool = False, *, quiet: bool = False,
             live: Any | None = None, every: float | None = None) -> Iterator[None]:
    """Print each step as it ends (``quiet``: failures only); on a terminal (``live``: a rich Console),
    the steps running at the moment stay on the last line, with their time so far; elsewhere a line says
    so every ``every`` seconds (default :data:`PLAIN_PROGRESS_S`) while a step runs that long."""
    running = _Running()
    say: Any = click.echo if live is None else (lambda text: live.print(text, markup=False, highlight=False))

    def begun(sender: object, *, event: StepStarted, **_: object) -> None:
        running.started[event.step.name] = time.monotonic()

    def done(sender: object, *, event: StepCompleted, **_: object) -> None:
        running.started.pop(event.step.name, None)
        if quiet:
            return
        rows = ", ".join(f"{k}={v}" for k, v in event.rows.items())
        word = "cached" if event.cached else "ok"
        say(f"  {word:<7} {event.step.name:<28} {event.duration_s:9.3f} s  {rows}")

    def failed(sender: object, *, event: StepErrored, **_: object) -> None:
        running.started.pop(event.step.name, None)
        word = "blocked" if event.blocked else "failed"
        step = getattr(getattr(sender, "record", None), "steps", {}).get(event.step.name)
        error = step.error if step is not None and step.error else event.error  # as the run record words it
        say(f"  {word:<7} {event.step.name:<28} {event.duration_s:9.3f} s  {error}")
        if step is None or isinstance(event.error, DataError):  # bad input names its file: no code to show
            return
        if step.error_at:
            say(f"          at {step.error_at}")
        if tracebacks and step.traceback:
            say(textwrap.indent(step.traceback, "          "))

    def skipped(sender: object, *, event: StepSkipped, **_: object) -> None:
        if not quiet:
            say(f"  skipped {event.step.name:<28} {event.reason}")

    def retrying(sender: object, *, event: StepRetrying, **_: object) -> None:
        if quiet:
            return
        error = f"{type(event.error).__name__}: {event.error}"
        say(f"  retry   {event.step.name:<28} attempt {event.attempt} failed ({error}); again in {event.delay_s:g} s")

    def started(sender: object, **_: object) -> None:
        running.progress = getattr(sender, "progress", running.progress)
        dashboard = getattr(getattr(sender, "record", None), "dashboard", None)
        if dashboard:
            say(f"dashboard: {dashboard}")

    with ExitStack() as stack:
        stack.enter_context(signals.pipeline_start.connected_to(started))
        stack.enter_context(signals.step_start.connected_to(begun))
        stack.enter_context(signals.step_complete.connected_to(done))
        stack.enter_context(signals.step_error.connected_to(failed))
        stack.enter_context(signals.step_skipped.connected_to(skipped))
        stack.enter_context(signals.step_retry.connected_to(retrying))
        if live is not None and not quiet:
            from rich.live import Live

            stack.enter_context(Live(running, console=live, refresh_per_second=4, transient=True))
        elif not quiet:

            def now_running() -> None:
                line = running.__rich__()  # empty once the steps have ended
                if line:
                    say(line)

            stack.enter_context(_every(every if every is not None else PLAIN_PROGRESS_S, now_running))
        yield


@contextmanager
def _every(seconds: float, act: Callable[[], object]) -> Iterator[None]:
    """Call ``act`` every ``seconds`` from a background thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            act()

    thread = threading.Thread(target=loop, name="kernel-console", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _terminal() -> Any | None:
    """A rich Console for the live view when standard output is a terminal (and not CI); else ``None``."""
    if not sys.stdout.isatty() or os.environ.get("CI"):
        return None
    from rich.console import Console

    return Console(highlight=False)


def _again(command: str, options: RunOptions) -> str:
    """The command that resumes a run started with ``options`` (less the run id, which it adds)."""
    runs = options.get("runs_root", DEFAULT_RUNS_ROOT)
    return command + ("" if Path(runs) == DEFAULT_RUNS_ROOT else f" --runs-dir {runs}")


def _run(
    pipeline: Pipeline | Path,
    kernel: Kernel,
    options: RunOptions,
    log_level: str,
    show: _Show,
    again: str | None = None,
) -> RunResult:
    """Run ``pipeline`` and print how it went; exits the process when the run was interrupted. ``again`` is
    the command that runs it again: a run that did not succeed says how to resume it."""

    def waiting(lock: PathLock, holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "another run"
        click.echo(f"waiting for {lock.path}: in use by {who}")

    keep_freed_memory()  # the process ends with the run: its freed pages serve its next arrays (kernel/memory.py)
    try:
        runner = kernel.start(pipeline, **(options | RunOptions(on_wait=waiting)))
    except KeyboardInterrupt as exc:
        reason, code = stop_reason(exc)
        click.echo(f"error: {reason} before the run started; nothing was written", err=True)
        sys.exit(code)
    with runner:
        run, pipeline = runner.run, runner.plan.pipeline
        resumed = " (resumed)" if runner.resumes is not None else ""
        click.echo(
            f"run {run.run_id} of {pipeline.name}{resumed}: {len(pipeline.steps)} steps, "
            f"{runner.workers} worker(s), executor {runner.executor.name}"
        )
        log = configure_run_log(run.run_dir / "log.jsonl", log_level, resumed=runner.resumes is not None)
        try:
            terminal = _terminal()
            with _console(pipeline.name, show.tracebacks, quiet=show.quiet, live=terminal):
                result = runner.execute()
        except (KeyboardInterrupt, SystemExit):
            log.close()
            configure_quiet()
            _ended(runner.record, log, again)
            # A step still running in a worker thread cannot be stopped; do not wait for it.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(runner.record.exit_code or 130)
        finally:
            log.close()
            configure_quiet()
    _ended(result.record, log, again)
    return result


def _ended(record: RunRecord, log: RunLog, again: str | None = None) -> None:
    """Say how the run ended, what could not be recorded, and how to resume a run that did not succeed."""
    duration = f" in {record.duration_s:.3f} s" if record.duration_s is not None else ""
    click.echo(f"run {record.status}{duration}; run directory: {record.run_dir}")
    for name, path in record.artifacts.items():
        click.echo(f"{name}: {path}")
    if record.status != SUCCEEDED:
        if again is not None:
            click.echo(f"to resume it: {again} --resume {record.run_id}", err=True)
        click.echo(f"error: {record.error}", err=True)
    _listener_warnings(record)
    if log.lost_lines:
        click.echo(f"warning: {log.lost_lines} log line(s) could not be written ({log.error})", err=True)


def _listener_warnings(record: RunRecord) -> None:
    """A listener or end-of-run hook that failed does not fail the run, but the person running it is told:
    one line per receiver and error, with how often (run.json's ``listener_errors`` keeps each)."""
    seen: dict[tuple[str, str], list[str]] = {}
    for failure in record.listener_errors:
        seen.setdefault((failure.receiver, failure.error), []).append(failure.signal)
    for (receiver, error), on in seen.items():
        times = f" ({len(on)} times)" if len(on) > 1 else ""
        click.echo(f"warning: listener {receiver} failed on {on[0]}{times}: {error}; the run's own status is "
                   "unaffected", err=True)


def _given(names: Sequence[str]) -> set[str]:
    """Which of the current command's options were given (on the command line or by environment)."""
    ctx = click.get_current_context()
    return {name for name in names if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)}


def _names(values: Sequence[str]) -> list[str]:
    """Names given as repeated options and/or comma-separated lists."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _run_options(func: F) -> F:
    """Add the options of a run to a command, given to it as ``options`` (what ``Kernel.start`` takes) and
    ``log_level`` and ``show`` (what the console shows)."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        workers: int,
        executor: str | None,
        address: str | None,
        fail_fast: bool,
        runs_dir: Path,
        run_id: str | None,
        log_level: str,
        wait: bool,
        traceback: bool,
        quiet: bool,
        refresh: Sequence[str],
        no_cache: bool,
        resume: str | None,
        from_steps: Sequence[str],
        to_steps: Sequence[str],
        only: Sequence[str],
        tags: Sequence[str],
        inputs_from: str | None,
        **kwargs: Any,
    ) -> Any:
        # The project's configuration fills in what the command line leaves at its default.
        try:
            config = find_config(Path(kwargs.get("file") or "."))
        except KernelError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        given = _given(("workers", "executor", "address", "runs_dir", "log_level"))
        workers = workers if "workers" in given or config.workers is None else config.workers
        address = address if "address" in given else (config.address or address)
        runs_dir = runs_dir if "runs_dir" in given or config.runs_dir is None else config.runs_dir
        log_level = log_level if "log_level" in given or config.log_level is None else config.log_level
        options = RunOptions(
            workers=workers,
            executor=executor,
            address=address,
            fail_fast=fail_fast,
            runs_root=runs_dir,
            run_id=run_id,
            wait=wait,
            resume=resume,
            refresh=True if no_cache else _names(refresh),
            from_steps=_names(from_steps),
            to_steps=_names(to_steps),
            only=_names(only),
            tags=_names(tags),
            inputs_from=inputs_from,
        )
        if "executor" not in given and config.executor is not None:  # the pipeline file's own wins over it
            options["default_executor"] = config.executor
        return func(*args, options=options, log_level=log_level, show=_Show(traceback, quiet), **kwargs)

    command: Any = wrapper
    for option in reversed(
        [
            param_option,
            plugin_option,
            click.option(
                "--workers",
                "-w",
                default=1,
                show_default=True,
                type=click.IntRange(min=1),
                help="Steps run at once (independent branches).",
            ),
            click.option(
                "--executor",
                "-x",
                default=None,
                help="Where steps run: inline, threads, processes, or a plugin's (default: the pipeline "
                "file's executor, else inline for one worker and threads for more).",
            ),
            click.option(
                "--address",
                default=None,
                help="The address of the cluster an executor uses, for an executor that takes one "
                "(docs/executors.md).",
            ),
            click.option("--fail-fast", is_flag=True, help="Stop at the first failed step."),
            click.option(
                "--runs-dir",
                type=click.Path(path_type=Path),
                default=DEFAULT_RUNS_ROOT,
                show_default=True,
                help="Where run directories are made (<runs-dir>/<pipeline>/<run_id>).",
            ),
            click.option(
                "--run-id", default=None, help="Use this run id instead of a new one (a new one: [A-Za-z0-9._-])."
            ),
            click.option(
                "--wait", is_flag=True, help="Wait for another run writing the same results or state to finish."
            ),
            click.option("--log-level", type=click.Choice(LEVELS), default="info", show_default=True),
            click.option(
                "--traceback", is_flag=True, help="Print a failed step's whole traceback (run.json keeps it anyway)."
            ),
            click.option(
                "--quiet", "-q", is_flag=True, help="Print failures and how the run ended, not every step."
            ),
            click.option(
                "--refresh",
                multiple=True,
                metavar="STEP[,STEP]",
                help="Recompute these steps and everything downstream of them, whatever the cache holds.",
            ),
            click.option("--no-cache", is_flag=True, help="Recompute every step (what they give is still stored)."),
            click.option(
                "--from", "from_steps", multiple=True, metavar="STEP[,STEP]",
                help="Run these steps and everything downstream of them (what they need comes from the cache).",
            ),
            click.option(
                "--to", "to_steps", multiple=True, metavar="STEP[,STEP]",
                help="Run these steps and everything upstream of them.",
            ),
            click.option("--only", multiple=True, metavar="STEP[,STEP]", help="Run these steps alone."),
            click.option("--tags", multiple=True, metavar="TAG[,TAG]", help="Run the steps with any of these tags."),
            click.option(
                "--inputs-from", metavar="RUN_ID", default=None,
                help="With --from/--to/--only/--tags: take what the chosen steps need from that run's outputs "
                "(kept in the cache), as they were.",
            ),
            click.option(
                "--resume",
                metavar="RUN_ID",
                default=None,
                help="Run a failed or interrupted run again in its own directory, with its parameter values: "
                "the steps that succeeded are taken from the cache.",
            ),
        ]
    ):
        command = option(command)
    return cast(F, command)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@_run_options
@click.option("--explain", is_flag=True, help="Say which steps would run and why, which would be reused; run nothing.")
@_errors
def run(
    file: Path,
    params: Sequence[str],
    plugin_options: Sequence[str],
    options: RunOptions,
    log_level: str,
    show: _Show,
    explain: bool,
) -> None:
    """Run the pipeline in FILE (YAML or JSON)."""
    configure_quiet()
    again, kernel = _again(f"kernel run {file}", options), _kernel(plugin_options, start=file)
    if explain:
        rows = kernel.explain(load_pipeline(file, _params(params)), **options)
        for name, verdict, why in rows:
            click.echo(f"  {verdict:<12} {name:<28} {why}".rstrip())
        runs = sum(1 for _, verdict, _ in rows if verdict == "run")
        reused = sum(1 for _, verdict, _ in rows if verdict == "reuse")
        click.echo(f"{runs} step(s) would run, {reused} would be reused; nothing was run")
        sys.exit(2 if any(verdict == "missing" for _, verdict, _ in rows) else 0)
    if options.get("resume"):  # the run's own parameter values are loaded with the file
        result = _run(file, kernel, options | {"params": _params(params)}, log_level, show, again)
    else:
        result = _run(load_pipeline(file, _params(params)), kernel, options, log_level, show, again)
    sys.exit(result.exit_code)


# Commands whose imports and planning go on with the collector paused: it is back on once the run starts its
# steps (Runner.execute). Every other command turns it back on as it starts.
_PAUSED_THROUGH: set[click.Command] = {run}


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@param_option
@plugin_option
@_errors
def validate(file: Path, params: Sequence[str], plugin_options: Sequence[str]) -> None:
    """Check the pipeline in FILE without running it."""
    configure_quiet()
    pipeline = load_pipeline(file, _params(params))
    plan = _kernel(plugin_options, pipeline).plan(pipeline)
    click.echo(f"{file}: valid: pipeline '{pipeline.name}', {len(plan.steps)} steps, topology {plan.topology}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@param_option
@plugin_option
@_errors
def graph(file: Path, fmt: str, params: Sequence[str], plugin_options: Sequence[str]) -> None:
    """Print the step graph of FILE as Mermaid or DOT, with its topology."""
    configure_quiet()
    pipeline = load_pipeline(file, _params(params))
    plan = _kernel(plugin_options, pipeline).plan(pipeline)
    if fmt == "mermaid":
        click.echo(f"%% topology: {plan.topology}")
        click.echo(to_mermaid(plan), nl=False)
    else:
        click.echo(f"// topology: {plan.topology}")
        click.echo(to_dot(plan), nl=False)


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@main.command()
@plugin_option
@_errors
def steps(plugin_options: Sequence[str]) -> None:
    """List the step types the installed plugins register."""
    configure_quiet()
    kernel = _kernel(plugin_options)
    rows = [
        (name, entry.plugin, ", ".join(entry.type.outputs) or "-", entry.type.description)
        for name, entry in kernel.steps.items()
    ]
    _table(rows, ("STEP TYPE", "PLUGIN", "OUTPUTS", "DESCRIPTION"))


@main.command()
@plugin_option
@_errors
def plugins(plugin_options: Sequence[str]) -> None:
    """List the installed plugins."""
    configure_quiet()
    kernel = _kernel(plugin_options)
    rows = [(i.name, i.module, i.distribution or "-", i.version or "-", "loaded") for i in kernel.plugins]
    rows += [(i.name, i.module, i.distribution or "-", i.version or "-", f"broken: {i.error}") for i in kernel.broken]
    _table(rows, ("PLUGIN", "MODULE", "DISTRIBUTION", "VERSION", "STATUS"))


@main.group()
def plugin() -> None:
    """Write your own plugins."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Where to write the plugin's directory (kernel-NAME).")
@_errors
def plugin_new(name: str, parent: Path) -> None:
    """Write a ready plugin distribution NAME: a step, a listener, a test, an example pipeline."""
    from kernel.scaffold import new_plugin

    root = new_plugin(name, parent)
    click.echo(f"wrote the plugin '{name}' into {root}; next:")
    click.echo(f"  cd {root} && pip install -e '.[test]' && kernel run examples/pipeline.yaml && pytest")


class _PluginSubgroup(_PluginGroup):
    nested = True


@main.group(cls=_PluginSubgroup)
def showcase() -> None:
    """Complete pipelines shipped by plugins."""


@showcase.command("list")
@_errors
def showcase_list() -> None:
    """List the showcases, with the plugin that ships each."""
    configure_quiet()
    kernel = _warned(Kernel(skip_broken=True))
    rows = [(name, plugin, sc.description) for name, (sc, plugin) in kernel.showcases.items()]
    _table(rows, ("SHOWCASE", "PLUGIN", "DESCRIPTION"))


@showcase.command("data", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Directory to write.")
@click.pass_context
@_errors
def showcase_data(ctx: click.Context, name: str, out_dir: Path) -> None:
    """Generate showcase NAME's data set into --out; other --option value pairs go to its generator."""
    configure_quiet()
    showcase = _find_showcase(_warned(Kernel(skip_broken=True)), name)
    if showcase.generate is None:
        raise KernelError(f"showcase '{name}' has no data generator")
    options = _generator_options(showcase, list(ctx.args))
    if out_dir.exists() and any(out_dir.iterdir()):
        raise KernelError(f"{out_dir}: the directory is not empty")
    _generate(showcase, out_dir, options)
    click.echo(f"wrote the {name} data set into {out_dir}")


def _run_suite(kernel: Kernel, match: str | None, scale: float | None, values: dict[str, Any], options: RunOptions,
               log_level: str, show: _Show, suite_dir: Path) -> int:
    """Run the showcases one after another and write their summary; 1 if any did not succeed."""
    import fnmatch
    import json

    from kernel.hooks import per_plugin
    from kernel.suite import SuiteLine, line_from_record, table, write_summary

    chosen = [(name, sc) for name, (sc, _) in kernel.showcases.items() if match is None or fnmatch.fnmatch(name, match)]
    chosen.sort(key=lambda item: (item[1].pipeline.parent.name, item[0]))  # NNN-name directories: suite order
    if not chosen:
        raise KernelError(f"no showcase matches '{match}' (kernel showcase list)")
    started = time.monotonic()
    lines: list[SuiteLine] = []
    for number, (name, sc) in enumerate(chosen, 1):
        click.echo(f"[{number}/{len(chosen)}] showcase {name}")
        try:
            run_values = dict(values)
            if sc.generate is not None and sc.data_param is not None and sc.data_param not in run_values:
                run_values[sc.data_param] = str(_suite_data(sc, name, scale))
            result = _run(load_pipeline(sc.pipeline, run_values), kernel, options, log_level, show)
        except KernelError as exc:
            click.echo(f"error: {exc}", err=True)
            lines.append(SuiteLine(name, "error", error=str(exc)))
            continue
        run_dir = result.run.run_dir
        record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        facts: dict[str, int | float | str] = {}
        for hook in per_plugin(kernel.pm, "summary_facts"):
            try:
                facts.update(hook(run_dir=run_dir, record=record) or {})
            except Exception as exc:  # one plugin's figures must not cost the suite its summary
                click.echo(f"warning: plugin '{hook.plugin}' gave no summary figures: {exc}", err=True)
        lines.append(line_from_record(name, record, facts))
    wall = time.monotonic() - started
    md, page = write_summary(lines, suite_dir, wall)
    header, rows, totals = table(lines, suite_dir.resolve())
    _table([tuple(row[:7]) for row in rows] + [tuple(totals[:7])], tuple(header[:7]))
    click.echo(f"summary: {md} and {page}")
    return 0 if all(line.ok for line in lines) else 1


def _suite_data(sc: Showcase, name: str, scale: float | None) -> Path:
    """The showcase's data set for the suite: the default one, or one at ``scale`` (generated when missing)."""
    generator = sc.generator()
    assert generator is not None
    options = dict(sc.defaults)
    target = Path("showcase-data") / name
    if scale is not None and scale != 1 and "scale" in inspect.signature(generator).parameters:
        options["scale"] = scale
        target = Path("showcase-data") / f"{name}-scale-{scale:g}"
    if not target.exists():
        click.echo(f"generating the data set into {target}")
        _generate(sc, target, options)
    return target


def _find_showcase(kernel: Kernel, name: str) -> Showcase:
    found = kernel.showcases.get(name)
    if found is None:
        known = ", ".join(kernel.showcases) or "none"
        raise KernelError(f"no showcase named '{name}' (showcases: {known})")
    return found[0]


def _generator_options(showcase: Showcase, args: list[str]) -> dict[str, Any]:
    """Parse ``--key value`` pairs and check them against the generator's keyword parameters."""
    raw: dict[str, Any] = dict(showcase.defaults)
    while args:
        key = args.pop(0)
        if not key.startswith("--") or key == "--":
            raise KernelError(f"expected --option value pairs for the generator, got '{key}'")
        # An option without a value (the next is an option too, or none follows) is a flag: true.
        raw[key[2:].replace("-", "_")] = args.pop(0) if args and not args[0].startswith("--") else "true"
    generator = showcase.generator()
    assert generator is not None
    try:
        model = settings_model(_options_of(generator)).model_validate(raw)
    except ValidationError as exc:
        where, message = validation_problem(exc, noun="option")
        option = "--" + where.replace(".", "-").replace("_", "-")
        raise KernelError(f"showcase '{showcase.name}' generator: {option}: {message}") from None
    return {k: getattr(model, k) for k in type(model).model_fields if k in raw or k in showcase.defaults}


PROGRESS = "progress"  # a generator's keyword for a progress callback: given by the command, never an option


def _options_of(generator: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for ``generator`` whose signature lacks its progress callback: the options a user may give."""
    signature = inspect.signature(generator)
    try:
        hints = typing.get_type_hints(generator)
    except Exception:
        hints = {}

    def options(**_: Any) -> None:
        """The generator's options."""

    options.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != PROGRESS])
    options.__annotations__ = {k: v for k, v in hints.items() if k != PROGRESS}
    return options


class _Generating:
    """What the live view shows while a data set is written: the generator's count so far and its rate."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.said: tuple[int, int | None, str] | None = None

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        self.said = (done, total, unit)

    def __rich__(self) -> str:
        return f"  generating {_so_far(time.monotonic() - self.started, self.said)}"


def _generate(showcase: Showcase, out_dir: Path, options: dict[str, Any]) -> None:
    # Into a new hidden sibling first (never one that exists: it may be someone's), renamed when complete,
    # so an interrupted generation never looks like a data set and removes only what it made.
    generator = showcase.generator()
    assert generator is not None
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if options.get("stream") is True:
        # Written in real time, for a stream to take file by file: into DIR itself, each file whole when it
        # appears (the generator's promise); an interruption leaves the files written so far.
        out_dir.mkdir(exist_ok=True)
        started = time.monotonic()
        written = generator(out_dir, **options)
        records = getattr(written, "telemetry_records", None)
        click.echo(f"streamed{f' ({records:,} records)' if records is not None else ''} in "
                   f"{time.monotonic() - started:.1f} s")
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.kernel-generate-", dir=out_dir.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # a data set gets the usual permissions, not mkdtemp's 0700
        progress = _Generating()
        takes = PROGRESS in inspect.signature(generator).parameters
        terminal = _terminal()
        with ExitStack() as stack:
            if terminal is not None:
                from rich.live import Live

                stack.enter_context(Live(progress, console=terminal, refresh_per_second=4, transient=True))
            generator(tmp, **options, **({PROGRESS: progress} if takes else {}))
        said = f" ({progress.said[0]:,} {progress.said[2]})" if progress.said is not None else ""
        click.echo(f"generated{said} in {time.monotonic() - progress.started:.1f} s")
        if out_dir.exists():
            out_dir.rmdir()  # empty: the callers checked
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@showcase.command("run")
@click.argument("name", required=False)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory (default: showcase-data/NAME, generated if missing).",
)
@click.option("--all", "run_all", is_flag=True, help="Run every showcase (or those --match names) and write a summary.")
@click.option("--match", default=None, metavar="PATTERN", help="With --all: only showcases whose name matches (glob).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --all: the data sets' scale, for showcases whose generator takes one (default 1).")
@click.option("--suite-dir", type=click.Path(path_type=Path), default=Path("suite"), show_default=True,
              help="With --all: where summary.md, summary.html and summary.json go.")
@_run_options
@_errors
def showcase_run(
    name: str | None,
    data_dir: Path | None,
    run_all: bool,
    match: str | None,
    scale: float | None,
    suite_dir: Path,
    params: Sequence[str],
    plugin_options: Sequence[str],
    options: RunOptions,
    log_level: str,
    show: _Show,
) -> None:
    """Run showcase NAME (generating its default data set first if it has one and it is missing), or with
    --all every showcase, one after another, with a summary of them all."""
    configure_quiet()
    kernel = _kernel(plugin_options)
    if run_all or match is not None or scale is not None:
        if not run_all:
            raise KernelError("--match and --scale go with --all")
        if name is not None or data_dir is not None:
            raise KernelError("give a showcase NAME or --all, not both (--data goes with NAME)")
        if options.get("resume") or options.get("run_id"):
            raise KernelError("--resume and --run-id name one run: not with --all")
        sys.exit(_run_suite(kernel, match, scale, _params(params), options, log_level, show, suite_dir))
    if name is None:
        raise KernelError("give a showcase NAME (kernel showcase list), or --all")
    sc = _find_showcase(kernel, name)
    values = _params(params)
    again = _again(f"kernel showcase run {name}", options)
    if data_dir is not None and sc.data_param is not None:
        values[sc.data_param] = str(data_dir)
    if options.get("resume"):  # the run's own values, less what is given again here
        result = _run(sc.pipeline, kernel, options | {"params": values}, log_level, show, again)
    else:
        if sc.generate is not None and sc.data_param is not None and sc.data_param not in values:
            default = Path("showcase-data") / name
            if not default.exists():
                click.echo(f"generating the default data set into {default}")
                _generate(sc, default, dict(sc.defaults))
            values[sc.data_param] = str(default)
        result = _run(load_pipeline(sc.pipeline, values), kernel, options, log_level, show, again)
    if result.ok and sc.results_param is not None:
        click.echo(f"results: {result.run.pipeline.values[sc.results_param]}")
    sys.exit(result.exit_code)
