"""A showcase directory with a data.yaml beside its pipeline.yaml is a showcase whose data set datagen writes:
``kernel showcase data NAME --scale S --seed N --out DIR`` generates it, ``kernel showcase run NAME`` runs on it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from kernel_datagen import plugin
from test_datagen import files_bytes, recount


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_every_showcase_directory_with_a_data_spec_is_a_showcase() -> None:
    root = Path(str(files("kernel_showcases")))
    expected = [plugin.showcase_name(d.name) for d in sorted(root.iterdir())  # in the suite's order
                if (d / "data.yaml").is_file() and (d / "pipeline.yaml").is_file()]
    showcases = plugin.register_showcases()
    assert [s.name for s in showcases] == expected and "retail-orders" in expected
    assert "iot-windowed-kpi" not in expected  # its data comes from the iot plugin's own generator
    retail = next(s for s in showcases if s.name == "retail-orders")
    assert retail.pipeline == root / "001-retail-orders" / "pipeline.yaml"  # the number orders the suite
    assert retail.data_param == "data" and retail.results_param == "results"
    assert retail.description == ("What did each product category earn per day this week, and from which customer "
                                  "segments?")


def test_showcase_data_generates_the_declared_data_set_the_same_for_the_same_seed(tmp_path: Path) -> None:
    listed = kernel("showcase", "list", cwd=tmp_path)
    assert any(line.split()[:2] == ["retail-orders", "datagen"] for line in listed.stdout.splitlines())
    done = kernel("showcase", "data", "retail-orders", "--scale", "0.2", "--seed", "3", "--out", "d1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "d1" / "manifest.json").read_text())
    assert f"generated ({manifest['rows']:,} records) in " in done.stdout
    assert manifest["seed"] == 3 and manifest["scale"] == 0.2
    assert {name: t["rows"] for name, t in manifest["tables"].items()} == {
        "customers": 200, "products": 50, "orders": 1000 + 10}  # fixed dimensions; orders scaled, 1 % repeated
    recount(tmp_path / "d1")
    again = kernel("showcase", "data", "retail-orders", "--scale", "0.2", "--seed", "3", "--out", "d2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert files_bytes(tmp_path / "d1") == files_bytes(tmp_path / "d2")

    ran = kernel("showcase", "run", "retail-orders", "--data", "d1", "--run-id", "r1", "-p", "no:report",
                 cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    record = json.loads((tmp_path / "runs" / "retail-orders" / "r1" / "run.json").read_text())
    assert {step: record["steps"][step]["rows_out"]["out"] for step in ("customers", "products", "orders")} == {
        name: t["rows"] for name, t in manifest["tables"].items()}


def test_showcase_data_refuses_options_it_cannot_use_in_one_line(tmp_path: Path) -> None:
    zero = kernel("showcase", "data", "retail-orders", "--scale", "0", "--out", "d", cwd=tmp_path)
    assert (zero.returncode, zero.stderr) == (2, "error: --scale must be more than 0 (got 0.0)\n")
    unknown = kernel("showcase", "data", "retail-orders", "--rows", "5", "--out", "d", cwd=tmp_path)
    assert (unknown.returncode, unknown.stderr) == (2, "error: showcase 'retail-orders' generator: --rows: unknown "
                                                       "option\n")
    assert not (tmp_path / "d").exists()
    checked = kernel("validate", str(Path(str(files("kernel_showcases"))) / "001-retail-orders" / "pipeline.yaml"),
                     "--param", "data=d", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
