"""The CLI (and the workers it starts) keeps one glibc malloc arena (service/malloc.py): the
reliability report's threads would otherwise each take an arena and raise a county circular's
peak by 40-75 MB. Checked here in a fresh process, since the setting is process-wide: a thread
that allocates a lot and frees it leaves the process's RSS where one arena leaves it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Four threads, each allocating and freeing 200 blocks of 64 KiB (under the mmap threshold, so
# from an arena) while the others do the same; the main thread's RSS is read after.
PROGRAM = textwrap.dedent(
    """
    import ctypes, re, sys, threading
    from service.malloc import one_arena
    if sys.argv[1] == "one":
        assert one_arena()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    start = threading.Barrier(4)
    def churn():
        start.wait()
        blocks = [libc.malloc(64 * 1024) for _ in range(200)]
        for b in blocks:
            ctypes.memset(b, 1, 64 * 1024)
        for b in blocks[1:]:  # keep one, so the arena cannot shrink to nothing
            libc.free(b)
    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    # An arena of a thread is a 64 MB reservation: an anonymous mapping without access, of
    # which the part in use is mapped read-write in front of it.
    reserved = 0
    for line in open("/proc/self/maps"):
        fields = line.split()
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if fields[1] == "---p" and len(fields) == 5 and hi - lo > 1 << 20:
            reserved += 1
    print(reserved)
    """
)


def _reserved_arenas(mode: str) -> int:
    """How many thread arenas the program reserved, with or without ``one_arena``."""
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return int(out.stdout.strip())


def test_one_arena_means_no_arena_per_thread() -> None:
    """Each extra arena is a reservation of its own: with one arena the four threads add none."""
    assert _reserved_arenas("one") == 0 and _reserved_arenas("many") >= 2


def test_the_cli_takes_one_arena_before_any_command(monkeypatch, tmp_path) -> None:
    from click.testing import CliRunner

    import service.cli as cli

    called = []
    monkeypatch.setattr(cli, "one_arena", lambda: called.append(True) or True)
    result = CliRunner().invoke(cli.main, ["--db", f"sqlite:///{tmp_path / 'p.sqlite'}", "init"])
    assert result.exit_code == 0, result.output
    assert called == [True]
