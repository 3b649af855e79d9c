"""The built-in ``io`` plugin: the ``io.read``, ``io.write`` and ``io.publish`` step types, and the hooks that
make a publish final only with its run (``docs/io.md``)."""

from __future__ import annotations

from pathlib import Path

from kernel import DataError, Run, Staged, StepType, get_logger, hookimpl
from kernel_io.settings import PublishSettings, ReadSettings, WriteSettings

PUBLISH = "io.publish"

# The functions live in kernel_io.steps, imported when a run needs one: listing and checking steps stay free
# of pandas and pyarrow.
READ = StepType(
    "io.read", "kernel_io.steps:read", inputs=(), outputs=("out",), settings=ReadSettings,
    description="Read a file, a directory of files or a glob (Avro, JSON, CSV, Parquet), local or at a URL, into "
    "one table.",
)
WRITE = StepType(
    "io.write", "kernel_io.steps:write", outputs=(), settings=WriteSettings, effects=True,
    description="Write the step's one input to a file (Avro, JSON, CSV, Parquet), atomically.",
)
PUBLISH_STEP = StepType(
    PUBLISH, "kernel_io.steps:publish", outputs=(), settings=PublishSettings, claims=("path",), effects=True,
    description="Write every input into the results directory path, one file each, replacing the previous results "
    "whole.",
)


def _publish_paths(run: Run) -> list[tuple[str, str]]:
    steps = run.plan.steps.items()
    return [(name, str(planned.kwargs["path"])) for name, planned in steps if planned.type.name == PUBLISH]


@hookimpl
def register_steps() -> list[StepType]:
    return [READ, WRITE, PUBLISH_STEP]


@hookimpl
def before_run(run: Run) -> None:
    """Recover what a stopped publish left, then refuse a results directory that is not ours to replace."""
    from kernel_io import publish as results

    log = get_logger("kernel_io").bind(run_id=run.run_id)
    for name, path in _publish_paths(run):
        for line in results.recover(path):
            log.warning("recovered", step=name, detail=line)
        try:
            results.check_target(path, run.pipeline.name)
        except DataError as exc:
            raise DataError(exc.message, file=exc.file, step=name, field="settings.path") from None


@hookimpl
def commit_staged(staged: Staged) -> bool | None:
    if staged.kind != PUBLISH:
        return None
    from kernel_io import publish as results

    results.swap(staged.details["path"], Path(staged.details["staging"]))
    return True


@hookimpl
def discard_staged(staged: Staged) -> bool | None:
    if staged.kind != PUBLISH:
        return None
    from kernel_io import publish as results

    results.discard(Path(staged.details["staging"]))
    return True
