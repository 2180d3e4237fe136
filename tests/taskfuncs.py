"""Module-level task functions for the tests: importable by name in spawn and forkserver workers."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from typing import Any, NoReturn


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


# -- fault injection ------------------------------------------------------------


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)  # a task that hangs; the gather's timeout must end it
    return seconds


def report_pid_then_hang(fifo: str) -> None:
    """Write this worker's pid to ``fifo`` (the test blocks reading it), then hang."""
    with open(fifo, "w") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(3600)


def report_pid_then_return_big(fifo: str, size: int) -> bytes:
    with open(fifo, "w") as out:
        out.write(f"{os.getpid()}\n")
    return bytes(size)


def ignore_sigterm_then_hang() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(3600)


def start_child_then_hang(pid_file: str) -> None:
    """Start a grandchild process, record its pid, then hang: a timeout must end both."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    with open(pid_file, "w") as out:
        out.write(str(child.pid))
    time.sleep(3600)


def start_child_and_return() -> int:
    """Start a grandchild process that outlives this task; return its pid."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]).pid


def allocate_under_limit(limit: int, size: int) -> int:
    """Raise MemoryError by allocating past an address-space limit, then lift the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        return len(bytearray(size))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def abort() -> NoReturn:
    os.abort()


def acquire(lock: Any) -> bool:
    return bool(lock.acquire())


class Trap:
    """Misbehaves when pickled or unpickled, at the step named by ``mode``.

    Modes: ``pickle-error`` / ``pickle-exit`` / ``pickle-crash`` misbehave in
    ``__reduce__`` (pickling); ``unpickle-error`` / ``unpickle-exit`` /
    ``unpickle-crash`` misbehave when rebuilt, but only in a process other than
    ``home`` (so a worker, never the test process); ``parent-error`` and
    ``parent-systemexit`` misbehave when rebuilt in ``home`` (the parent).
    """

    def __init__(self, mode: str, home: int) -> None:
        self.mode = mode
        self.home = home

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        if self.mode.startswith("pickle-"):
            _misbehave(self.mode.split("-", 1)[1])
        return (_rebuild_trap, (self.mode, self.home))


def _rebuild_trap(mode: str, home: int) -> Trap:
    in_home = os.getpid() == home
    if mode.startswith("unpickle-") and not in_home:
        _misbehave(mode.split("-", 1)[1])
    if mode == "parent-error" and in_home:
        raise ValueError("refusing to unpickle in the parent")
    if mode == "parent-systemexit" and in_home:
        raise SystemExit(3)
    return Trap(mode, home)


def _misbehave(how: str) -> None:
    if how == "error":
        raise ValueError(f"trap: {how}")
    if how == "exit":
        os._exit(7)
    if how == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)


def make_trap(mode: str, home: int) -> Trap:
    return Trap(mode, home)


def describe(value: object) -> str:
    return type(value).__name__


class UnpicklableAttributeError(Exception):
    """Carries a lock, so it cannot be pickled."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def raise_unpicklable() -> NoReturn:
    raise UnpicklableAttributeError("has a lock")


def nested_gather(method: str, values: list[int]) -> list[object]:
    from syncio import create_task, gather

    return list(gather(*[create_task(add)(v, v) for v in values], mp_context=method))


def nested_thread_gather(values: list[int]) -> list[object]:
    from syncio import create_task, thread_gather

    return list(thread_gather(*[create_task(add)(v, 1) for v in values]))


def nested_pool(method: str) -> list[int]:
    import multiprocessing

    with multiprocessing.get_context(method).Pool(2) as pool:
        return pool.map(abs, [-1, -2, -3])


def nested_process(method: str) -> int | None:
    import multiprocessing
    from multiprocessing.process import BaseProcess

    context: Any = multiprocessing.get_context(method)
    process: BaseProcess = context.Process(target=time.sleep, args=(0,))
    process.start()
    process.join()
    return process.exitcode


def log_and_return(value: int) -> int:
    import logging

    logging.getLogger("syncio.tests.worker").info("working on %d", value)
    logging.getLogger("syncio.tests.worker").debug("debug detail %d", value)
    return value


def wait_for_file(path: str) -> str:
    """Block until ``path`` exists as a FIFO written by the test (no polling)."""
    with open(path) as stream:
        return stream.read()


def pair(first: object, second: object) -> tuple[object, object]:
    return first, second


def leave_traces(directory: str) -> str:
    """Return while a non-daemon thread still works, with an atexit handler and unflushed output."""
    import atexit

    def finish() -> None:
        time.sleep(0.2)  # still working when the task has returned
        with open(os.path.join(directory, "thread"), "w") as out:
            out.write("finished")

    def at_exit() -> None:
        with open(os.path.join(directory, "atexit"), "w") as out:
            out.write("ran")

    atexit.register(at_exit)
    threading.Thread(target=finish).start()
    sys.stdout.write("unterminated line")
    return "left"


def note_pid_then_double(directory: str, value: int) -> int:
    """Leave this worker's pid in ``directory`` (for a test that kills workers), nap briefly, return 2 * value."""
    mark = os.path.join(directory, str(os.getpid()))
    if not os.path.exists(mark):
        with open(mark, "w"):
            pass
    time.sleep(0.0005)
    return 2 * value


def shared_pair(n: int) -> tuple[str, str]:
    """A tuple holding one string, made at run time, twice: pickled with a memo reference."""
    text = f"value {n}"
    return (text, text)


def pickle_buffer(data: bytes) -> pickle.PickleBuffer:
    """A result only pickle protocol 5 can pickle; it unpickles as a bytearray."""
    return pickle.PickleBuffer(bytearray(data))


class NoSize:
    """A result whose ``__sizeof__`` raises (sys.getsizeof then raises too)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __sizeof__(self) -> int:
        raise RuntimeError("no size")


def no_size(value: int) -> NoSize:
    return NoSize(value)


def leave_a_thread_running(seconds: float) -> str:
    """Return at once, leaving a non-daemon thread that keeps the worker from exiting."""
    threading.Thread(target=time.sleep, args=(seconds,), name="left-behind").start()
    return "task done"


def fork_and_return() -> int:
    """``os.fork()`` without exec, both processes returning: the child's pid, or 0 in the child."""
    return os.fork()


def log_with_unpicklable_extra(value: int) -> int:
    import logging

    logging.getLogger("syncio.tests.worker").info("holding %d", value, extra={"lock": threading.Lock(), "n": value})
    return value


def fork_child_ending(how: str) -> int:
    """Fork; the child returns from this task ending ``how``; the exit status the parent saw."""
    pid = os.fork()
    if pid == 0:
        if how == "exit 3":
            sys.exit(3)
        if how == "raise":
            raise ValueError("the forked child failed")
        return -1  # "return": a value nobody receives
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class RebuildsBadly(Exception):
    """Pickles, but cannot be unpickled: its __init__ needs two arguments."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def log_with_extra_that_fails_to_unpickle(value: int) -> int:
    import logging

    logging.getLogger("syncio.tests.worker").info("bad extra", extra={"error": RebuildsBadly("x", "y")})
    return value


def meet_then_pid(barrier: Any) -> int:
    """Wait until the barrier's other party arrives (so two workers run at once), then return this pid."""
    barrier.wait()
    return os.getpid()
