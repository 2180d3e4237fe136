"""Executor gather: the same tasks and the same TaskOutput on any concurrent.futures Executor.

Data flow::

    caller (this module)                            the executor's worker
    submit(_run_and_encode, task, index, call) ──> run_task(task)
    decode_outcome(kind, payload, index) <──────── encode_outcome(index, ok, value)

The function sent to the executor is module level, so it pickles by reference and
the worker imports it from syncio (which must be installed there). Outcomes cross the
boundary exactly as in the process gather: the worker formats the traceback and
pickles the result or exception itself, so a result or exception that cannot cross
fails only its own slot, with the same messages and :class:`RemoteError` stand-ins.
A ``ThreadPoolExecutor`` runs tasks in this process: ``run_task`` is submitted
directly and nothing is pickled.

syncio imports no engine here: Dask, or any other engine, is reached only through the
``Executor`` object the caller passes in. The executor belongs to the caller and is
never shut down (Dask's ``ClientExecutor.shutdown(wait=False)`` even cancels running
work, unlike the standard library's).
"""

from __future__ import annotations

import concurrent.futures
import pickle
import threading
import uuid
from concurrent.futures import CancelledError, Executor, Future, ThreadPoolExecutor
from typing import Any, Collection, Optional, Sequence, overload

from ._compat import Never
from ._errors import TaskPicklingError, TaskTimeoutError, WorkerDiedError
from ._options import check_tasks, deadline_after, time_left
from ._outcome import TaskReturnException, key_of, run_task
from ._output import TaskOutput, build_output
from ._pickling import (
    _safe_str,  # pyright: ignore[reportPrivateUsage]  # shared message helpers
    _type_name,  # pyright: ignore[reportPrivateUsage]
    decode_outcome,
    encode_outcome,
)
from ._task import Task
from ._typevars import R1, R2, R3, R4, R5, R6, T

__all__ = ["executor_gather", "run_on_executor"]


_MISSING = object()
# Python 3.14's InterpreterPoolExecutor subclasses ThreadPoolExecutor but runs each task
# in another interpreter, so it needs the pickling path like a process pool.
_INTERPRETER_POOL: Optional[type] = getattr(concurrent.futures, "InterpreterPoolExecutor", None)


def _runs_in_this_interpreter(executor: Executor) -> bool:
    if _INTERPRETER_POOL is not None and isinstance(executor, _INTERPRETER_POOL):
        return False
    return isinstance(executor, ThreadPoolExecutor)


def _check_executor(executor: object) -> Executor:
    if not isinstance(executor, Executor):
        name = type(executor).__name__
        hint = " (pass the executor first: executor_gather(executor, *tasks))" if isinstance(executor, Task) else ""
        raise TypeError(f"executor_gather() takes a concurrent.futures.Executor first, not {name}{hint}")
    return executor


def _run_and_encode(task: Task[[], object], index: int, call: str) -> tuple[int, bytes]:
    """Worker side: run ``task`` and encode its outcome for the trip back.

    ``call`` identifies the :func:`executor_gather` call and is otherwise unused: it
    keeps an executor that merges identical calls (Dask's default, ``pure=True``) from
    merging two gathers' tasks, so that cancelling one gather's task never cancels
    another's, and a task that is not pure runs as often as it was gathered.
    """
    del call
    ok, value = run_task(task)
    return encode_outcome(index, ok, value)


def _pickling_error(exc: BaseException) -> Optional[BaseException]:
    """The innermost exception in ``exc``'s chain that says something could not be pickled.

    Executors wrap the pickler's error in their own (Dask's "Could not serialize
    object of type ..." has "cannot pickle '_thread.lock' object" as its cause); the
    innermost one names what failed. None when nothing in the chain is about pickling.
    """
    found: Optional[BaseException] = None
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, pickle.PicklingError):
            found = current
        elif isinstance(current, (TypeError, AttributeError)):
            text = _safe_str(current).lower()
            if "pickl" in text or "serializ" in text:
                found = current
        current = current.__cause__ or current.__context__
    return found


