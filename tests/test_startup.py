"""Commands that only list or check start fast: they import neither pandas, pyarrow nor matplotlib (nor the other
heavy libraries a run needs); plugins declare step types by reference and a run imports them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from kernel import Kernel, PipelineError, StepSettingsError, StepType, load_pipeline
from kernel.startup import BLAS_THREADS

FLAGSHIP = Path(__file__).parents[1] / "showcases" / "007-iot-windowed-kpi" / "pipeline.yaml"
HEAVY = ("pandas", "numpy", "pyarrow", "matplotlib", "polars", "fastavro", "pandera", "dask", "openlineage",
         "jinja2", "xxhash")
PROBE = """
import json, sys
from kernel.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


def _imported(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True,
                          text=True, timeout=60)
    last = done.stderr.strip().splitlines()[-1]
    found: list[str] = json.loads(last)
    return found


FLAGSHIP_ARGS = (str(FLAGSHIP), "--param", "data=unused", "--param", "gold=unused")


def _two_steps(tmp_path: Path) -> list[str]:
    (tmp_path / "in.csv").write_text("a,b\n1,x\n2,y\n")
    pipeline = tmp_path / "two.yaml"
    pipeline.write_text(
        "name: two\nsteps:\n"
        f"  - {{name: read, uses: io.read, settings: {{path: {tmp_path / 'in.csv'}}}}}\n"
        "  - {name: write, uses: io.write, needs: {frame: read}, settings: {path: '${run.dir}/out.parquet'}}\n")
    return ["run", str(pipeline), "--runs-dir", str(tmp_path / "runs")]


@pytest.mark.parametrize("args", [("--help",), ("steps",), ("plugins",), ("showcase", "list"),
                                  ("validate", *FLAGSHIP_ARGS), ("graph", *FLAGSHIP_ARGS)],
                         ids=["help", "steps", "plugins", "showcase-list", "validate", "graph"])
def test_listing_and_checking_import_no_heavy_library(args: tuple[str, ...]) -> None:
    assert _imported(*args) == []


def test_a_small_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    # A CSV read and a Parquet write with the default plugins: no Avro decoder, no charts, no lineage client,
    # and not rich, which structlog would import (a terminal's live view imports it; this is not one). It
    # claims no path outside its run directory and finds no project file: no file locks, no TOML parser.
    run = _two_steps(tmp_path)
    found = _imported(*run)
    assert sorted(set(found) - {"pandas", "numpy", "pyarrow", "xxhash"}) == []
    assert "pandas" in found  # the probe saw the run
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=("rich", "structlog", "filelock", "tomllib")),
                           *run], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == ["structlog"]


def test_a_step_type_by_reference_is_imported_when_a_run_needs_it(tmp_path: Path) -> None:
    code = ("import sys, json; from kernel import Kernel; k = Kernel(); "
            "plan = k.plan(__import__('kernel').load_pipeline(sys.argv[1], {'data': 'x', 'gold': 'y'})); "
            "before = 'kernel_iot.conform' in sys.modules; loaded = plan.loaded(); "
            "print(json.dumps([before, 'kernel_iot.conform' in sys.modules, "
            "loaded.steps['conform'].type.is_loaded]))")
    done = subprocess.run([sys.executable, "-c", code, str(FLAGSHIP)], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True, True]


def test_a_reference_that_cannot_be_imported_is_refused_naming_the_step(tmp_path: Path) -> None:
    import kernel

    class Broken:
        def __init__(self, settings: type[BaseModel] | None) -> None:
            self.settings = settings

        @kernel.hookimpl
        def register_steps(self) -> list[StepType]:
            return [StepType("demo.gone", "no_such_module_here:step", settings=self.settings, description="gone")]

    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("name: demo\nsteps:\n  - {name: first, uses: demo.gone}\n")
    declared = Kernel(entry_points=False, plugins=[("demo", Broken(Nothing))])
    assert declared.plan(load_pipeline(pipeline)).order == ("first",)  # checked without importing it
    for kernel_ in (declared, Kernel(entry_points=False, plugins=[("demo", Broken(None))])):
        with pytest.raises(PipelineError) as caught:
            kernel_.run(pipeline, runs_root=tmp_path / "runs")
        message = str(caught.value)
        assert "step 'first'" in message and "field 'uses'" in message
        assert "cannot import 'no_such_module_here:step'" in message and "plugin 'demo'" in message
        assert not (tmp_path / "runs").exists()  # refused before anything was written


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


