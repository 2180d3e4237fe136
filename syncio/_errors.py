"""Exceptions syncio puts in a task's slot when the task could not run to an outcome."""

from __future__ import annotations

import pickle
import signal
from typing import Optional

__all__ = [
    "RemoteError",
    "TaskPicklingError",
    "TaskTimeoutError",
    "TaskUnpicklingError",
    "WorkerDiedError",
]


class TaskPicklingError(pickle.PicklingError):
    """A task, or its result, could not be pickled to cross to or from a worker process.

    The message names the task, what failed to pickle and how to fix it.
    """


class TaskUnpicklingError(pickle.UnpicklingError):
    """A task could not be unpickled in its worker, or its result in the parent."""


class WorkerDiedError(RuntimeError):
    """The worker process running a task exited before reporting the task's outcome.

    Attributes:
        pid: the worker's process id.
        exitcode: the worker's exit code; negative for a signal (``-11`` for SIGSEGV).
        signal_name: the signal's name (``"SIGSEGV"``), or ``None`` for a normal exit.
    """

    pid: Optional[int]
    exitcode: Optional[int]
    signal_name: Optional[str]

    def __init__(self, message: str, *, pid: Optional[int] = None, exitcode: Optional[int] = None) -> None:
        super().__init__(message)
        self.pid = pid
        self.exitcode = exitcode
        self.signal_name = _signal_name(exitcode)


def _signal_name(exitcode: int | None) -> str | None:
    if exitcode is None or exitcode >= 0:
        return None
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


def describe_exit(exitcode: int | None) -> str:
    """``'killed by SIGSEGV (exit code -11)'`` or ``'exited with code 3'``."""
    name = _signal_name(exitcode)
    if name is not None:
        return f"killed by {name} (exit code {exitcode})"
    return f"exited with code {exitcode}"


class TaskTimeoutError(TimeoutError):
    """The gather's ``timeout`` expired before the task finished (or before it started)."""


class RemoteError(Exception):
    """Stands in for an exception that could not be copied from a worker process.

    Raised in place of an exception whose class cannot be pickled in the worker or
    rebuilt in the parent (for example one whose ``__init__`` takes two required
    arguments). It keeps what could be kept:

    Attributes:
        type_name: the original exception's qualified class name (``"mod.MyError"``).
        message: ``str()`` of the original exception.
        reason: why the original could not be copied.
    """

    type_name: str
    message: str
    reason: str

    def __init__(self, type_name: str, message: str, reason: str) -> None:
        super().__init__(type_name, message, reason)
        self.type_name = type_name
        self.message = message
        self.reason = reason

    def __str__(self) -> str:
        head = f"{self.type_name}: {self.message}" if self.message else self.type_name
        return f"{head} ({self.reason})"


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as the ``__cause__`` of an exception copy."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'