def _lost(key: str, task: Task[[], object], exc: BaseException, how: str) -> TaskReturnException:
    """The slot of a task the executor failed instead of running it to an outcome."""
    error: BaseException
    pickling = _pickling_error(exc)
    if pickling is not None:
        what = f"{_type_name(pickling)}: {_safe_str(pickling)}"
        error = TaskPicklingError(
            f"{key} ({task!r}) could not be sent to the executor's worker ({what}). Define the "
            "function and the classes of its arguments at module level and pass picklable "
            "arguments, or use a ThreadPoolExecutor."
        )
    else:
        error = WorkerDiedError(f"{key} ({task!r}) {how}: {_type_name(exc)}: {_safe_str(exc)}")
    error.__cause__ = exc
    return TaskReturnException(error)


def _timed_out(key: str, cancelled: bool) -> TaskReturnException:
    if cancelled:
        message = (
            f"{key} did not start before the gather's timeout expired (the executor had not "
            "reported it running): it was cancelled"
        )
    else:
        message = (
            f"{key} did not finish before the gather's timeout expired: it was still running and "
            "could not be cancelled, so the executor may still complete it"
        )
    return TaskReturnException(TaskTimeoutError(message))


class _Countdown:
    """Wakes the caller when every future it was added to is done, cancelled included.

    ``concurrent.futures.wait`` is not enough: a future cancelled by its executor
    (``shutdown(cancel_futures=True)`` of the standard pools) is never reported to
    ``wait``'s waiters, so ``wait`` would sleep until its timeout, or forever. Done
    callbacks run on every way a future ends, exactly once.
    """

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._left = count
        self._all_done = threading.Event()
        if count == 0:
            self._all_done.set()

    def __call__(self, future: Future[Any]) -> None:
        del future
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self._all_done.set()

    def wait(self, timeout: Optional[float]) -> bool:
        """Wait at most ``timeout`` seconds; True once every future is done."""
        return self._all_done.wait(timeout)


def _collect(future: Future[Any], index: int, task: Task[[], object], in_process: bool) -> object:
    """The outcome of a finished future: the task's result, or its failure."""
    key = key_of(index)
    if future.cancelled():
        # Not by executor_gather, which cancels only after its deadline: the executor
        # (shutdown(cancel_futures=True), Dask's client.cancel or restart) dropped it.
        return _lost(key, task, CancelledError(), "was cancelled by its executor before it finished")
    exc = future.exception()
    if exc is not None:
        return _lost(key, task, exc, "was lost: the executor reported an error instead of its outcome")
    if in_process:
        _, value = future.result()
        return value
    kind, payload = future.result()
    return decode_outcome(kind, payload, index)


def _submit(executor: Executor, task: Task[[], object], index: int, call: str, in_process: bool) -> Future[Any]:
    if in_process:
        return executor.submit(run_task, task)
    return executor.submit(_run_and_encode, task, index, call)


def _wait(futures: Collection[Future[Any]], deadline: Optional[float]) -> None:
    """Return when every future is done or the deadline passed."""
    countdown = _Countdown(len(futures))
    for future in futures:
        future.add_done_callback(countdown)  # runs at once if already done
    while not countdown.wait(time_left(deadline)):
        if not time_left(deadline):
            return  # the deadline passed


def _expire(futures: dict[Future[Any], int], results: list[object]) -> None:
    """The deadline passed: cancel every unfinished future and time out its slot."""
    for future, index in futures.items():
        if future.done():
            continue
        if future.cancel():
            results[index] = _timed_out(key_of(index), cancelled=True)
        elif not future.done():
            results[index] = _timed_out(key_of(index), cancelled=False)
        # else it finished at the last moment: its outcome is kept


def run_on_executor(
    executor: Executor,
    tasks: Sequence[Task[[], object]],
    deadline: Optional[float],
) -> list[object]:
    """Run ``tasks`` on ``executor``; return outcomes by position. Never shuts it down."""
    in_process = _runs_in_this_interpreter(executor)
    call = uuid.uuid4().hex
    results: list[object] = [_MISSING] * len(tasks)
    futures: dict[Future[Any], int] = {}
    try:
        for index, task in enumerate(tasks):
            try:
                futures[_submit(executor, task, index, call, in_process)] = index
            except Exception as exc:  # a broken or shut-down executor, an unpicklable task
                results[index] = _lost(key_of(index), task, exc, "could not be submitted: the executor raised")
        _wait(futures, deadline)
    except BaseException:  # Ctrl-C while submitting or waiting: withdraw what has not started
        for future in futures:
            future.cancel()
        raise
    _expire(futures, results)
    for future, index in futures.items():
        if results[index] is _MISSING:
            results[index] = _collect(future, index, tasks[index], in_process)
    return results


