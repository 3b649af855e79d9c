"""``kernel stream PIPELINE --landing DIR --state DIR``, and ``kernel showcase stream NAME --data DIR --state DIR``
(a showcase's streamed form over the files landing in its data directory)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kernel import KernelError


def _params(values: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--param")
        found[key] = value
    return found


_OPTIONS = [
    click.option("--state", type=click.Path(path_type=Path, file_okay=False), required=True,
                 help="The stream's own directory: ledger, window state, batch runs (and the sink, without --out)."),
    click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="Where the sink's Parquet parts go (default: STATE/sink)."),
    click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A pipeline parameter (repeatable)."),
    click.option("--until-idle", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
                 help="Stop when no file has come for this long (default: run until stopped)."),
    click.option("--clock", type=click.Choice(["wall", "data"]), default="wall", show_default=True,
                 help="wall: an arrival interval is over when the wall clock (less --grace) has passed it, file or "
                 "no file; data: when a later file shows it (files whose arrival times are not now)."),
    click.option("--grace", type=click.FloatRange(min=0), default=2.0, show_default=True, metavar="SECONDS",
                 help="How long after its records' arrival times a file may still land (--clock wall)."),
    click.option("--final", is_flag=True, help="At the end, process what waits and flush every open window."),
    click.option("--every", default=None, metavar="DURATION",
                 help="Run the pipeline's period steps this often (e.g. 1h), over everything in the sink so far."),
    click.option("--period", "period_only", is_flag=True,
                 help="Run the period steps once over the sink, and stop (no file is taken)."),
    click.option("--report", "report_only", is_flag=True,
                 help="Write STATE/report.md and report.json from the ledger, and stop."),
    click.option("--merge-parts", type=click.IntRange(min=0), default=16, show_default=True, metavar="N",
                 help="Merge a sink output's parts N at a time as they pile up (0: never)."),
    click.option("--markers", is_flag=True, help="A file is complete when its NAME.done marker exists."),
    click.option("--poll", is_flag=True, help="List the directory instead of asking the OS for notifications."),
    click.option("-p", "disable", multiple=True, metavar="no:NAME",
                 help="Switch a plugin off for the batch runs (report and cache are off already)."),
]


def _stream_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


@click.command("stream")
@click.argument("pipeline", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--landing", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The directory files land in; each complete file is one batch.")
@_stream_options
def stream_command(pipeline: Path, landing: Path, **options: Any) -> None:
    """Run PIPELINE on each new complete file in --landing, exactly once (docs/streaming.md)."""
    _stream(pipeline, landing, {}, **options)


@click.command("showcase stream")
@click.argument("name")
@click.option("--data", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The showcase's data directory (kernel showcase data NAME --stream ... --out DIR); its files "
              "land in a folder of it.")
@_stream_options
def showcase_stream_command(name: str, data: Path, **options: Any) -> None:
    """Run showcase NAME's streamed form over the files landing in its data directory (docs/streaming.md)."""
    from kernel import Kernel

    try:
        found = Kernel(skip_broken=True).showcases.get(name)
        if found is None:
            raise KernelError(f"no showcase '{name}' (kernel showcase list)")
        showcase = found[0]
        if showcase.stream is None:
            raise KernelError(f"showcase '{name}' has no streamed form")
    except KernelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    fixed = {showcase.data_param: str(data)} if showcase.data_param else {}
    _stream(showcase.stream, data / showcase.landing if showcase.landing else data, fixed, **options)


def _stream(pipeline: Path, landing: Path, fixed: dict[str, str], *, state: Path, out: Path | None,
            params: tuple[str, ...], until_idle: float | None, clock: str, grace: float, final: bool,
            every: str | None, period_only: bool, report_only: bool, merge_parts: int, markers: bool, poll: bool,
            disable: tuple[str, ...]) -> None:
    from kernel import parse_duration
    from kernel_stream.stream import Stream, StreamOptions

    seconds = None
    if every is not None:
        ns = parse_duration(every)
        if not ns:
            raise click.BadParameter(f"'{every}' is not a duration (such as 1h or 15min)", param_hint="--every")
        seconds = ns / 1e9

    off = ["report", "cache"]
    for item in disable:
        if not item.startswith("no:"):
            raise click.BadParameter(f"'{item}' is not no:NAME", param_hint="-p")
        off.append(item[3:])
    options = StreamOptions(pipeline=pipeline, landing=landing, state=state, out=out,
                            params={**fixed, **_params(params)}, until_idle=until_idle,
                            clock="wall" if clock == "wall" else "data", grace=grace, final=final, markers=markers,
                            poll=poll, disable=tuple(off), every=seconds, merge_parts=merge_parts)
    try:
        stream = Stream(options, echo=lambda line: click.echo(line, err=True))
        if report_only:
            click.echo(f"wrote {stream.write_report()}")
            return
        if period_only:
            result = stream.run_period()
            if result is None:
                raise KernelError(f"{pipeline}: stream: the pipeline has no period steps (stream.period)")
            sys.exit(0 if result.ok else 1)
        click.echo(f"stream: {pipeline} over {landing} (state {state}, sink {options.sink})", err=True)
        summary = stream.run()
    except KernelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"stream: {summary.line()}")
    click.echo(f"report: {state / 'report.md'}")
