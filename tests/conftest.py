"""Shared fixtures: one parametrisation runs every process test under each start method."""

from __future__ import annotations

import functools
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import syncio

START_METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]

Gather = Callable[..., "syncio.TaskOutput[Any]"]


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    method: str = request.param
    return method


@pytest.fixture
def pgather(start_method: str) -> Gather:
    """syncio.gather bound to one start method."""
    return functools.partial(syncio.gather, mp_context=start_method)


@pytest.fixture(params=[*START_METHODS, "thread"])
def any_gather(request: pytest.FixtureRequest) -> Gather:
    """Each process start method, then thread_gather: the contract both gathers share."""
    if request.param == "thread":
        return syncio.thread_gather
    return functools.partial(syncio.gather, mp_context=request.param)


def child_pids() -> set[int]:
    """Live (or zombie) direct children of this process, read from /proc."""
    me = os.getpid()
    children: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            children.add(int(entry))
    return children


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


class Snapshot:
    """Child processes and open file descriptors of this process at one moment."""

    def __init__(self) -> None:
        self.children = child_pids()
        self.fds = open_fds()

    def assert_unchanged(self) -> None:
        after = Snapshot()
        assert after.children == self.children, "child processes left behind"
        assert after.fds == self.fds, "file descriptors leaked"


@pytest.fixture
def no_leaks(pgather: Gather) -> Iterator[Snapshot]:
    """Assert the test leaves no child process or fd behind.

    One warm-up gather first starts the forkserver (and its resource tracker), which
    outlive a gather by design.
    """
    pgather(syncio.create_task(os.getpid)())
    before = Snapshot()
    yield before
    before.assert_unchanged()


def spilled_files() -> list[str]:
    """Large results this process's workers left in shared memory (see syncio/_spill.py)."""
    prefix = f"syncio-{os.getpid()}-"
    return (
        sorted(name for name in os.listdir("/dev/shm") if name.startswith(prefix)) if os.path.isdir("/dev/shm") else []
    )


def script_env() -> dict[str, str]:
    """The environment for a script run in a fresh interpreter: it can import taskfuncs."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}


def run_script(script: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter; its output, whatever its exit code."""
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, env=script_env(), check=False
    )
