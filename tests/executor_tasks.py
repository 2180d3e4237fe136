"""Module-level task functions for test_executor.py: importable by name in every executor's workers."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NoReturn

_POLL = 0.02


def mark_then_add(directory: str, name: str, a: int, b: int) -> int:
    """Leave a marker file named ``name`` in ``directory``, then return ``a + b``."""
    (Path(directory) / name).touch()
    return a + b


def exit_after_marks(directory: str, count: int, code: int, settle: float = 0.5) -> NoReturn:
    """Wait until ``count`` markers are in ``directory``, then end this worker process.

    The other tasks of the gather have then finished, so only this task's slot may
    fail. ``settle`` gives their results time to reach the caller first: a broken
    ``ProcessPoolExecutor`` fails every future whose result it has not yet read. Gives
    up waiting after 30 seconds, so a test can never hang here.
    """
    give_up = time.monotonic() + 30
    while len(os.listdir(directory)) < count and time.monotonic() < give_up:
        time.sleep(_POLL)
    time.sleep(settle)
    os._exit(code)


def wait_for_file(path: str, limit: float) -> float:
    """Hang until ``path`` exists (at most ``limit`` seconds); return the seconds waited.

    A task a timeout cannot stop: the test creates ``path`` afterwards, so the executor
    it ran on is quickly free again.
    """
    started = time.monotonic()
    while not os.path.exists(path) and time.monotonic() - started < limit:
        time.sleep(_POLL)
    return time.monotonic() - started