# overloads: executor_gather (generated by tests/typing/generate_overloads.py; edit there)
@overload
def executor_gather(
    executor: Executor,
    /,
    *,
    timeout: float | None = ...,
) -> TaskOutput[Never]: ...
@overload
def executor_gather(
    executor: Executor,
    t1: Task[[], R1],
    /,
    *,
    timeout: float | None = ...,
) -> TaskOutput[R1]: ...
@overload
def executor_gather(
    executor: Executor,
    t1: Task[[], R1],
    t2: Task[[], R2],
    /,
    *,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2]: ...
@overload
def executor_gather(
    executor: Executor,
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    /,
    *,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3]: ...
@overload
def executor_gather(
    executor: Executor,
    t1: Task[[], R1],
    t2: Task[[], R2],
    t3: Task[[], R3],
    t4: Task[[], R4],
    /,
    *,
    timeout: float | None = ...,
) -> TaskOutput[R1 | R2 | R3 | R4]: ...
@overload
def executor_gather(
    executor: Executor,
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
def executor_gather(
    executor: Executor,
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
def executor_gather(
    executor: Executor,
    /,
    *tasks: Task[[], T],
    timeout: float | None = ...,
) -> TaskOutput[T]: ...
# end overloads: executor_gather
def executor_gather(
    executor: Executor,
    /,
    *tasks: Task[[], Any],
    timeout: Optional[float] = None,
) -> TaskOutput[Any]:
    """Run each task on ``executor``; return every outcome by position.

    The same contract as :func:`gather` on any :class:`concurrent.futures.Executor`: a
    ``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, or a cluster's executor such as
    Dask's ``client.get_executor()``. Blocks until every task has finished (or the
    ``timeout`` deadline passed) and returns a :class:`TaskOutput` keyed ``task_1`` …
    ``task_N`` in the tasks' order. A task that raised gets a
    :class:`TaskReturnException` in its slot with the worker's traceback text; every
    other task's result is kept.

    Except on a ``ThreadPoolExecutor`` (which runs tasks in this process and pickles
    nothing), the task crosses to the executor's worker in the executor's own way
    (Dask uses cloudpickle) and syncio must be importable there; the outcome comes back
    pickled by syncio, as in :func:`gather`, so a result or exception that cannot cross
    fails only its own slot (:class:`TaskPicklingError`, :class:`TaskUnpicklingError`,
    :class:`RemoteError`).

    When the executor fails a task instead of running it to an outcome (``submit()``
    raised, or its future raised or was cancelled: ``BrokenProcessPool``, Dask's
    ``KilledWorker``, a shut-down executor), the slot holds a :class:`WorkerDiedError`
    whose message names the task's key and the executor's error, and whose
    ``__cause__`` is that error (``pid`` and ``exitcode`` are ``None``). When that error
    says the task could not be pickled, the slot holds a :class:`TaskPicklingError`
    instead. A ``ProcessPoolExecutor`` whose worker dies breaks for good: every task it
    had not finished gets a ``WorkerDiedError``. Dask retries a task whose worker died
    (``distributed.scheduler.allowed-failures`` times) before reporting ``KilledWorker``.

    The executor is never shut down: it belongs to the caller and can take the next
    gather.

    Args:
        executor: where to run the tasks. Its own limits apply (its number of workers).
        timeout: a deadline in seconds for the whole call, submitting included. When it
            passes, every unfinished task is cancelled and gets a
            :class:`TaskTimeoutError`, saying whether it was cancelled before it started
            or was still running; finished results are kept and the call returns. A
            task already running cannot be stopped through the ``Executor`` interface
            and may run on: a ``ProcessPoolExecutor`` finishes it (and counts a queued
            task as running), Dask cancels it but reports it as not started, since its
            executor never reports a task as running.

    Raises:
        TypeError: ``executor`` is not an ``Executor``, an argument is not a
            :class:`Task`, or ``timeout`` is not a number.
        ValueError: ``timeout < 0``.
    """
    checked_executor = _check_executor(executor)
    checked = check_tasks("executor_gather", tasks)
    deadline = deadline_after(timeout)
    return build_output(checked, run_on_executor(checked_executor, checked, deadline))
