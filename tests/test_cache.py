"""The step cache: a second run reuses what did not change and recomputes, with the reason, what did.

Each test has a cache directory of its own (conftest). Step code lives in a package written into the
test's directory, so a test can change it as a user edits a plugin.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import write_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel import Kernel, RunResult
from kernel.cli import main

OTHERS = ["report", "tracker", "validator", "iot", "window", "dask"]

STEPS = '''
from kernel import hookimpl, step
from {pkg}.helpers import bump

CALLS = []


@step("cd.scale")
def scale(inputs, *, factor: float = 2.0):
    CALLS.append("scale")
    frame = inputs["numbers"]
    return frame.assign(x=bump(frame["x"]) * factor)


@step("cd.total")
def total(inputs, *, label: str = "total"):
    CALLS.append("total")
    return {{"out": __import__("pandas").DataFrame({{"label": [label], "sum": [inputs["scaled"]["x"].sum()]}})}}


@hookimpl
def register_steps():
    return [scale, total]
'''
HELPERS = "def bump(values):\n    return values + 1\n"
PIPELINE = [
    {"name": "src", "uses": "io.read", "settings": {"path": "data/numbers.csv"}},
    {"name": "scaled", "uses": "cd.scale", "needs": {"numbers": "src"}, "settings": {"factor": "${params.factor}"}},
    {"name": "total", "uses": "cd.total", "needs": {"scaled": "scaled"}},
]


class Project:
    """A pipeline, its data and a step plugin package, in a test's directory."""

    def __init__(self, root: Path, name: str) -> None:
        self.root, self.pkg = root, name
        (root / "data").mkdir()
        (root / "data" / "numbers.csv").write_text("x\n1\n2\n3\n")
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        self.write("helpers.py", HELPERS)
        self.write("steps.py", STEPS.format(pkg=name))
        self.pipeline(PIPELINE)
        sys.path.insert(0, str(root))

    def write(self, module: str, text: str) -> None:
        (self.root / self.pkg / module).write_text(text)

    def pipeline(self, steps: list[dict[str, Any]], **extra: Any) -> None:
        write_pipeline(self.root, steps, name="cached", params={"factor": 2.0}, **extra)

    def module(self) -> types.ModuleType:
        """The plugin module as its files are now (imported again after an edit)."""
        for name in [n for n in sys.modules if n == self.pkg or n.startswith(self.pkg + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        return importlib.import_module(f"{self.pkg}.steps")

    def run(self, **options: Any) -> RunResult:
        module = self.module()
        kernel = Kernel(disable=OTHERS, plugins=[("cd", module)])
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            result = kernel.run("pipeline.yaml", runs_root="runs", keep_outputs=True, **options)
        finally:
            os.chdir(cwd)
        assert result.ok, result.record.error
        self.calls = list(module.CALLS)
        return result


def cache_of(result: RunResult) -> dict[str, tuple[str | None, str | None]]:
    return {name: (s.cache, s.cache_reason) for name, s in result.record.steps.items()}


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    name = "cd_" + re.sub(r"\W", "_", request.node.name)[:60]
    made = Project(tmp_path, name)
    yield made
    sys.path.remove(str(tmp_path))


def test_a_second_run_reuses_every_step_and_gives_the_same_outputs(project: Project) -> None:
    first = project.run()
    assert {s.cache for s in first.record.steps.values()} == {"miss"}
    assert first.record.steps["scaled"].cache_reason == "not in the cache"
    second = project.run()
    assert project.calls == []
    assert {name: s.cache for name, s in second.record.steps.items()} == dict.fromkeys(first.record.steps, "hit")
    for step, outputs in first.outputs.items():
        for name, frame in outputs.items():
            pd.testing.assert_frame_equal(second.outputs[step][name], frame, check_exact=True)
    assert second.record.steps["total"].attempts == 0
    assert second.record.steps["total"].saved_s == pytest.approx(first.record.steps["total"].duration_s)


def test_changed_settings_rerun_the_step_and_what_depends_on_it(project: Project) -> None:
    project.run()
    second = project.run(params={"factor": 3.0})
    assert cache_of(second)["src"] == ("hit", None)
    assert cache_of(second)["scaled"] == ("miss", "settings.factor changed")
    assert cache_of(second)["total"] == ("miss", "input scaled (scaled.out) changed")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(2 + 3 + 4) * 3.0]


def test_changed_step_code_reruns_it(project: Project) -> None:
    project.run()
    project.write("steps.py", STEPS.format(pkg=project.pkg).replace("* factor", "* factor * 10"))
    second = project.run()
    assert cache_of(second)["scaled"] == ("miss", "code of cd.scale changed")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(2 + 3 + 4) * 2.0 * 10]


