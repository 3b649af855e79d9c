"""The command line's runs keep the memory they free (glibc): large arrays are not mapped one by one."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_pipeline

import kernel.cli

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's malloc's")

# Allocates and frees 64 MB, allocates 64 MB again, then prints what keep_freed_memory answered and how many
# more blocks glibc has mapped on their own (mallinfo2's hblks) while the second array is held.
PROBE = """
import ctypes
from kernel.memory import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
kept = keep_freed_memory()
before = libc.mallinfo2().hblks
first = bytearray(64 << 20)
del first
second = bytearray(64 << 20)
print(kept, libc.mallinfo2().hblks - before)
"""


def probe(**env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if k not in ("KERNEL_RETURN_FREED_MEMORY", "GLIBC_TUNABLES")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=clean | env,
                          timeout=60, check=True)
    kept, mapped = done.stdout.split()
    return kept, int(mapped)


@glibc
def test_large_arrays_come_from_the_kept_heap_once_asked() -> None:
    assert probe() == ("True", 0)


@glibc
@pytest.mark.parametrize("env", [{"KERNEL_RETURN_FREED_MEMORY": "1"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"}])
def test_turned_off_or_left_to_the_users_own_tunables(env: dict[str, str]) -> None:
    kept, mapped = probe(**env)
    assert kept == "False" and mapped >= 1  # glibc's default: the large array has its own mapping


def test_kernel_run_asks_for_it_and_a_program_that_imports_the_kernel_does_not(
    demo_installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    monkeypatch.setattr(kernel.cli, "keep_freed_memory", lambda: asked.append(True) or True)
    path = write_pipeline(tmp_path, [{"name": "src", "uses": "demo.numbers"}])
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(kernel.cli.main, ["run", str(path), "-p", "no:report"])
    assert done.exit_code == 0, done.output
    assert asked == [True]
    # the library's own run leaves the allocator alone
    from kernel import Kernel

    Kernel().run(path, runs_root=tmp_path / "lib-runs")
    assert asked == [True]


# A thread allocates and frees 8 MB blocks; prints what keep_freed_memory answered and how many heaps (arenas)
# glibc's malloc_info lists afterwards.
THREADS = """
import ctypes, re, sys, tempfile, threading
from kernel.memory import keep_freed_memory

kept = keep_freed_memory()

def work():
    for _ in range(4):
        block = bytearray(8 << 20)
        del block

thread = threading.Thread(target=work)
thread.start()
thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    handle = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, handle)
    libc.fclose(handle)
    print(kept, len(re.findall(r"<heap nr=", open(out.name).read())))
"""


@glibc
@pytest.mark.parametrize(("env", "kept", "heaps"), [({}, "True", 1), ({"KERNEL_RETURN_FREED_MEMORY": "1"}, "False", 2)])
def test_threads_allocate_from_the_kept_heap_too(env: dict[str, str], kept: str, heaps: int) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("KERNEL_RETURN_FREED_MEMORY", "GLIBC_TUNABLES")}
    done = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, env=clean | env,
                          timeout=60, check=True)
    assert done.stdout.split() == [kept, str(heaps)]


# Imports numpy first (as a program that imports the kernel may), then asks; prints numpy's huge-page setting.
PAGES = """
import numpy
from kernel.memory import keep_freed_memory
keep_freed_memory()
print(numpy._core.multiarray._get_madvise_hugepage())
"""


@pytest.mark.parametrize(("env", "huge"), [({}, "False"), ({"NUMPY_MADVISE_HUGEPAGE": "1"}, "True"),
                                           ({"KERNEL_RETURN_FREED_MEMORY": "1"}, "True")],
                         ids=["asked", "users-own-choice", "turned-off"])
def test_arrays_are_on_ordinary_pages_unless_the_user_chose(env: dict[str, str], huge: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("KERNEL_RETURN_FREED_MEMORY", "NUMPY_MADVISE_HUGEPAGE")}
    done = subprocess.run([sys.executable, "-c", PAGES], capture_output=True, text=True, env=clean | env,
                          timeout=60, check=True)
    assert done.stdout.strip() == huge


POOL = """
import sys
if sys.argv[1] == "before":
    import pyarrow
from kernel.memory import keep_freed_memory
keep_freed_memory()
import os, pyarrow
print(pyarrow.default_memory_pool().backend_name, os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="Arrow's Linux wheels have jemalloc")
@pytest.mark.parametrize("imported", ["before", "after"])
@pytest.mark.parametrize(("env", "pool"), [({}, "jemalloc jemalloc"), ({"ARROW_DEFAULT_MEMORY_POOL": "system"},
                                                                        "system system"),
                                           ({"KERNEL_RETURN_FREED_MEMORY": "1"}, "Arrow's default None")],
                         ids=["asked", "users-own-choice", "turned-off"])
def test_arrow_allocates_from_a_pool_that_gives_freed_pages_back(env: dict[str, str], pool: str,
                                                                 imported: str) -> None:
    # Arrow imported before the run starts (a plugin's module) or after: the same pool either way, and the
    # processes the run starts inherit it.
    clean = {k: v for k, v in os.environ.items() if k not in ("KERNEL_RETURN_FREED_MEMORY",
                                                              "ARROW_DEFAULT_MEMORY_POOL")}
    done = subprocess.run([sys.executable, "-c", POOL, imported], capture_output=True, text=True,
                          env=clean | env, timeout=60, check=True)
    if pool.startswith("Arrow's default"):
        default = subprocess.run([sys.executable, "-c", "import pyarrow; print(pyarrow.default_memory_pool()"
                                  ".backend_name)"], capture_output=True, text=True, env=clean, timeout=60, check=True)
        pool = pool.replace("Arrow's default", default.stdout.strip())
    assert done.stdout.strip() == pool
    assert not done.stderr
