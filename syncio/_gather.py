"""The public gathers: argument checking and the typed overloads, over the two engines."""

from __future__ import annotations

from multiprocessing.context import BaseContext
from typing import Any, Optional, TypeVar, Union, overload

from typing_extensions import Never

from ._options import (
    DEFAULT_THREAD_WORKERS,
    check_max_workers,
    check_tasks,
    deadline_after,
    default_process_workers,
    resolve_context,
)
from ._output import TaskOutput, build_output
from ._process import run_in_processes
from ._task import Task
from ._thread import run_in_threads

__all__ = ["gather", "thread_gather"]

T = TypeVar("T")
R1 = TypeVar("R1")
R2 = TypeVar("R2")
R3 = TypeVar("R3")
R4 = TypeVar("R4")
R5 = TypeVar("R5")
R6 = TypeVar("R6")


@overload
def gather(
    *, mp_context: str | BaseContext | None = ..., max_workers: int | None = ..., timeout: float | None = ...
) -> TaskOutput[Never]: ...
@overload
def gather(
    t1: Task[[], R1],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1]: ...
@overload
def gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2]: ...
@overload
def gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3]: ...
@overload
def gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4]: ...
@overload
def gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    t5: Task[[], R5],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4 | R5]: ...
@overload
def gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    t5: Task[[], R5],
    t6: Task[[], R6],
    /,
    *,
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
@overload
def gather(
    *tasks: Task[[], T],
    mp_context: str | BaseContext | None = ...,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[T]: ...
def gather(
    *tasks: Task[[], Any],
    mp_context: Union[str, BaseContext, None] = None,
    max_workers: Optional[int] = None,
    timeout: Optional[float] = None,
) -> TaskOutput[Any]:
    """Run each task in a worker process; return every outcome by position.

    Blocks until every task has finished (or the ``timeout`` deadline passed) and
    returns a :class:`TaskOutput` keyed ``task_1`` … ``task_N`` in the tasks' order,
    whatever order they finished in. A task that raised, could not be pickled, was
    running in a worker that died, or was cut off by the deadline gets a
    :class:`TaskReturnException` in its slot; every other task's result is kept.

    Args:
        mp_context: the start method (``"fork"``, ``"spawn"``, ``"forkserver"``) or a
            context from :func:`multiprocessing.get_context`. Default: the
            interpreter's default, read without fixing the global start method.
        max_workers: at most this many worker processes at once (default: the CPUs
            this process may use). With no more tasks than workers each task gets a
            worker of its own; otherwise workers take further tasks in batches.
        timeout: a deadline in seconds for the whole call. Unfinished tasks get a
            :class:`TaskTimeoutError`, their workers are terminated (then killed),
            and the call returns.

    Raises:
        TypeError: an argument is not a :class:`Task`, or an option has the wrong type.
        ValueError: an unknown start method, ``max_workers < 1`` or ``timeout < 0``.
    """
    checked = check_tasks("gather", tasks)
    ctx = resolve_context(mp_context)
    workers = check_max_workers(max_workers, default_process_workers())
    deadline = deadline_after(timeout)
    return build_output(checked, run_in_processes(checked, ctx, workers, deadline))


@overload
def thread_gather(*, max_workers: int | None = ..., timeout: float | None = ...) -> TaskOutput[Never]: ...
@overload
def thread_gather(
    t1: Task[[], R1], /, *, max_workers: int | None = ..., timeout: float | None = ...
) -> TaskOutput[R1]: ...
@overload
def thread_gather(
    t1: Task[[], R1], t2: Task[[], R2], /, *, max_workers: int | None = ..., timeout: float | None = ...
) -> TaskOutput[R1 | R2]: ...
@overload
def thread_gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    /,
    *,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3]: ...
@overload
def thread_gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    /,
    *,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4]: ...
@overload
def thread_gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    t5: Task[[], R5],
    /,
    *,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4 | R5]: ...
@overload
def thread_gather(
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    t5: Task[[], R5],
    t6: Task[[], R6],
    /,
    *,
    max_workers: int | None = ...,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4 | R5 | R6]: ...
@overload
def thread_gather(*tasks: Task[[], T], max_workers: int | None = ..., timeout: float | None = ...) -> TaskOutput[T]: ...
def thread_gather(
    *tasks: Task[[], Any],
    max_workers: Optional[int] = None,
    timeout: Optional[float] = None,
) -> TaskOutput[Any]:
    """Run each task in a thread of this process; return every outcome by position.

    Same contract as :func:`gather`. Threads suit tasks that wait (I/O, sleeps,
    C code that releases the GIL); nothing is pickled.

    Args:
        max_workers: at most this many threads (default: 256). Threads are started
            only while tasks are waiting, so quick tasks use few of them.
        timeout: a deadline in seconds for the whole call. Unfinished tasks get a
            :class:`TaskTimeoutError` and the call returns; a thread cannot be
            killed, so a busy one is abandoned (it is a daemon thread and does not
            keep the interpreter from exiting).

    Raises:
        TypeError: an argument is not a :class:`Task`, or an option has the wrong type.
        ValueError: ``max_workers < 1`` or ``timeout < 0``.
    """
    checked = check_tasks("thread_gather", tasks)
    workers = check_max_workers(max_workers, DEFAULT_THREAD_WORKERS)
    deadline = deadline_after(timeout)
    return build_output(checked, run_in_threads(checked, workers, deadline))