def test_changed_helper_in_another_module_reruns_the_steps_that_use_the_package(project: Project) -> None:
    project.run()
    project.write("helpers.py", "def bump(values):\n    return values + 100\n")
    second = project.run()
    assert cache_of(second)["scaled"] == ("miss", "code of cd.scale changed")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(101 + 102 + 103) * 2.0]


def test_a_step_whose_output_did_not_change_leaves_its_consumers_cached(project: Project) -> None:
    project.run()
    (project.root / "data" / "numbers.csv").write_text("x\r\n1\r\n2\r\n3\r\n")  # other bytes, same table
    second = project.run()
    assert cache_of(second)["src"][0] == "miss"
    assert cache_of(second)["scaled"] == ("hit", None)  # its input's content is what it was
    assert project.calls == []


def test_changed_file_content_reruns_the_reading_step(project: Project) -> None:
    project.run()
    (project.root / "data" / "numbers.csv").write_text("x\n1\n2\n30\n")
    second = project.run()
    assert cache_of(second)["src"] == ("miss", "data/numbers.csv, which it read, changed")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(2 + 3 + 31) * 2.0]


def test_a_new_file_in_a_directory_read_reruns_the_reading_step(project: Project) -> None:
    (project.root / "data" / "numbers.csv").unlink()
    (project.root / "data" / "parts").mkdir()
    (project.root / "data" / "parts" / "a.csv").write_text("x\n1\n")
    project.pipeline([{**PIPELINE[0], "settings": {"path": "data/parts"}}, *PIPELINE[1:]])
    project.run()
    (project.root / "data" / "parts" / "b.csv").write_text("x\n5\n")
    second = project.run()
    assert cache_of(second)["src"][0] == "miss"
    assert "data/parts" in (cache_of(second)["src"][1] or "")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(2 + 6) * 2.0]


def test_a_run_specific_value_in_the_settings_does_not_invalidate(project: Project) -> None:
    steps = [*PIPELINE[:2], {**PIPELINE[2], "settings": {"label": "${run.dir}"}}]
    project.pipeline(steps)
    project.run()
    second = project.run()
    assert cache_of(second)["total"] == ("hit", None)


def test_a_written_file_is_checked_before_the_writing_step_is_reused(project: Project) -> None:
    project.pipeline([*PIPELINE, {"name": "save", "uses": "io.write", "needs": ["total"],
                                  "settings": {"path": "out/total.csv"}}])
    project.run()
    assert cache_of(project.run())["save"] == ("hit", None)
    (project.root / "out" / "total.csv").write_text("tampered\n")
    third = project.run()
    assert cache_of(third)["save"] == ("miss", "out/total.csv, which it wrote, is changed")
    assert (project.root / "out" / "total.csv").read_text().startswith("label")
    (project.root / "out" / "total.csv").unlink()
    assert cache_of(project.run())["save"] == ("miss", "out/total.csv, which it wrote, is gone")
    assert (project.root / "out" / "total.csv").exists()


def test_a_file_written_into_the_run_directory_makes_the_step_run_in_every_run(project: Project) -> None:
    project.pipeline([*PIPELINE, {"name": "save", "uses": "io.write", "needs": ["total"],
                                  "settings": {"path": "${run.dir}/total.csv"}}])
    project.run()
    second = project.run()
    assert cache_of(second)["total"] == ("hit", None)
    assert cache_of(second)["save"] == ("miss", "it writes total.csv into the run's own directory")
    assert (project.root / second.run.run_dir / "total.csv").exists()


