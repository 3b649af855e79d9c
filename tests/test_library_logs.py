"""Used as a library, the kernel prints nothing: its log events go where the application configured
structlog to send them, and nowhere when it did not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import write_pipeline

RUN = """
import sys
{configure}
from kernel import Kernel
result = Kernel().run(sys.argv[1], runs_root=sys.argv[2])
print("ok" if result.ok else "failed")
"""


def run(tmp_path: Path, configure: str = "") -> subprocess.CompletedProcess[str]:
    source = tmp_path / "in.csv"
    source.write_text("x\n1\n2\n")
    path = write_pipeline(tmp_path, [{"name": "read", "uses": "io.read", "settings": {"path": str(source)}}])
    code = RUN.format(configure=configure)
    return subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=120)


def test_a_run_from_python_prints_nothing_but_what_the_caller_prints(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n" and done.stderr == ""


def test_an_application_that_configures_structlog_gets_the_events(tmp_path: Path) -> None:
    done = run(tmp_path, "import structlog; structlog.configure(processors=[structlog.processors.JSONRenderer()])")
    assert done.returncode == 0, done.stderr
    assert '"event": "run started"' in done.stdout and done.stdout.endswith("ok\n")
