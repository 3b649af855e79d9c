"""``kernel stream`` killed at every file operation, then started again: every file counts once.

    python benchmarks/stream_faults.py                # 240 readings in 4 files
    python benchmarks/stream_faults.py --records 600 --files 6

A probe stream over the files (and one broken file, without the arrival column, which the stream moves to
``rejected/`` with its reason) counts the file operations it makes under its state and landing directories
(the points a kill can fall on); then, for each point, a fresh landing directory gets the same files, a stream is killed
(SIGKILL, nothing after it runs) just before that operation, and a second stream runs to the end without
faults. Its sink must equal one batch run over the same records (windows row for row; late, quarantined and
duplicate records as the same rows; alerts and the period's answer), and its ledger must finish each file
once. ``tests/test_stream.py`` does six of these points; this does all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fault_support import command  # noqa: E402
from stream_support import cut, land, readings, write_pipeline  # noqa: E402
from test_stream import assert_same, batch_run  # noqa: E402


def stream_command(world: Path, pipeline: Path) -> list[str]:
    return command("stream", str(pipeline), "--landing", str(world / "landing"), "--state", str(world / "state"),
                   "--until-idle", "0", "--clock", "data", "--final", "--poll", "--merge-parts", "2", "--param",
                   f"results={world / 'results'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=240)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pipeline = write_pipeline(root)
        records = readings(args.records, args.seed)
        reference = batch_run(root, pipeline, records)
        files = cut(records, args.files, args.seed)
        broken = files[1].drop(columns=["ingest_time"]).head(5)  # lands second: set aside, the rest go on
        landed = [files[0], broken, *files[1:]]
        probe = root / "probe"
        land(probe / "landing", landed)
        log = root / "points.log"
        env = {**os.environ, "FAULT_ROOTS": os.pathsep.join([str(probe / "state"), str(probe / "landing")]),
               "FAULT_LOG": str(log)}
        done = subprocess.run(stream_command(probe, pipeline), env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        points = [line.split("\t", 2)[1:] for line in log.read_text().splitlines()]
        survived, failed = 0, []
        for kill_at in range(1, len(points) + 1):
            world = root / f"kill-{kill_at}"
            land(world / "landing", landed)
            env = {**os.environ, "FAULT_ROOTS": os.pathsep.join([str(world / "state"), str(world / "landing")]),
                   "FAULT_KILL_AT": str(kill_at)}
            killed = subprocess.run(stream_command(world, pipeline), env=env, capture_output=True, text=True)
            again = subprocess.run(stream_command(world, pipeline), capture_output=True, text=True)
            problem = None
            if killed.returncode != -9:
                problem = f"not killed (exit {killed.returncode})"
            elif again.returncode != 0:
                problem = f"the restart failed: {again.stderr.strip().splitlines()[-1:]}"
            else:
                try:
                    assert_same(world / "state" / "sink", reference)
                    ledger = [json.loads(line) for line in (world / "state" / "ledger.jsonl").read_text().splitlines()]
                    finished = [e["file"] for e in ledger if e["event"] == "done" and e.get("file")]
                    assert finished == sorted(set(finished)) and len(finished) == len(files), finished
                    rejected = sorted(p.name for p in (world / "landing" / "rejected").iterdir())
                    assert rejected == ["readings-0001.csv", "readings-0001.csv.reason"], rejected
                    assert not (world / "landing" / "readings-0001.csv").exists()
                    # A killed batch's run directory keeps what its run had written (the kernel's record of a
                    # killed run, pruned with the old runs); anything else half written must be gone.
                    debris = [str(p.relative_to(world)) for p in world.rglob("*.tmp")
                              if "runs" not in p.relative_to(world).parts]
                    assert not debris, f"left behind: {debris}"
                except AssertionError as exc:
                    problem = f"differs: {str(exc).splitlines()[0] if str(exc) else 'assertion'}"
            operation, path = points[kill_at - 1]
            where = path.replace(str(probe), "")
            print(f"{kill_at:3d} {operation:8s} {where[:90]:90s} {'ok' if problem is None else problem}", flush=True)
            if problem is None:
                survived += 1
            else:
                failed.append((kill_at, problem))
    print(f"{len(points)} points, {survived} survived, {len(failed)} lost or misreported, "
          f"{time.monotonic() - started:.0f} s")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
