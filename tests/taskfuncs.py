"""Module-level task functions for the tests: importable by name in spawn and forkserver workers."""

from __future__ import annotations

import os
import signal
import threading
from typing import NoReturn


def hello(n: int) -> str:
    return f"hello {n + 1}"


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def identity(value: object) -> object:
    return value


def make_bytes(size: int, fill: int = 7) -> bytes:
    return bytes([fill]) * size


def byte_sum(data: bytes) -> int:
    return sum(data[:: max(1, len(data) // 1000)]) + len(data)


class CustomError(Exception):
    """An exception class importable in every process."""


class TwoArgError(Exception):
    """Pickles, but cannot be rebuilt: its __init__ needs two arguments."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def raise_value_error(message: str) -> NoReturn:
    raise ValueError(message)  # the raising line the traceback tests look for


def raise_custom(message: str, code: int) -> NoReturn:
    raise CustomError(message, code)


def raise_type(exc_type: type[BaseException]) -> NoReturn:
    raise exc_type("from the task")


def raise_two_arg() -> NoReturn:
    raise TwoArgError(7, "no rebuild")


def raise_chained() -> NoReturn:
    try:
        raise KeyError("inner cause")
    except KeyError as exc:
        raise RuntimeError("outer") from exc


def exit_with(code: int) -> NoReturn:
    os._exit(code)


def kill_self(signum: int) -> NoReturn:
    os.kill(os.getpid(), signum)
    raise AssertionError("still alive after a fatal signal")


def return_lock() -> object:
    return threading.Lock()


def return_generator() -> object:
    return (i for i in range(3))


def wait_for_fifo_then_signal(index: int, directory: str, last: int) -> int:
    """Finish only after task ``index + 1`` did: tasks finish in reverse order.

    Task ``i`` blocks reading ``fifo_{i+1}`` until that task has written to it, then
    appends its index to ``order`` and releases task ``i - 1`` through ``fifo_{i}``.
    """
    if index < last:
        with open(os.path.join(directory, f"fifo_{index + 1}")) as fifo:
            fifo.read()
    with open(os.path.join(directory, "order"), "a") as log:
        log.write(f"{index}\n")
    if index > 1:
        with open(os.path.join(directory, f"fifo_{index}"), "w") as fifo:
            fifo.write("done")
    return index


SIGKILL = signal.SIGKILL