def test_a_reference_without_a_settings_model_gets_one_from_its_function() -> None:
    declared = StepType("demo.scale", f"{__name__}:scale", description="scale")
    assert declared.validate_settings({"factor": "3"}) == {"factor": 3.0}
    with pytest.raises(Exception, match="factr"):
        declared.validate_settings({"factr": 3})
    assert declared.loaded().func is scale and declared.loaded().wants_context is False


def scale(inputs: object, *, factor: float = 2.0) -> dict[str, object]:
    return {}


class Scaled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    factor: float = 2.0


def test_a_settings_model_by_reference_is_imported_when_a_pipeline_is_checked(tmp_path: Path) -> None:
    import kernel

    class ByReference:
        def __init__(self, settings: str) -> None:
            self.settings = settings

        @kernel.hookimpl
        def register_steps(self) -> list[StepType]:
            return [StepType("demo.scale", f"{__name__}:scale", settings=self.settings, description="scale")]

    good = Kernel(entry_points=False, plugins=[("demo", ByReference(f"{__name__}:Scaled"))])
    assert good.steps["demo.scale"].type.settings_model is Scaled
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("name: demo\nsteps:\n  - {name: first, uses: demo.scale, settings: {factor: '3'}}\n")
    assert good.plan(load_pipeline(pipeline)).steps["first"].kwargs == {"factor": 3.0}
    pipeline.write_text("name: demo\nsteps:\n  - {name: first, uses: demo.scale, settings: {factr: 3}}\n")
    with pytest.raises(StepSettingsError, match=r"step 'first'.*field 'settings.factr'.*did you mean 'factor'"):
        good.plan(load_pipeline(pipeline))
    for reference, why in ((f"{__name__}:Gone", "cannot import"), (f"{__name__}:scale", "is not a pydantic model")):
        bad = Kernel(entry_points=False, plugins=[("demo", ByReference(reference))])
        with pytest.raises(PipelineError) as caught:
            bad.plan(load_pipeline(pipeline))
        message = str(caught.value)
        assert "step 'first'" in message and "field 'uses'" in message and "plugin 'demo'" in message
        assert "step type 'demo.scale'" in message and reference in message and why in message