def test_refresh_recomputes_a_step_and_everything_downstream(project: Project) -> None:
    project.run()
    second = project.run(refresh=["scaled"])
    assert cache_of(second) == {
        "src": ("hit", None),
        "scaled": ("miss", "refreshed (--refresh or --no-cache)"),
        "total": ("miss", "refreshed (--refresh or --no-cache)"),
    }
    assert project.calls == ["scale", "total"]
    assert {s.cache for s in project.run(refresh=True).record.steps.values()} == {"miss"}


def test_a_refresh_of_an_unknown_step_is_refused(project: Project) -> None:
    with pytest.raises(Exception, match="--refresh names step 'nope'"):
        project.run(refresh=["nope"])


def test_without_the_cache_plugin_every_step_runs_and_nothing_is_recorded(project: Project) -> None:
    project.run()
    module = project.module()
    kernel = Kernel(disable=[*OTHERS, "cache"], plugins=[("cd", module)])
    os.chdir(project.root)
    try:
        result = kernel.run("pipeline.yaml", runs_root="runs")
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert module.CALLS == ["scale", "total"]
    assert {s.cache for s in result.record.steps.values()} == {None}


def test_an_input_without_a_fingerprint_makes_its_consumer_miss_with_the_reason(project: Project) -> None:
    text = STEPS.format(pkg=project.pkg).replace(
        "return frame.assign(x=bump(frame[\"x\"]) * factor)",
        "return frame.assign(x=bump(frame[\"x\"]) * factor, bag=[[1]] * len(frame))",
    )
    project.write("steps.py", text)
    project.run()
    second = project.run()
    assert cache_of(second)["scaled"][0] == "miss"  # its output cannot be stored, so never reused
    reason = cache_of(second)["total"][1] or ""
    assert cache_of(second)["total"][0] == "miss" and "input scaled (scaled.out) has no fingerprint" in reason


def test_a_judge_that_replaces_an_output_changes_what_the_consumer_is_keyed_on(project: Project) -> None:
    judge = types.ModuleType("cd_judge")
    judge.limit = 100  # type: ignore[attr-defined]

    def after_step_run(run: Any, step: Any, outputs: Any) -> Any:
        from kernel import StepVerdict

        if step.name != "scaled":
            return None
        frame = outputs["out"]
        return StepVerdict(replace={"out": frame[frame["x"] < judge.limit]})  # type: ignore[attr-defined]

    from kernel import hookimpl

    judge.after_step_run = hookimpl(after_step_run)  # type: ignore[attr-defined]
    module = project.module()
    os.chdir(project.root)
    try:
        def run() -> RunResult:
            kernel = Kernel(disable=OTHERS, plugins=[("cd", module), ("judge", judge)])
            return kernel.run("pipeline.yaml", runs_root="runs", keep_outputs=True)

        run()
        judge.limit = 7  # type: ignore[attr-defined]
        second = run()
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert cache_of(second)["scaled"] == ("hit", None)  # what the step itself returns is unchanged
    assert cache_of(second)["total"] == ("miss", "input scaled (scaled.out) changed")
    assert second.outputs["total"]["out"]["sum"].tolist() == [(4 + 6) * 1.0]


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_outputs_stored_under_an_executor_are_reused_under_another(project: Project, executor: str) -> None:
    first = project.run(executor=executor, workers=2)
    second = project.run()
    assert {s.cache for s in second.record.steps.values()} == {"hit"}
    third = project.run(executor=executor, workers=2)
    assert {s.cache for s in third.record.steps.values()} == {"hit"}
    pd.testing.assert_frame_equal(third.outputs["total"]["out"], first.outputs["total"]["out"])


def test_a_damaged_stored_frame_is_a_miss_and_is_stored_again(project: Project) -> None:
    project.run()
    objects = sorted(Path(os.environ["KERNEL_CACHE_DIR"]).glob("objects/*/*.arrow"))
    for path in objects:
        path.write_bytes(b"not arrow")
    second = project.run()
    assert cache_of(second)["src"][0] == "miss" and "could not be read back" in (cache_of(second)["src"][1] or "")
    assert {s.cache for s in project.run().record.steps.values()} == {"hit"}


