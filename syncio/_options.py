"""Checking the options and arguments every gather takes, with errors that say what is wrong."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from multiprocessing.context import BaseContext
from typing import Any, Optional, Sequence

from ._task import Task

__all__ = [
    "DEFAULT_THREAD_WORKERS",
    "check_forward_logs",
    "check_max_workers",
    "check_tasks",
    "deadline_after",
    "default_process_workers",
    "resolve_context",
    "time_left",
]

DEFAULT_THREAD_WORKERS = 256
"""Default cap on a thread gather's threads: enough for 200 concurrent waits."""


def default_process_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_tasks(name: str, tasks: Sequence[object]) -> list[Task[[], Any]]:
    if set(map(type, tasks)) <= {Task}:  # the common case, checked in C
        return list(tasks)  # type: ignore[arg-type]  # checked
    for position, task in enumerate(tasks, 1):
        if not isinstance(task, Task):
            hint = " (wrap it: create_task(f)(*args))" if callable(task) else ""
            raise TypeError(
                f"{name}() takes tasks made by create_task(); argument {position} is {type(task).__name__}{hint}"
            )
    return list(tasks)  # type: ignore[arg-type]  # checked above


def resolve_context(mp_context: object) -> BaseContext:
    if mp_context is None:
        # get_context() with no argument would fix the global start method for good;
        # read the default without fixing it, as the user may still set it later.
        method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
        return multiprocessing.get_context(method)
    if isinstance(mp_context, str):
        try:
            return multiprocessing.get_context(mp_context)
        except ValueError:
            methods = ", ".join(map(repr, multiprocessing.get_all_start_methods()))
            raise ValueError(f"unknown start method {mp_context!r}; this platform has {methods}") from None
    if isinstance(mp_context, BaseContext):
        return mp_context
    raise TypeError(
        f"mp_context must be a start method name or a multiprocessing context, not {type(mp_context).__name__}"
    )


def check_max_workers(max_workers: object, default: int) -> int:
    if max_workers is None:
        return default
    if isinstance(max_workers, bool) or not isinstance(max_workers, int):
        raise TypeError(f"max_workers must be an int or None, not {type(max_workers).__name__}")
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    return max_workers


def check_forward_logs(forward_logs: object) -> bool:
    if not isinstance(forward_logs, bool):
        raise TypeError(f"forward_logs must be True or False, not {type(forward_logs).__name__}")
    return forward_logs


def deadline_after(timeout: object) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout}")
    if timeout == math.inf:
        return None
    return time.monotonic() + timeout


# The longest single wait: select() and lock waits reject timeouts past about 24.8
# days, so a deadline further off is waited for in steps.
_MAX_WAIT = 86400.0  # seconds


def time_left(deadline: Optional[float]) -> Optional[float]:
    """How long to wait for now: None without a deadline, else the seconds left (0 once
    it passed), at most ``_MAX_WAIT``; the caller waits again while the deadline is ahead."""
    if deadline is None:
        return None
    return min(max(0.0, deadline - time.monotonic()), _MAX_WAIT)
