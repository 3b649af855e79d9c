"""Before a run, the kernel recovers every state store a step claims (``kernel.StateStore``): what a stopped
run left there goes, whether or not the run then succeeds; nothing else in the directory is touched."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kernel import Kernel


def pipeline(tmp_path: Path) -> Path:
    (tmp_path / "in.csv").write_text("id,v\n1,a\n2,b\n2,b\n")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({
        "name": "seen",
        "params": {"where": "id > 0"},
        "steps": [
            {"name": "read", "uses": "io.read", "settings": {"path": str(tmp_path / "in.csv")}},
            {"name": "unique", "uses": "transform.dedupe", "needs": ["read"],
             "settings": {"keys": ["id"], "state_dir": str(tmp_path / "seen")}},
            {"name": "some", "uses": "transform.filter", "needs": ["unique"], "settings": {"where": "${params.where}"}},
        ],
    }))
    return path


def run(tmp_path: Path, **params: str) -> bool:
    result = Kernel(disable=("report", "cache")).run(pipeline(tmp_path), params=params, runs_root=tmp_path / "runs")
    return result.ok


def test_a_claimed_store_is_recovered_before_the_run_and_nothing_else_is_touched(tmp_path: Path) -> None:
    assert run(tmp_path)
    store = tmp_path / "seen"
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["roles"] == ["keys"]
    before = (store / "manifest.json").read_text()
    # What a killed run left: a staged generation no manifest names, a half-written file; and a file of the user's.
    (store / "keys-000007.parquet").write_bytes(b"PAR1 staged")
    (store / ".keys-000008.parquet.x1y2.tmp").write_bytes(b"half")
    (store / "notes.txt").write_text("mine\n")
    assert not run(tmp_path, where="no_such_column > 0")  # fails after the dedupe: nothing is committed
    assert sorted(p.name for p in store.iterdir()) == [manifest["keys"]["file"], "manifest.json", "notes.txt"]
    assert (store / "manifest.json").read_text() == before
