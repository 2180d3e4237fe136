"""Thread gather: a bounded, lazily grown set of daemon threads in this process."""

from __future__ import annotations

import threading
import time
from collections import deque
from queue import Empty, SimpleQueue
from typing import Sequence

from ._errors import TaskTimeoutError
from ._outcome import TaskReturnException, run_task
from ._task import Task

__all__ = ["run_in_threads"]


def run_in_threads(
    tasks: Sequence[Task[[], object]],
    max_workers: int,
    deadline: float | None,
) -> list[object]:
    """Run ``tasks`` in at most ``max_workers`` threads; return outcomes by position.

    A thread is only started while tasks are still waiting, so many quick tasks use a
    few threads and many blocking ones use up to ``max_workers``. Threads cannot be
    killed: when the deadline passes, the unfinished slots get a timeout error, the
    threads stop taking new tasks, and the ones still busy are abandoned (they are
    daemon threads, so they never keep the interpreter from exiting).
    """
    todo: deque[int] = deque(range(len(tasks)))
    done: SimpleQueue[tuple[int, object]] = SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                index = todo.popleft()  # deque.popleft is atomic: no lock needed
            except IndexError:
                return
            _, value = run_task(tasks[index])
            done.put((index, value))

    started = 0
    while todo and started < max_workers:
        started += 1
        threading.Thread(target=work, name=f"syncio-thread-{started}", daemon=True).start()

    results: list[object] = [None] * len(tasks)
    finished = [False] * len(tasks)
    try:
        for _ in range(len(tasks)):
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            index, value = done.get(timeout=timeout)
            results[index] = value
            finished[index] = True
    except Empty:
        stop.set()
        not_started = set(todo)
        while True:  # keep what finished while we were timing out
            try:
                index, value = done.get_nowait()
            except Empty:
                break
            results[index] = value
            finished[index] = True
        for index, was_finished in enumerate(finished):
            if not was_finished:
                what = "did not start" if index in not_started else "did not finish"
                error = TaskTimeoutError(f"task_{index + 1} {what} before the gather's timeout expired")
                results[index] = TaskReturnException(error)
    finally:
        stop.set()
    return results