def test_the_cache_command_lists_sizes_and_prunes(project: Project) -> None:
    project.run()
    cache_dir = os.environ["KERNEL_CACHE_DIR"]
    runner = CliRunner()
    listed = runner.invoke(main, ["cache", "ls"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[:2] for line in listed.output.splitlines()] == [
        ["cached", "scaled"], ["cached", "src"], ["cached", "total"]
    ]
    size = runner.invoke(main, ["cache", "size"])
    assert f"{cache_dir}: 3 entries, 3 stored frames" in size.output
    kept = runner.invoke(main, ["cache", "prune", "--older-than", "1d"])
    assert "removed 0 entries and 0 stored frames" in kept.output
    foreign = Path(cache_dir) / "objects" / "notes.txt"
    foreign.write_text("not the cache's")
    past = 10 * 86400
    for path in Path(cache_dir).rglob("*"):
        if path.is_file():
            os.utime(path, (path.stat().st_atime - past, path.stat().st_mtime - past))
    pruned = runner.invoke(main, ["cache", "prune", "--older-than", "1d"])
    assert "removed 3 entries and 3 stored frames" in pruned.output
    assert foreign.exists()  # only what the cache made
    assert {s.cache for s in project.run().record.steps.values()} == {"miss"}
    bad = runner.invoke(main, ["cache", "prune", "--older-than", "soon"])
    assert bad.exit_code == 2 and "not a duration" in bad.output


def test_an_entry_names_what_the_key_was_made_of(project: Project) -> None:
    result = project.run()
    key = result.record.steps["scaled"].cache_key
    assert key is not None
    entry = orjson.loads((Path(os.environ["KERNEL_CACHE_DIR"]) / "entries" / key[:2] / f"{key}.json").read_bytes())
    assert entry["components"]["settings"] == {"factor": 2.0}
    assert set(entry["components"]["inputs"]) == {"numbers"}
    assert entry["step"] == "scaled" and entry["pipeline"] == "cached"


def test_the_command_line_reuses_and_recomputes_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "numbers.csv").write_text("x\n1\n2\n")
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": "numbers.csv"}},
        {"name": "save", "uses": "io.write", "needs": ["src"], "settings": {"path": "copy.csv"}},
    ], name="copy")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*extra: str) -> dict[str, str | None]:
        done = runner.invoke(main, ["run", "pipeline.yaml", "-p", "no:report", "-p", "no:tracker", *extra])
        assert done.exit_code == 0, done.output
        (record,) = [p for p in (tmp_path / "runs" / "copy").glob("*/run.json") if p.stat().st_mtime >= start]
        steps = orjson.loads(record.read_bytes())["steps"]
        return {name: s["cache"] for name, s in steps.items()}

    import time

    for extra, expected in [((), "miss"), ((), "hit"), (("--no-cache",), "miss"), (("--refresh", "save"), "save")]:
        time.sleep(0.01)
        start = time.time()
        found = run(*extra)
        if expected == "save":
            assert found == {"src": "hit", "save": "miss"}
        else:
            assert set(found.values()) == {expected}, (extra, found)
    explained = runner.invoke(main, ["run", "pipeline.yaml", "-p", "no:report", "-p", "no:tracker", "--explain"])
    assert explained.exit_code == 0, explained.output
    assert explained.output.splitlines()[-1] == "0 step(s) would run, 2 would be reused; nothing was run"


EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("values"), st.lists(st.integers(-5, 5), min_size=1, max_size=4)),
        st.tuples(st.just("factor"), st.sampled_from([1.0, 2.0, 3.0])),
        st.tuples(st.just("label"), st.sampled_from(["a", "b"])),
        st.tuples(st.just("helper"), st.integers(0, 2)),
        st.tuples(st.just("nothing"), st.none()),
    ),
    min_size=1,
    max_size=5,
)
_examples = iter(range(10**6))
REUSED: Counter[str | None] = Counter()  # hits and misses over every example (for CACHE_EDIT_EXAMPLES sweeps)


