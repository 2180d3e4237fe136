"""Runner: warm workers kept across many gathers, like asyncio.Runner keeps a loop."""

from __future__ import annotations

import threading
import weakref
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Generator, NoReturn, Optional, Union, overload

from ._compat import Never, Self
from ._interrupts import interrupts_held
from ._options import (
    DEFAULT_THREAD_WORKERS,
    check_forward_logs,
    check_max_workers,
    check_tasks,
    deadline_after,
    default_process_workers,
    resolve_context,
)
from ._outcome import TaskReturnException
from ._output import TaskOutput
from ._process import WorkerPool
from ._progress import Outcomes, Progress, ProgressCallback, check_progress, collect, keyed, watched
from ._task import Task
from ._thread import ThreadPool
from ._typevars import R1, R2, R3, R4, R5, R6, T

__all__ = ["Runner"]


_ = ProgressCallback, TaskReturnException  # named in the generated overloads


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
        _close(processes, threads)


def _close(processes: Optional[WorkerPool], threads: Optional[ThreadPool]) -> None:
    try:
        if processes is not None:
            processes.close()
    finally:
        if threads is not None:
            threads.close()


class Runner:
    """Worker processes and threads kept warm across many gathers.

    ``gather``, ``thread_gather``, ``as_completed`` and ``thread_as_completed`` on a
    Runner work like the module functions but
    reuse the same live workers, so a hundred small gathers cost one worker start-up
    instead of a hundred. Workers start on first use, at most ``max_workers``
    processes and ``max_threads`` threads; one that dies or is stopped by a timeout
    is replaced on demand. Tasks always cross to a Runner's processes pickled, also
    under fork (the workers were forked before the tasks existed).

    Use it as a context manager, or call :meth:`close`: that stops every worker (a
    gather already running on the Runner first ends as it would have). Using a closed
    Runner raises ``RuntimeError``. Process gathers on one Runner run one at a time
    (concurrent callers wait their turn); thread gathers may overlap.

    Under the ``fork`` start method, a process gather first lets the Runner's idle
    threads exit, so that forking a new worker never copies a thread of syncio's.
    """

    def __init__(
        self,
        *,
        mp_context: Union[str, BaseContext, None] = None,
        max_workers: Optional[int] = None,
        max_threads: Optional[int] = None,
        forward_logs: bool = True,
    ) -> None:
        self._ctx = resolve_context(mp_context)
        self._forward_logs = check_forward_logs(forward_logs)
        self._process_owner: Optional[int] = None
        self._max_workers = check_max_workers(max_workers, default_process_workers())
        self._max_threads = check_max_workers(max_threads, DEFAULT_THREAD_WORKERS)
        self._pools = _Pools()
        self._process_lock = threading.Lock()  # held by the process gather running, if any
        self._state_lock = threading.Lock()  # for the pools and who uses them; held briefly
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
        """Stop every worker and thread. Safe to call more than once.

        Gathers started afterwards raise ``RuntimeError``. A gather already running on
        the Runner (in another thread, or an ``as_completed`` loop not yet over) ends as
        it would have, its caller getting every outcome, and the workers it uses stop
        when it ends; ``close()`` does not wait for that.
        """
        pools = self._pools
        with self._state_lock:
            pools.closed = True
            processes = threads = None
            if self._process_owner is None:
                processes, pools.processes = pools.processes, None
            if pools.threads is not None and not pools.threads.calls:
                threads, pools.threads = pools.threads, None
        _close(processes, threads)

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

    # overloads: gather (generated by tests/typing/generate_overloads.py; edit there)
    @overload
    def gather(
        self,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[Never]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2 | R3]: ...
    @overload
    def gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
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
        progress: bool | ProgressCallback | None = ...,
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
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
    @overload
    def gather(
        self,
        *tasks: Task[[], T],
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[T]: ...
    # end overloads: gather
    def gather(
        self, *tasks: Task[[], Any], timeout: Optional[float] = None, progress: Progress = None
    ) -> TaskOutput[Any]:
        """Like :func:`syncio.gather`, on this Runner's warm worker processes.

        Raises:
            RuntimeError: the Runner is closed, or this thread is already inside one
                of its process gathers (an ``as_completed`` loop).
        """
        checked = check_tasks("gather", tasks)
        deadline = deadline_after(timeout)
        check_progress(progress)
        self._check_open()
        outcomes = self._in_processes(checked, deadline, eager=watched(progress))
        return collect(checked, outcomes, progress)

    # overloads: thread_gather (generated by tests/typing/generate_overloads.py; edit there)
    @overload
    def thread_gather(
        self,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[Never]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2 | R3]: ...
    @overload
    def thread_gather(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        /,
        *,
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
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
        progress: bool | ProgressCallback | None = ...,
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
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
    @overload
    def thread_gather(
        self,
        *tasks: Task[[], T],
        timeout: float | None = ...,
        progress: bool | ProgressCallback | None = ...,
    ) -> TaskOutput[T]: ...
    # end overloads: thread_gather
    def thread_gather(
        self, *tasks: Task[[], Any], timeout: Optional[float] = None, progress: Progress = None
    ) -> TaskOutput[Any]:
        """Like :func:`syncio.thread_gather`, on this Runner's warm threads.

        Raises:
            RuntimeError: the Runner is closed.
        """
        checked = check_tasks("thread_gather", tasks)
        deadline = deadline_after(timeout)
        check_progress(progress)
        self._check_open()
        return collect(checked, self._in_threads(checked, deadline), progress)

    # overloads: as_completed (generated by tests/typing/generate_overloads.py; edit there)
    @overload
    def as_completed(
        self,
        *,
        timeout: float | None = ...,
    ) -> Generator[Never, None, None]: ...
    @overload
    def as_completed(
        self,
        t1: Task[[], R1],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | R5 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
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
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | R5 | R6 | TaskReturnException], None, None]: ...
    @overload
    def as_completed(
        self,
        *tasks: Task[[], T],
        timeout: float | None = ...,
    ) -> Generator[tuple[str, T | TaskReturnException], None, None]: ...
    # end overloads: as_completed
    def as_completed(
        self, *tasks: Task[[], Any], timeout: Optional[float] = None
    ) -> Generator[tuple[str, Any], None, None]:
        """Like :func:`syncio.as_completed`, on this Runner's warm worker processes."""
        checked = check_tasks("as_completed", tasks)
        deadline = deadline_after(timeout)
        self._check_open()
        return keyed(self._in_processes(checked, deadline, eager=True))

    # overloads: thread_as_completed (generated by tests/typing/generate_overloads.py; edit there)
    @overload
    def thread_as_completed(
        self,
        *,
        timeout: float | None = ...,
    ) -> Generator[Never, None, None]: ...
    @overload
    def thread_as_completed(
        self,
        t1: Task[[], R1],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
        self,
        t1: Task[[], R1],
        t2: Task[[], R2],
        t3: Task[[], R3],
        t4: Task[[], R4],
        t5: Task[[], R5],
        /,
        *,
        timeout: float | None = ...,
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | R5 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
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
    ) -> Generator[tuple[str, R1 | R2 | R3 | R4 | R5 | R6 | TaskReturnException], None, None]: ...
    @overload
    def thread_as_completed(
        self,
        *tasks: Task[[], T],
        timeout: float | None = ...,
    ) -> Generator[tuple[str, T | TaskReturnException], None, None]: ...
    # end overloads: thread_as_completed
    def thread_as_completed(
        self, *tasks: Task[[], Any], timeout: Optional[float] = None
    ) -> Generator[tuple[str, Any], None, None]:
        """Like :func:`syncio.thread_as_completed`, on this Runner's warm threads."""
        checked = check_tasks("thread_as_completed", tasks)
        deadline = deadline_after(timeout)
        self._check_open()
        return keyed(self._in_threads(checked, deadline))

    def _in_processes(self, tasks: list[Task[[], Any]], deadline: Optional[float], eager: bool) -> Outcomes:
        me, pools = threading.get_ident(), self._pools
        if self._process_owner == me:
            raise RuntimeError("this thread is already running a gather on this Runner's processes")
        with self._process_lock:
            with self._state_lock:
                self._check_open()
                self._process_owner = me
            try:
                if not tasks:
                    return
                if self._ctx.get_start_method() == "fork":
                    self._retire_idle_threads()
                if pools.processes is None:
                    with interrupts_held():  # made and kept, to be closed with the Runner
                        pools.processes = WorkerPool(self._ctx, self._max_workers, forward_logs=self._forward_logs)
                yield from pools.processes.stream(tasks, deadline, eager)
            finally:
                with self._state_lock:
                    self._process_owner = None
                    processes = None
                    if pools.closed:  # closed while this gather ran: its workers stop now
                        processes, pools.processes = pools.processes, None
                _close(processes, None)

    def _in_threads(self, tasks: list[Task[[], Any]], deadline: Optional[float]) -> Outcomes:
        pools = self._pools
        threads: Optional[ThreadPool] = None
        try:
            with self._state_lock:
                self._check_open()
                if pools.threads is None:
                    pools.threads = ThreadPool(self._max_threads)
                pools.threads.calls += 1
                threads = pools.threads
            yield from threads.stream(tasks, deadline)
        finally:
            if threads is not None:
                with self._state_lock:
                    threads.calls -= 1
                    last = pools.closed and not threads.calls and pools.threads is threads
                    if last:  # closed while this gather ran, and none other uses the threads
                        pools.threads = None
                _close(None, threads if last else None)

    def _retire_idle_threads(self) -> None:
        with self._state_lock:
            threads = self._pools.threads
            if threads is not None and not threads.calls and not threads.abandoned:
                self._pools.threads = None
            else:
                threads = None
        _close(None, threads)
