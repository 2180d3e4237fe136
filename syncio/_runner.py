"""Runner: warm workers kept across many gathers, like asyncio.Runner keeps a loop."""

from __future__ import annotations

import threading
import weakref
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, NoReturn, Optional, TypeVar, Union, overload

from typing_extensions import Never, Self

from ._options import (
    DEFAULT_THREAD_WORKERS,
    check_max_workers,
    check_tasks,
    deadline_after,
    default_process_workers,
    resolve_context,
)
from ._output import TaskOutput, build_output
from ._process import WorkerPool
from ._task import Task
from ._thread import ThreadPool

__all__ = ["Runner"]

T = TypeVar("T")
R1 = TypeVar("R1")
R2 = TypeVar("R2")
R3 = TypeVar("R3")
R4 = TypeVar("R4")
R5 = TypeVar("R5")
R6 = TypeVar("R6")


class _Pools:
    """What a Runner owns; separate from it so a finalizer can close it."""

    def __init__(self) -> None:
        self.processes: Optional[WorkerPool] = None
        self.threads: Optional[ThreadPool] = None
        self.closed = False

    def close(self) -> None:
        self.closed = True
        processes, threads = self.processes, self.threads
        self.processes = self.threads = None
        try:
            if processes is not None:
                processes.close()
        finally:
            if threads is not None:
                threads.close()


class Runner:
    """Worker processes and threads kept warm across many gathers.

    ``gather`` and ``thread_gather`` on a Runner work like the module functions but
    reuse the same live workers, so a hundred small gathers cost one worker start-up
    instead of a hundred. Workers start on first use, at most ``max_workers``
    processes and ``max_threads`` threads; one that dies or is stopped by a timeout
    is replaced on demand. Tasks always cross to a Runner's processes pickled, also
    under fork (the workers were forked before the tasks existed).

    Use it as a context manager, or call :meth:`close`: that stops every worker
    (idle ones at once, busy ones by signal). Using a closed Runner raises
    ``RuntimeError``. Process gathers on one Runner run one at a time (concurrent
    callers wait their turn); thread gathers may overlap.

    Under the ``fork`` start method, a process gather first lets the Runner's idle
    threads exit, so that forking a new worker never copies a thread of syncio's.
    """

    def __init__(
        self,
        *,
        mp_context: Union[str, BaseContext, None] = None,
        max_workers: Optional[int] = None,
        max_threads: Optional[int] = None,
    ) -> None:
        self._ctx = resolve_context(mp_context)
        self._max_workers = check_max_workers(max_workers, default_process_workers())
        self._max_threads = check_max_workers(max_threads, DEFAULT_THREAD_WORKERS)
        self._pools = _Pools()
        self._process_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, self._pools.close)

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker and thread. Safe to call more than once."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._pools.closed

    def _check_open(self) -> None:
        if self._pools.closed:
            raise RuntimeError("this Runner is closed")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Runner cannot be pickled or sent to a worker")

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<Runner {state} mp_context={self._ctx.get_start_method()!r} "
            f"max_workers={self._max_workers} max_threads={self._max_threads}>"
        )

    @overload
    def gather(self, *, timeout: float | None = ...) -> TaskOutput[Never]: ...
    @overload
    def gather(self, t1: Task[[], R1], /, *, timeout: float | None = ...) -> TaskOutput[R1]: ...
    @overload
    def gather(self, t1: Task[[], R1], t2: Task[[], R2], /, *, timeout: float | None = ...) -> TaskOutput[R1 | R2]: ...
    @overload
    def gather(
        self, t1: Task[[], R1], t2: Task[[], R2], t3: Task[[], R3], /, *, timeout: float | None = ...
    ) -> TaskOutput[R1 | R2 | R3]: ...
    @overload
    def gather(
        self, t1: Task[[], R1], t2: Task[[], R2], t3: Task[[], R3], t4: Task[[], R4], /, *, timeout: float | None = ...
    ) -> TaskOutput[R1 | R2 | R3 | R4]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        /,
        *,
        timeout: float | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        t6: Task[[], R6],
        /,
        *,
        timeout: float | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
    @overload
    def gather(self, *tasks: Task[[], T], timeout: float | None = ...) -> TaskOutput[T]: ...
    def gather(self, *tasks: Task[[], Any], timeout: Optional[float] = None) -> TaskOutput[Any]:
        """Like :func:`syncio.gather`, on this Runner's warm worker processes.

        Raises:
            RuntimeError: the Runner is closed.
        """
        checked = check_tasks("gather", tasks)
        deadline = deadline_after(timeout)
        with self._process_lock:
            self._check_open()
            if not checked:
                return build_output(checked, [])
            if self._ctx.get_start_method() == "fork":
                self._retire_idle_threads()
            pools = self._pools
            if pools.processes is None:
                pools.processes = WorkerPool(self._ctx, self._max_workers)
            return build_output(checked, pools.processes.run(checked, deadline))

    @overload
    def thread_gather(self, *, timeout: float | None = ...) -> TaskOutput[Never]: ...
    @overload
    def thread_gather(self, t1: Task[[], R1], /, *, timeout: float | None = ...) -> TaskOutput[R1]: ...
    @overload
    def thread_gather(
        self, t1: Task[[], R1], t2: Task[[], R2], /, *, timeout: float | None = ...
    ) -> TaskOutput[R1 | R2]: ...
    @overload
    def thread_gather(
        self, t1: Task[[], R1], t2: Task[[], R2], t3: Task[[], R3], /, *, timeout: float | None = ...
    ) -> TaskOutput[R1 | R2 | R3]: ...
    @overload
    def thread_gather(
        self, t1: Task[[], R1], t2: Task[[], R2], t3: Task[[], R3], t4: Task[[], R4], /, *, timeout: float | None = ...
    ) -> TaskOutput[R1 | R2 | R3 | R4]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        /,
        *,
        timeout: float | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        t6: Task[[], R6],
        /,
        *,
        timeout: float | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
    @overload
    def thread_gather(self, *tasks: Task[[], T], timeout: float | None = ...) -> TaskOutput[T]: ...
    def thread_gather(self, *tasks: Task[[], Any], timeout: Optional[float] = None) -> TaskOutput[Any]:
        """Like :func:`syncio.thread_gather`, on this Runner's warm threads.

        Raises:
            RuntimeError: the Runner is closed.
        """
        checked = check_tasks("thread_gather", tasks)
        deadline = deadline_after(timeout)
        with self._thread_lock:
            self._check_open()
            pools = self._pools
            if pools.threads is None:
                pools.threads = ThreadPool(self._max_threads)
            threads = pools.threads
            threads.calls += 1
        try:
            return build_output(checked, threads.run(checked, deadline))
        finally:
            with self._thread_lock:
                threads.calls -= 1

    def _retire_idle_threads(self) -> None:
        with self._thread_lock:
            threads = self._pools.threads
            if threads is not None and not threads.calls and not threads.abandoned:
                self._pools.threads = None
                threads.close()