@settings(
    max_examples=int(os.environ.get("CACHE_EDIT_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS)
def test_random_edits_never_give_a_stale_result(
    edits: list[tuple[str, Any]], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After any sequence of edits, every output equals a plain pandas computation of the edited project."""
    root = tmp_path_factory.mktemp("edits")
    monkeypatch.setenv("KERNEL_CACHE_DIR", str(root / "cache"))
    (root / "p").mkdir()
    made = Project(root / "p", f"cd_edits_{next(_examples)}")
    steps = [*PIPELINE[:2], {**PIPELINE[2], "settings": {"label": "${params.label}"}}]
    values, factor, label, offset = [1, 2, 3], 2.0, "a", 1
    try:
        made.pipeline(steps)
        write_pipeline(made.root, steps, name="cached", params={"factor": factor, "label": label})
        made.run()
        for kind, value in edits:
            if kind == "values":
                values = value
                (made.root / "data" / "numbers.csv").write_text("x\n" + "".join(f"{v}\n" for v in values))
            elif kind == "factor":
                factor = value
            elif kind == "label":
                label = value
            elif kind == "helper":
                offset = value
                made.write("helpers.py", f"def bump(values):\n    return values + {offset}\n")
            result = made.run(params={"factor": factor, "label": label})
            REUSED.update(s.cache for s in result.record.steps.values())
            expected = pd.DataFrame({"x": [(v + offset) * factor for v in values]})
            pd.testing.assert_frame_equal(result.outputs["scaled"]["out"], expected, check_dtype=False)
            assert result.outputs["total"]["out"].to_dict("list") == {"label": [label], "sum": [expected["x"].sum()]}
    finally:
        sys.path.remove(str(made.root))
    if os.environ.get("CACHE_EDIT_EXAMPLES"):
        print("steps reused/recomputed so far:", dict(REUSED))


def test_a_failed_run_resumes_in_its_directory_with_the_steps_that_succeeded_reused(project: Project) -> None:
    (project.root / "data" / "more.csv").unlink(missing_ok=True)
    project.pipeline([*PIPELINE, {"name": "more", "uses": "io.read", "settings": {"path": "data/more.csv"}}])
    module = project.module()
    os.chdir(project.root)
    try:
        failed = Kernel(disable=OTHERS, plugins=[("cd", module)]).run("pipeline.yaml", runs_root="runs",
                                                                          params={"factor": 5.0})
        assert failed.record.status == "failed" and failed.record.steps["more"].status == "failed"
        (project.root / "data" / "more.csv").write_text("x\n9\n")
        write_pipeline(project.root, PIPELINE, name="other", filename="other.yaml", params={"factor": 1.0})
        with pytest.raises(Exception, match="is a run of pipeline 'cached', not 'other'"):
            Kernel(disable=OTHERS, plugins=[("cd", module)]).run("other.yaml", runs_root="runs",
                                                                 resume=failed.run.run_id)
        resumed = Kernel(disable=OTHERS, plugins=[("cd", module)]).run(
            "pipeline.yaml", runs_root="runs", resume=failed.run.run_id, keep_outputs=True
        )
        clean = Kernel(disable=[*OTHERS, "cache"], plugins=[("cd", module)]).run(
            "pipeline.yaml", runs_root="runs", params={"factor": 5.0}, keep_outputs=True
        )
        with pytest.raises(Exception, match="succeeded: there is nothing to resume"):
            Kernel(disable=OTHERS, plugins=[("cd", module)]).run("pipeline.yaml", runs_root="runs",
                                                                 resume=failed.run.run_id)
        with pytest.raises(Exception, match="there is no run 'nope' to resume"):
            Kernel(disable=OTHERS, plugins=[("cd", module)]).run("pipeline.yaml", runs_root="runs", resume="nope")
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert resumed.ok and resumed.run.run_dir == failed.run.run_dir
    assert {n: s.cache for n, s in resumed.record.steps.items()} == {
        "src": "hit", "scaled": "hit", "total": "hit", "more": "miss"
    }
    assert [attempt["status"] for attempt in resumed.record.resumed] == ["failed"]
    assert resumed.run.params["factor"] == 5.0  # the run's own values, not the file's default
    for step, outputs in clean.outputs.items():
        for name, frame in outputs.items():
            pd.testing.assert_frame_equal(resumed.outputs[step][name], frame)
    on_disk = orjson.loads((project.root / resumed.run.run_dir / "run.json").read_bytes())
    assert on_disk["status"] == "succeeded" and on_disk["resumed"][0]["error"].startswith("step 'more'")


def test_the_command_line_prints_how_to_resume_a_failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pipeline(tmp_path, [{"name": "src", "uses": "io.read", "settings": {"path": "missing.csv"}}], name="fails")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["run", "pipeline.yaml", "--run-id", "r1", "-p", "no:report"])
    assert done.exit_code == 2
    assert "to resume it: kernel run pipeline.yaml --resume r1" in done.output
    (tmp_path / "missing.csv").write_text("x\n1\n")
    again = CliRunner().invoke(main, ["run", "pipeline.yaml", "--resume", "r1", "-p", "no:report"])
    assert again.exit_code == 0, again.output
    assert "run r1 of fails (resumed)" in again.output


def test_a_partial_run_takes_what_its_steps_need_from_the_cache(project: Project) -> None:
    project.pipeline([{**PIPELINE[0], "tags": ["load"]}, {**PIPELINE[1], "tags": ["math"]},
                      {**PIPELINE[2], "tags": ["math", "report"]}])
    to = project.run(to_steps=["scaled"])
    assert {n: s.status for n, s in to.record.steps.items()} == {
        "src": "succeeded", "scaled": "succeeded", "total": "not selected"
    }
    assert to.record.selection == {"to": ["scaled"]} and project.calls == ["scale"]
    only = project.run(only=["total"], params={"factor": 2.0})
    assert {n: (s.status, s.cache) for n, s in only.record.steps.items()} == {
        "src": ("succeeded", "hit"), "scaled": ("succeeded", "hit"), "total": ("succeeded", "miss")
    }
    assert only.outputs["total"]["out"]["sum"].tolist() == [(2 + 3 + 4) * 2.0]
    tagged = project.run(tags=["report"], from_steps=["scaled"])
    assert [n for n, s in tagged.record.steps.items() if s.status == "succeeded"] == ["src", "scaled", "total"]
    assert tagged.record.steps["total"].cache == "hit"


def test_a_partial_run_stops_when_the_cache_cannot_give_what_a_chosen_step_needs(project: Project) -> None:
    module = project.module()
    os.chdir(project.root)
    try:
        result = Kernel(disable=OTHERS, plugins=[("cd", module)]).run("pipeline.yaml", runs_root="runs",
                                                                          only=["total"])
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert result.exit_code == 2 and module.CALLS == []
    assert result.record.error == (
        "step 'src': not selected, but scaled, total need what it gives and the cache cannot give it "
        "(not in the cache): select it too, or run the whole pipeline once"
    )
    assert result.record.steps["total"].status == "skipped"


@pytest.mark.parametrize(("option", "message"), [
    ({"only": ["nope"]}, "--only names step 'nope', which the pipeline does not have"),
    ({"tags": ["nope"]}, "--tags names tag 'nope', which no step has (tags: none)"),
    ({"from_steps": ["total"], "to_steps": ["src"]}, "the selection (--from total, --to src) leaves no step to run"),
])
def test_a_selection_that_names_nothing_is_refused(project: Project, option: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        project.run(**option)


def test_explain_forecasts_each_step_without_running_anything(project: Project) -> None:
    project.run()
    module = project.module()
    os.chdir(project.root)
    try:
        kernel = Kernel(disable=OTHERS, plugins=[("cd", module)])
        before = sorted(p.name for p in (project.root / "runs" / "cached").iterdir())
        same = kernel.explain("pipeline.yaml", runs_root="runs")
        changed = kernel.explain("pipeline.yaml", runs_root="runs", params={"factor": 4.0})
        partial = kernel.explain("pipeline.yaml", runs_root="runs", only=["total"], refresh=["src"])
        after = sorted(p.name for p in (project.root / "runs" / "cached").iterdir())
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert [(name, verdict) for name, verdict, _ in same] == [("src", "reuse"), ("scaled", "reuse"), ("total", "reuse")]
    assert changed[1:] == [
        ("scaled", "run", "settings.factor changed"),
        ("total", "run", "after scaled, which runs: known once that has run"),
    ]
    assert [verdict for _, verdict, _ in partial] == ["missing", "missing", "run"]
    assert module.CALLS == [] and before == after  # nothing ran, no run directory was made


def test_the_report_counts_reused_steps_and_the_time_they_took(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from report_support import md_facts, md_sections, md_table

    (tmp_path / "numbers.csv").write_text("x\n1\n2\n")
    write_pipeline(tmp_path, [
        {"name": "src", "uses": "io.read", "settings": {"path": "numbers.csv"}},
        {"name": "save", "uses": "io.write", "needs": ["src"], "settings": {"path": "${run.dir}/copy.csv"}},
    ], name="copy", plugins={"settings": {"report": {"charts": False}}})
    monkeypatch.chdir(tmp_path)
    first = Kernel().run("pipeline.yaml", runs_root="runs")
    second = Kernel().run("pipeline.yaml", runs_root="runs")
    report = (second.run.run_dir / "report.md").read_text()
    facts = md_facts(md_sections(report)["Execution metrics"])
    assert facts["steps reused from the cache"] == "1" and facts["steps recomputed (cache misses)"] == "1"
    took = first.record.steps["src"].duration_s
    assert float(facts["time the reused steps took when they ran (s)"]) == pytest.approx(took, abs=0.0005)
    notes = {row["step"]: row["error or reason"] for row in md_table(md_sections(report)["Steps"], "step")}
    assert notes == {"src": "reused from the cache", "save": "ran: it writes copy.csv into the run's own directory"}


def test_a_partial_run_takes_its_inputs_from_an_earlier_run_as_they_were(project: Project) -> None:
    first = project.run()
    (project.root / "data" / "numbers.csv").write_text("x\n10\n20\n")  # src would now give something else
    module = project.module()
    os.chdir(project.root)
    try:
        kernel = Kernel(disable=OTHERS, plugins=[("cd", module)])
        stopped = kernel.run("pipeline.yaml", runs_root="runs", only=["total"])
        taken = kernel.run("pipeline.yaml", runs_root="runs", only=["total"], inputs_from=first.run.run_id,
                           keep_outputs=True, refresh=["total"])
        with pytest.raises(Exception, match="there is no run 'nope' to take inputs from"):
            kernel.run("pipeline.yaml", runs_root="runs", only=["total"], inputs_from="nope")
    finally:
        os.chdir(Path(__file__).parent.parent)
    assert stopped.exit_code == 2 and "src.csv" not in (stopped.record.error or "")
    assert "data/numbers.csv, which it read, changed" in (stopped.record.error or "")
    assert taken.ok and module.CALLS == ["total"]
    assert taken.outputs["total"]["out"].equals(first.outputs["total"]["out"])
    assert taken.record.steps["src"].cache_key == first.record.steps["src"].cache_key


def test_a_step_type_from_an_installed_distribution_is_keyed_on_its_own_source(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kernel_cache import identity

    monkeypatch.setattr(identity, "_LIBRARIES", (os.path.realpath(project.root),))  # as if in site-packages
    from kernel.steps import as_step_type

    def scale_type() -> Any:
        return as_step_type(project.module().scale)

    first = identity.code_identity(scale_type())
    project.write("helpers.py", "def bump(values):\n    return values + 7\n")
    assert identity.code_identity(scale_type()) != first


def test_a_reused_step_is_announced_with_cached_and_its_key(project: Project) -> None:
    from kernel import signals

    first = project.run()
    seen: list[tuple[str, bool, str | None, int]] = []

    def receiver(sender: Any, *, event: Any, **_: Any) -> None:
        seen.append((event.step.name, event.cached, event.cache_key, event.attempts))

    signals.step_complete.connect(receiver)
    try:
        project.run(params={"factor": 3.0})
    finally:
        signals.step_complete.disconnect(receiver)
    keys = {name: s.cache_key for name, s in first.record.steps.items()}
    assert seen[0] == ("src", True, keys["src"], 0)
    assert [(name, cached, attempts) for name, cached, _, attempts in seen[1:]] == [("scaled", False, 1),
                                                                                     ("total", False, 1)]
    assert seen[1][2] is not None and seen[1][2] != keys["scaled"]  # the key it is stored under now


def test_the_flagship_resumed_after_its_gate_stopped_it_publishes_the_gold_of_a_clean_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    def kernel(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)

    made = kernel("showcase", "data", "iot-windowed-kpi", "--out", "data", "--devices", "12", "--days", "1",
                  "--seed", "5")
    assert made.returncode == 0, made.stderr
    common = ["--data", "data", "--param", "refresh=1d", "-p", "no:report"]
    stopped = kernel("showcase", "run", "iot-windowed-kpi", *common, "--param", "gold=gold",
                     "--param", "period_end=2020-01-01T00:00:00Z", "--run-id", "stopped")
    assert stopped.returncode == 1 and "to resume it: kernel showcase run iot-windowed-kpi --resume stopped" in \
        stopped.stderr, stopped.stderr
    assert not (tmp_path / "gold").exists()
    resumed = kernel("showcase", "run", "iot-windowed-kpi", "--resume", "stopped", "--param", "period_end=null",
                     "-p", "no:report")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record = orjson.loads((tmp_path / "runs" / "iot-windowed-kpi" / "stopped" / "run.json").read_bytes())
    assert record["steps"]["ingest"]["cache"] == "hit" and record["steps"]["conform"]["cache"] == "miss"
    clean = kernel("showcase", "run", "iot-windowed-kpi", *common, "--param", "gold=clean", "-p", "no:cache")
    assert clean.returncode == 0, clean.stderr
    for table in sorted((tmp_path / "clean").glob("*.parquet")):
        ours = pd.read_parquet(tmp_path / "gold" / table.name)
        theirs = pd.read_parquet(table)
        pd.testing.assert_frame_equal(ours.drop(columns="run_id", errors="ignore"),
                                      theirs.drop(columns="run_id", errors="ignore"), check_exact=True)
    kpis = [orjson.loads((tmp_path / d / "kpis.json").read_bytes()) for d in ("gold", "clean")]
    assert {k: v for k, v in kpis[0].items() if k != "run_id"} == {k: v for k, v in kpis[1].items() if k != "run_id"}


def test_a_short_run_id_in_a_file_name_does_not_disturb_the_files_check(project: Project) -> None:
    (project.root / "data" / "r1.csv").write_text("x\n1\n")
    project.pipeline([{**PIPELINE[0], "settings": {"path": "data/r1.csv"}}, *PIPELINE[1:]])
    project.run(run_id="r1")
    assert cache_of(project.run(run_id="r2"))["src"] == ("hit", None)


def test_a_frame_arrow_cannot_hold_is_not_stored_and_its_step_runs_again(project: Project) -> None:
    # Text and numbers in one object column: pandas fingerprints it, Arrow refuses to store it (in the writer
    # thread). The step has no entry, so it runs again; its consumer is still keyed and reused.
    project.write("helpers.py", "def bump(values):\n    return values.astype(object).where(values > 1, 'one')\n")
    project.write("steps.py", STEPS.format(pkg=project.pkg).replace("bump(frame[\"x\"]) * factor", "bump(frame[\"x\"])")
                  .replace('inputs["scaled"]["x"].sum()', 'len(inputs["scaled"])'))
    first = project.run()
    assert cache_of(first)["scaled"][0] == "miss"
    second = project.run()
    assert project.calls == ["scale"]
    assert cache_of(second)["scaled"] == ("miss", "not in the cache")
    assert cache_of(second)["total"][0] == "hit"
    assert list(second.outputs["scaled"]["out"]["x"]) == ["one", 2, 3]