def test_listing_the_transform_step_types_builds_none_of_their_models() -> None:
    code = ("import sys, json; from kernel import Kernel; k = Kernel(); "
            "names = [n for n in k.steps if n.startswith('transform.')]; "
            "print(json.dumps([len(names), 'kernel_transform.settings' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [17, False]


def test_every_public_name_is_there_when_asked_for_and_importing_the_kernel_is_cheap() -> None:
    import kernel

    assert set(kernel._LAZY) == set(kernel.__all__)
    assert all(getattr(kernel, name) is not None for name in kernel.__all__)
    code = "import sys, kernel; from kernel import step, StepType, hookimpl; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_package_with_lazy_exports_imports_a_module_when_a_name_is_first_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazy_demo"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from kernel import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'answer': 'lazy_demo.heavy'})\n"
    )
    (package / "heavy.py").write_text("answer = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    demo = importlib.import_module("lazy_demo")
    assert "lazy_demo.heavy" not in sys.modules
    assert "answer" in dir(demo)
    assert demo.answer == 42 and "lazy_demo.heavy" in sys.modules
    with pytest.raises(AttributeError, match="module 'lazy_demo' has no attribute 'question'"):
        _ = demo.question
    for name in ("lazy_demo", "lazy_demo.heavy"):
        monkeypatch.delitem(sys.modules, name)


# The command line's import made slow, and announced, so that a signal surely arrives while it lasts.
SLOW_START = """
import importlib.abc, signal, sys, time

class Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "kernel.cli":
            print("importing", flush=True)
            time.sleep(60)
        return None

sys.meta_path.insert(0, Slow())
sys.argv = ["kernel", "--help"]
from kernel.entry import main
main()
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_command_starts_ends_it_in_one_line(signum: signal.Signals) -> None:
    started = subprocess.Popen([sys.executable, "-c", SLOW_START], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert started.stdout is not None and started.stdout.readline() == "importing\n"
    started.send_signal(signum)
    _, err = started.communicate(timeout=60)
    assert started.returncode == 128 + signum
    assert err.strip() == f"error: interrupted by {signum.name} while the command was starting; nothing was written"


def test_the_commands_own_handlers_are_back_once_it_has_started() -> None:
    probe = ("import signal, sys; sys.argv = ['kernel', '--version']; from kernel.entry import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
             "signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "True True"


def test_help_finds_the_plugins_commands_once_per_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import kernel.cli

    made: list[Kernel] = []

    def counted(**options: object) -> Kernel:
        made.append(Kernel(**options))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(kernel.cli, "Kernel", counted)
    for command_lines in (1, 2):
        result = CliRunner().invoke(kernel.cli.main, ["--help"])
        assert result.exit_code == 0, result.output
        assert "cache " in result.output and "stream " in result.output  # commands plugins add
        assert len(made) == command_lines  # once for the whole listing; again for the next command line


def test_the_command_leaves_what_it_made_out_of_the_exits_collection() -> None:
    # The interpreter's exit would otherwise visit every object pandas and its kin made: 60-70 ms a command.
    probe = ("import gc, sys; sys.argv = ['kernel', '--version']; from kernel.entry import main\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code, gc.get_freeze_count() > 1000)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "0 True"


# Runs the command line as the ``kernel`` script does, and prints whether the garbage collector was on when the
# command was invoked and when a step started, and the BLAS thread settings.
COLLECTOR = """
import gc, json, os, sys
import kernel.cli
from kernel import signals

import click

seen = {}
invoke = click.Command.invoke

def watched(self, ctx):
    if not isinstance(self, click.Group):  # the command itself, not a group on the way to it
        seen.setdefault("command", gc.isenabled())
    return invoke(self, ctx)

def step_started(sender, **_):
    seen.setdefault("step", gc.isenabled())

click.Command.invoke = watched
signals.step_start.connect(step_started, weak=False)
gc.enable()  # as an interpreter starts: whatever importing kernel.cli here did
sys.argv = ["kernel", *sys.argv[1:]]
from kernel.entry import main
try:
    main()
except SystemExit:
    pass
blas = {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
print(json.dumps({**seen, "after": gc.isenabled(), "blas": blas}))
"""


def _collector(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    done = subprocess.run([sys.executable, "-c", COLLECTOR, *args], capture_output=True, text=True, timeout=120,
                          env={**clean, **(env or {})})
    assert done.returncode == 0, done.stderr
    seen: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_a_run_imports_and_plans_with_the_collector_paused_and_runs_its_steps_with_it_on(tmp_path: Path) -> None:
    seen = _collector(*_two_steps(tmp_path))
    assert seen == {"command": False, "step": True, "after": True, "blas": ONE_BLAS_THREAD}


@pytest.mark.parametrize("args", [("steps",), ("cache", "size"), ("showcase", "list")],
                         ids=["steps", "a-plugins-group", "our-group"])
def test_every_other_command_turns_the_collector_back_on_as_it_starts(args: tuple[str, ...], tmp_path: Path) -> None:
    seen = _collector(*args, env={"KERNEL_CACHE_DIR": str(tmp_path / "cache")})
    assert seen == {"command": True, "after": True, "blas": ONE_BLAS_THREAD}


@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": "3"}, {"OPENBLAS_NUM_THREADS": "2"}, {"MKL_NUM_THREADS": "4"}],
                         ids=["omp", "openblas", "mkl"])
def test_a_blas_thread_count_the_user_set_is_kept(env: dict[str, str], tmp_path: Path) -> None:
    seen = _collector(*_two_steps(tmp_path), env=env)
    assert seen["blas"] == {"OPENBLAS_NUM_THREADS": None, "OMP_NUM_THREADS": None, "MKL_NUM_THREADS": None, **env}
    assert seen["step"] is True


def test_a_program_that_imports_the_kernel_keeps_its_collector(tmp_path: Path) -> None:
    code = ("import gc, sys, json; gc.disable(); from kernel import Kernel, signals; seen = [];\n"
            "signals.step_start.connect(lambda sender, **_: seen.append(gc.isenabled()), weak=False)\n"
            "Kernel().run(sys.argv[1], runs_root=sys.argv[2]); print(json.dumps([seen, gc.isenabled()]))")
    pipeline = _two_steps(tmp_path)[1]
    done = subprocess.run([sys.executable, "-c", code, pipeline, str(tmp_path / "lib")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[False, False], False]
