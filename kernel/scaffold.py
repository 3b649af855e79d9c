"""``kernel plugin new NAME``: a ready plugin distribution to start from (a step, a listener, a test, an
example pipeline), installable as it is with ``pip install -e``."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from kernel.errors import KernelError

NAME = re.compile(r"[a-z][a-z0-9_]*")

PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "kernel-{name}"
version = "0.1.0"
description = "Step types and a listener for pipeline-kernel"
requires-python = ">=3.11"
dependencies = ["pipeline-kernel"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The kernel finds the plugin through this entry point: its name is the plugin's name.
[project.entry-points."kernel.plugins"]
{name} = "kernel_{name}.plugin"

[tool.setuptools]
packages = ["kernel_{name}"]
'''

PLUGIN = '''"""The {name} plugin: its step types and its listener, registered by hooks."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from kernel import (
    Inputs,
    Listener,
    Outputs,
    Run,
    events,
    hookimpl,
    signals,
    step,
    write_text_atomic,
)


@step("{name}.numbers")
def numbers(inputs: Inputs, *, n: int = 5) -> pd.DataFrame:
    """A column x of the numbers 0 to n - 1."""
    return pd.DataFrame({{"x": range(n)}})


@step("{name}.scale")
def scale(inputs: Inputs, *, factor: float = 2.0) -> Outputs:
    """Column x of the only input, times factor."""
    (frame,) = inputs.values()
    return {{"out": frame.assign(x=frame["x"] * factor)}}


@hookimpl
def register_steps() -> list[Any]:
    return [numbers, scale]


@hookimpl
def connect_listeners(run: Run) -> list[Listener]:
    """Count the rows each step gave; write them into the run directory at the end."""
    rows: dict[str, dict[str, int]] = {{}}

    def completed(sender: Run, *, event: events.StepCompleted, **_: object) -> None:
        rows[event.step.name] = dict(event.rows)

    def ended(sender: Run, **_: object) -> None:
        text = json.dumps(rows, indent=2) + "\\n"
        write_text_atomic(sender.run_dir / "{name}-rows.json", text)

    return [
        Listener(signals.step_complete, completed),
        Listener(signals.pipeline_complete, ended),
        Listener(signals.pipeline_error, ended),
    ]
'''

PIPELINE = '''name: {name}-example
description: Numbers, scaled.
params:
  factor: {{default: 3, description: "what the numbers are multiplied by"}}
steps:
  - {{name: numbers, uses: {name}.numbers, settings: {{n: 4}}}}
  - {{name: scaled, uses: {name}.scale, needs: [numbers], settings: {{factor: "${{params.factor}}"}}}}
'''

TEST = '''"""The plugin's steps and listener, run by a kernel that has this plugin alone."""

from __future__ import annotations

import json
from pathlib import Path

from kernel import Kernel

from kernel_{name} import plugin

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pipeline.yaml"


def test_the_example_scales_the_numbers_and_the_listener_counts(tmp_path: Path) -> None:
    kernel = Kernel(entry_points=False, plugins=[("{name}", plugin)])
    result = kernel.run(
        EXAMPLE, runs_root=tmp_path, params={{"factor": 10}}, keep_outputs=True
    )
    assert result.ok, result.record.error
    assert result.outputs["scaled"]["out"]["x"].tolist() == [0, 10, 20, 30]
    rows = json.loads((result.run.run_dir / "{name}-rows.json").read_text())
    assert rows == {{"numbers": {{"out": 4}}, "scaled": {{"out": 4}}}}
'''

README = '''# kernel-{name}

Step types (`{name}.numbers`, `{name}.scale`) and a listener (it writes `{name}-rows.json` into each run
directory) for pipeline-kernel.

    pip install -e '.[test]'          # editable: edits to kernel_{name}/ take effect without reinstalling
    kernel steps                      # lists {name}.numbers and {name}.scale, from the plugin {name}
    kernel run examples/pipeline.yaml --param factor=5
    pytest

`kernel_{name}/plugin.py` holds the step types and the hooks that register them; the entry point in
`pyproject.toml` is how the kernel finds the plugin. After changing `pyproject.toml` (a new entry point, a
new package), install again.
'''


def new_plugin(name: str, parent: Path) -> Path:
    """Write the distribution of plugin ``name`` into ``parent / f"kernel-{name}"``; its directory."""
    if not NAME.fullmatch(name):
        raise KernelError(f"'{name}' is not a plugin name: lowercase letters, digits and _, starting with a letter")
    root = parent / f"kernel-{name}"
    if root.exists() and any(root.iterdir()):
        raise KernelError(f"{root} exists and is not empty: choose another name or directory")
    files = {
        "pyproject.toml": PYPROJECT,
        f"kernel_{name}/__init__.py": f'"""The {name} plugin for pipeline-kernel."""\n',
        f"kernel_{name}/plugin.py": PLUGIN,
        "examples/pipeline.yaml": PIPELINE,
        "tests/test_plugin.py": TEST,
        "README.md": README,
    }
    parent.mkdir(parents=True, exist_ok=True)
    # Written beside it, then renamed into place: the directory appears whole, or not at all.
    staging = Path(tempfile.mkdtemp(prefix=f".kernel-{name}.", dir=parent))
    try:
        for relative, template in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(name=name), encoding="utf-8")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)  # mkdtemp's is 0700: the directory is the user's, as mkdir makes it
        os.rename(staging, root)  # onto a missing or empty directory only
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)  # ours alone
        if isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # written meanwhile
            raise KernelError(f"{root} exists and is not empty: choose another name or directory") from None
        raise
    return root
