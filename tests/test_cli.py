"""The kernel command, driven as a user drives it: a subprocess, files on disk, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_pipeline

DIAMOND = [
    {"name": "src", "uses": "demo.numbers", "settings": {"n": "${params.n}"}},
    {"name": "parts", "uses": "demo.split", "needs": ["src"]},
    {"name": "evens", "uses": "demo.scale", "needs": ["parts.even"]},
    {"name": "odds", "uses": "demo.scale", "needs": ["parts.odd"]},
    {"name": "all", "uses": "demo.concat", "needs": {"a": "evens", "b": "odds"}},
]


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def pipeline(demo_installed: Path, tmp_path: Path) -> Path:
    return write_pipeline(tmp_path, DIAMOND, name="diamond", params={"n": 4})


def test_run_executes_the_pipeline_and_writes_the_run_directory(pipeline: Path, tmp_path: Path) -> None:
    done = kernel("run", str(pipeline), "--param", "n=6", "--workers", "2", "--run-id", "r1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "run succeeded" in done.stdout and "runs/diamond/r1" in done.stdout
    assert "ok      all" in done.stdout
    run_dir = tmp_path / "runs" / "diamond" / "r1"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["params"] == {"n": 6} and record["steps"]["src"]["rows_out"] == {"out": 6}
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["run started", "run succeeded"]
    assert all(line["run_id"] == "r1" for line in lines)


def test_debug_log_has_a_line_per_step(pipeline: Path, tmp_path: Path) -> None:
    done = kernel("run", str(pipeline), "--run-id", "r2", "--log-level", "debug", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in (tmp_path / "runs/diamond/r2/log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if x["event"] == "step succeeded"] == ["src", "parts", "evens", "odds", "all"]


def test_a_failed_run_exits_1_and_names_the_step(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "bad", "uses": "demo.boom", "settings": {"message": "kaput"}}])
    done = kernel("run", str(path), cwd=tmp_path)
    assert done.returncode == 1
    resume, error = done.stderr.strip().splitlines()[-2:]
    assert error == "error: step 'bad' failed: ValueError: kaput"
    assert resume.startswith(f"to resume it: kernel run {path} --resume ")


def test_validate_checks_without_running(pipeline: Path, tmp_path: Path) -> None:
    done = kernel("validate", str(pipeline), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{pipeline}: valid: pipeline 'diamond', 5 steps, topology diamond"
    assert not (tmp_path / "runs").exists()


def test_graph_prints_mermaid_and_dot_with_the_topology(pipeline: Path, tmp_path: Path) -> None:
    mermaid = kernel("graph", str(pipeline), cwd=tmp_path)
    assert mermaid.stdout.splitlines()[:2] == ["%% topology: diamond", "flowchart LR"]
    dot = kernel("graph", str(pipeline), "--format", "dot", cwd=tmp_path)
    assert dot.stdout.splitlines()[:2] == ["// topology: diamond", 'digraph "diamond" {']


def test_steps_and_plugins_list_what_is_installed(demo_installed: Path, tmp_path: Path) -> None:
    steps = kernel("steps", cwd=tmp_path)
    assert steps.returncode == 0, steps.stderr
    row = next(line for line in steps.stdout.splitlines() if line.startswith("demo.split"))
    assert row.split()[:3] == ["demo.split", "demo", "even,"]
    plugins = kernel("plugins", cwd=tmp_path)
    row = next(line for line in plugins.stdout.splitlines() if line.startswith("demo "))
    assert row.split() == ["demo", "kernel_demo_steps", "kernel-demo-steps", "1.2.3", "loaded"]
    disabled = kernel("steps", "-p", "no:demo", cwd=tmp_path)
    assert "demo.split" not in disabled.stdout


def test_the_console_script_is_installed(demo_installed: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "kernel"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Run data pipelines" in done.stdout


@pytest.mark.parametrize(
    ("steps", "args", "message"),
    [
        (
            [{"name": "a", "uses": "demo.numbrs"}],
            [],
            "step 'a': field 'uses': no plugin registers step type 'demo.numbrs'; did you mean demo.numbers,",
        ),
        (
            [
                {"name": "a", "uses": "demo.numbers", "needs": ["b"]},
                {"name": "b", "uses": "demo.scale", "needs": ["a"]},
            ],
            [],
            "the steps form a cycle: a -> b -> a",
        ),
        ([{"name": "a", "uses": "demo.numbers"}], ["--param", "x=1"], "unknown parameter 'x' (parameters: none)"),
        (
            [{"name": "a", "uses": "demo.numbers", "settings": {"n": 1, "m": 2}}],
            [],
            "step 'a': field 'settings.m': unknown setting",
        ),
        (
            [{"name": "a", "uses": "demo.bad_data", "settings": {"file": "in/t.avro"}}],
            [],
            "step 'a': in/t.avro: not a valid file",
        ),
    ],
)
def test_bad_input_gets_one_line_exit_2_and_no_output(
    demo_installed: Path, tmp_path: Path, steps: list[dict[str, object]], args: list[str], message: str
) -> None:
    path = write_pipeline(tmp_path, steps)
    done = kernel("run", str(path), *args, "--run-id", "x", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert message in last
    if "avro" not in message:  # refused before running: nothing written at all
        assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing.yaml: no such file"),
        ("name: p\nsteps: [\n", "invalid YAML at line"),
        (
            "name: p\nsteps:\n  - {name: a, uses: demo.numbers}\n  - {name: a, uses: demo.numbers}\n",
            "step 'a': duplicate step name",
        ),
    ],
)
def test_bad_files_get_one_line_and_exit_2(
    demo_installed: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "missing.yaml"
    if content is not None:
        path.write_text(content)
    for command in ("run", "validate", "graph"):
        done = kernel(command, str(path), cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and message in done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_broken_plugin_is_named_and_skipped_and_the_command_goes_on(
    bad_site: Path, demo_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{bad_site}{os.pathsep}{demo_site}")
    done = kernel("steps", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warning = done.stderr.splitlines()[0]
    assert warning.startswith("warning: plugin 'broken' (kernel_bad_plugin) is skipped: ") and "colour" in warning
    assert "demo.numbers" in done.stdout  # the other plugins' step types are there
    listed = kernel("plugins", cwd=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("broken "))
    assert "kernel-bad-plugin" in row and "broken: " in row
    # A pipeline that needs a step type nobody registers hears of the plugin that could not be loaded.
    path = write_pipeline(tmp_path, [{"name": "a", "uses": "broken.thing"}])
    failed = kernel("run", str(path), cwd=tmp_path)
    assert failed.returncode == 2
    assert "no plugin registers step type 'broken.thing'; installed but not loaded: plugin 'broken' (" in failed.stderr
    ran = kernel("run", str(write_pipeline(tmp_path, [{"name": "a", "uses": "demo.numbers"}], filename="ok.yaml")),
                 cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr


def test_showcases_are_listed_and_run_by_name_from_any_directory(demo_installed: Path, tmp_path: Path) -> None:
    listed = kernel("showcase", "list", cwd=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("demo-numbers"))
    assert row.split()[:2] == ["demo-numbers", "demo"]
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    first = kernel("showcase", "run", "demo-numbers", "--run-id", "s1", "--param", "factor=5", cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    assert "generating the default data set into showcase-data/demo-numbers" in first.stdout
    assert json.loads((elsewhere / "showcase-data/demo-numbers/numbers.json").read_text()) == list(range(10))
    record = json.loads((elsewhere / "runs/demo-numbers/s1/run.json").read_text())
    assert record["steps"]["all"]["rows_out"] == {"out": 10}
    assert record["params"]["factor"] == 5
    second = kernel("showcase", "run", "demo-numbers", "--run-id", "s2", cwd=elsewhere)
    assert second.returncode == 0 and "generating" not in second.stdout
    unknown = kernel("showcase", "run", "nope", cwd=elsewhere)
    assert unknown.returncode == 2
    assert "no showcase named 'nope'" in unknown.stderr


def test_showcase_data_writes_a_data_set_with_generator_options(demo_installed: Path, tmp_path: Path) -> None:
    done = kernel("showcase", "data", "demo-numbers", "--out", "d1", "--count", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "d1/numbers.json").read_text()) == [0, 1, 2, 3]
    bad = kernel("showcase", "data", "demo-numbers", "--out", "d2", "--colour", "red", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: showcase 'demo-numbers' generator: --colour: unknown option"
    wrong = kernel("showcase", "data", "demo-numbers", "--out", "d3", "--count", "many", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "--count" in wrong.stderr
    assert not (tmp_path / "d2").exists()
    assert not (tmp_path / "d3").exists()
    ran = kernel("showcase", "run", "demo-numbers", "--data", "d1", "--run-id", "x", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads((tmp_path / "runs/demo-numbers/x/run.json").read_text())["steps"]["all"]["rows_out"] == {"out": 4}


def test_generating_data_never_touches_a_directory_it_did_not_make(demo_installed: Path, tmp_path: Path) -> None:
    mine = tmp_path / "d1.partial"  # the name an older version generated into, after deleting it
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    done = kernel("showcase", "data", "demo-numbers", "--out", "d1", "--count", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (mine / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "d1" / "numbers.json").read_text()) == [0, 1, 2, 3]
    assert oct((tmp_path / "d1").stat().st_mode & 0o777) != oct(0o700)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d1", "d1.partial"]  # nothing hidden left


def test_retries_show_as_they_happen_and_a_broken_listener_is_a_warning_at_the_end(
    demo_installed: Path, tmp_path: Path
) -> None:
    steps = [
        {"name": "src", "uses": "demo.numbers", "meta": {"break": True}},
        {"name": "flaky", "uses": "demo.flaky", "needs": {"frame": "src"},
         "settings": {"counter": "${run.dir}/counter"}, "retries": {"attempts": 1, "delay": 0}},
    ]
    done = kernel("run", str(write_pipeline(tmp_path, steps)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a listener that fails does not fail the run
    assert "retry   flaky" in done.stdout and "attempt 1 failed (RuntimeError: " in done.stdout
    assert done.stdout.index("retry   flaky") < done.stdout.index("ok      flaky")
    warning = ("warning: listener connect_listeners.<locals>.broken failed on step_complete (2 times): "
               "RuntimeError: the demo listener broke; the run's own status is unaffected")
    assert warning in done.stderr.splitlines()


def test_showcase_data_says_what_it_generated_and_takes_no_progress_option(tmp_path: Path) -> None:
    done = kernel("showcase", "data", "iot-windowed-kpi", "--out", "d", "--devices", "4", "--days", "1",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp_path / "d" / "manifest.json").read_text())["telemetry"]["records"]
    assert f"generated ({records:,} records) in " in done.stdout
    refused = kernel("showcase", "data", "iot-windowed-kpi", "--out", "e", "--progress", "1", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: showcase 'iot-windowed-kpi' generator: --progress: unknown option"


@pytest.mark.parametrize(("text", "expected"), [
    ("name: t\nstepz:\n  - {name: a, uses: io.read, settings: {path: x.csv}}\n",
     "error: p.yaml: field 'steps': required field is missing; the file has 'stepz': did you mean 'steps'?"),
    ("name: t\nsteps:\n  - {name: a, uses: io.read, settings: {pth: x.csv}}\n",
     "error: p.yaml: step 'a': field 'settings.pth': unknown setting; did you mean 'path'?"),
    ("name: t\nparams: {min: 1}\nsteps:\n  - {name: a, uses: io.read, settings: {path: '${params.mni}'}}\n",
     "error: p.yaml: step 'a': field 'settings': unknown reference ${params.mni}; did you mean ${params.min}?"),
])
def test_a_misspelling_is_named_with_what_was_meant(text: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(text)
    done = kernel("validate", "p.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == expected
