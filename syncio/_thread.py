"""Thread gather: a bounded, lazily grown set of daemon threads in this process."""

from __future__ import annotations

import threading
import time
from collections import deque
from queue import Empty, SimpleQueue
from typing import Optional, Sequence

from ._errors import TaskTimeoutError
from ._outcome import TaskReturnException, run_task
from ._task import Task

__all__ = ["run_in_threads"]

_MISSING = object()


def run_in_threads(
    tasks: Sequence[Task[[], object]],
    max_workers: int,
    deadline: Optional[float],
) -> list[object]:
    """Run ``tasks`` in at most ``max_workers`` threads; return outcomes by position.

    A thread is only started while tasks are still waiting, so many quick tasks use a
    few threads and many blocking ones use up to ``max_workers``. Outcomes come back
    over one queue, tagged with the task's position.

    Threads cannot be killed: when the deadline passes, the unfinished slots get a
    timeout error, the threads stop taking new tasks, and the ones still busy are
    abandoned (they are daemon threads, so they never keep the interpreter from
    exiting). Otherwise every thread has ended by the time this returns.
    """
    todo: deque[int] = deque(range(len(tasks)))
    done: SimpleQueue[tuple[int, object]] = SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                slot = todo.popleft()  # deque.popleft is atomic: no lock needed
            except IndexError:
                return
            done.put((slot, run_task(tasks[slot])[1]))

    threads: list[threading.Thread] = []
    while todo and len(threads) < max_workers:
        thread = threading.Thread(target=work, name=f"syncio-thread-{len(threads) + 1}", daemon=True)
        thread.start()
        threads.append(thread)

    results: list[object] = [_MISSING] * len(tasks)
    pending = len(tasks)
    try:
        while pending:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            item = _get(done, timeout)
            if item is None:
                break
            results[item[0]] = item[1]
            pending -= 1
    finally:
        stop.set()  # also on KeyboardInterrupt: threads take no new task
    if not pending:
        for thread in threads:
            thread.join()  # each has finished its last task and is returning
        return results
    not_started = set(todo)
    for slot, value in _drain(done):  # keep what finished while we were timing out
        results[slot] = value
    for slot, value in enumerate(results):
        if value is _MISSING:
            what = "did not start" if slot in not_started else "did not finish"
            error = TaskTimeoutError(f"task_{slot + 1} {what} before the gather's timeout expired")
            results[slot] = TaskReturnException(error)
    return results


def _get(queue: SimpleQueue[tuple[int, object]], timeout: Optional[float]) -> Optional[tuple[int, object]]:
    try:
        return queue.get(timeout=timeout)
    except Empty:
        return None


def _drain(queue: SimpleQueue[tuple[int, object]]) -> list[tuple[int, object]]:
    items: list[tuple[int, object]] = []
    while True:
        try:
            items.append(queue.get_nowait())
        except Empty:
            return items
