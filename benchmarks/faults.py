"""The flagship refreshed under every fault the fault tests know, counted: tried, survived, lost.

A small data set (12 devices, 3 days, one telemetry file a day) is refreshed twice; the third refresh is
then disturbed in each of these ways, each from a copy of the same world:

- killed (SIGKILL) just before each file operation it makes under the gold and state directories, one
  point per case: every rename, replace, exchange, unlink and rmdir, commits included;
- run twice at once (``--wait``), and once refused by the other's lock;
- interrupted by SIGINT and by SIGTERM at several moments.

After each, the refresh is run again undisturbed, and gold and state are compared with those of an
undisturbed third refresh. A case **survives** when, right after the fault, the gold is complete (the old
or the new version), and after the rerun gold and state equal the undisturbed ones, files that are not the
kernel's are untouched and nothing is left beside the gold; it is **lost** otherwise. A case whose data
survived but whose exit code or output was wrong (a traceback, say) is counted as **misreported**.

    python benchmarks/faults.py            # every case (a few minutes)
    python benchmarks/faults.py --quick    # the kill points only
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fault_support import Snapshot, World, make_data


def gold_is_old_or_new(now: Snapshot, before: Snapshot, after: Snapshot) -> bool:
    if now.gold is None:
        return False
    only_gold = Snapshot(now.gold, None)
    return not only_gold.differences(Snapshot(before.gold, None)) or not only_gold.differences(
        Snapshot(after.gold, None))


class Sweep:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = World(root / "base", make_data(root / "data")).create()
        for run_id, part in (("r1", 0), ("r2", 1)):
            done = self.base.run(run_id, part)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        self.before = self.base.snapshot()
        reference = self.base.copy(root / "reference")
        if reference.run("r3", 2).returncode != 0:
            raise SystemExit("the undisturbed refresh failed")
        self.after = reference.snapshot()
        self.cases = 0
        self.results: list[tuple[str, list[str], list[str]]] = []

    def case(self, name: str, disturb: Callable[[World], list[str]]) -> None:
        self.cases += 1
        world = self.base.copy(self.root / f"case-{self.cases}")
        reported = disturb(world)
        problems: list[str] = []
        try:
            now = world.snapshot()
            if not gold_is_old_or_new(now, self.before, self.after):
                problems.append("gold neither the old nor the new version right after the fault")
        except (OSError, ValueError, AssertionError) as exc:
            problems.append(f"gold or state unreadable right after the fault: {exc}")
        again = world.run(f"again-{self.cases}", 2)
        if again.returncode != 0:
            problems.append(f"rerun failed: {again.stderr.strip().splitlines()[-1:]}")
        else:
            problems += world.snapshot().differences(self.after)
        problems += world.problems()
        self.results.append((name, problems, reported))
        status = "lost" if problems else "misreported" if reported else "ok"
        found = problems + reported
        print(f"{status:<11} {name}" + (f": {'; '.join(found)}" if found else ""), flush=True)

    def kills(self) -> None:
        points = self.base.copy(self.root / "probe").points("r3", 2)
        for n, point in enumerate(points, start=1):
            def kill(world: World, n: int = n) -> list[str]:
                done = world.run("r3", 2, FAULT_KILL_AT=str(n))
                return [] if done.returncode == -signal.SIGKILL else [f"not killed (exit {done.returncode})"]

            self.case(f"kill at {n}/{len(points)}: {point}", kill)

    def overlaps(self) -> None:
        def both_wait(world: World) -> list[str]:
            first, second = world.start("r3", 2, "--wait"), world.start("r3-overlap", 2, "--wait")
            codes = (first.wait(300), second.wait(300))
            return [] if codes == (0, 0) else [f"exits {codes}"]

        def one_refused(world: World) -> list[str]:
            first = world.start("r3", 2)
            time.sleep(0.3)
            second = world.run("r3-refused", 2)
            code = first.wait(300)
            ok = code == 0 and (second.returncode == 0 or (second.returncode == 2 and "in use by" in second.stderr))
            return [] if ok else [f"exits {code}, {second.returncode}: {second.stderr.strip()[-200:]}"]

        self.case("two refreshes at once, both --wait", both_wait)
        self.case("two refreshes at once, the second refused", one_refused)

    def signals(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            for delay in (0.3, 0.8, 1.2, 1.5, 1.7, 1.9):
                def interrupt(world: World, signum: int = signum, delay: float = delay) -> list[str]:
                    run = world.start("r3", 2)
                    time.sleep(delay)
                    run.send_signal(signum)
                    _, err = run.communicate(timeout=300)
                    problems = [] if run.returncode in (0, 128 + signum) else [f"exit {run.returncode}"]
                    return problems + (["a traceback"] if "Traceback" in err else [])

                self.case(f"{signal.Signals(signum).name} after {delay} s", interrupt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the kill points only")
    options = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kernel-faults-") as tmp:
        sweep = Sweep(Path(tmp))
        sweep.kills()
        if not options.quick:
            sweep.overlaps()
            sweep.signals()
    lost = sum(1 for _, problems, _ in sweep.results if problems)
    misreported = sum(1 for _, problems, reported in sweep.results if reported and not problems)
    print(f"faults tried: {len(sweep.results)}, survived: {len(sweep.results) - lost}, lost: {lost}, "
          f"misreported: {misreported} ({time.perf_counter() - started:.0f} s)")
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
