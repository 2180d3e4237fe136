"""Thread gather: a bounded, lazily grown set of daemon threads in this process."""

from __future__ import annotations

import threading
import time
from queue import Empty, SimpleQueue
from typing import Optional, Sequence

from ._options import time_left
from ._outcome import run_task, timed_out
from ._progress import Outcomes
from ._task import Task

__all__ = ["ThreadPool", "stream_in_threads"]


class _Call:
    """One gather's share of the pool: its outcome queue, what started, its cancel flag."""

    __slots__ = ("cancelled", "done", "started")

    def __init__(self) -> None:
        self.done: SimpleQueue[tuple[int, object]] = SimpleQueue()
        self.started: set[int] = set()
        self.cancelled = threading.Event()


class ThreadPool:
    """Daemon threads that take ``(call, slot, task)`` work items from one queue.

    A thread is started only while work waits that the running threads did not take,
    so many quick tasks use a thread or two and many blocking ones up to
    ``max_workers``. Growth happens when a call starts: work that turns blocking
    later runs on the threads there are. Outcomes go back over the call's own queue,
    tagged with the task's position.
    """

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.abandoned = False  # a timed-out call left threads busy
        self.calls = 0  # calls in progress, counted by the owner (a Runner)
        self._work: SimpleQueue[Optional[tuple[_Call, int, Task[[], object]]]] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._grow_lock = threading.Lock()
        self._idle = 0  # threads waiting for work, or started and about to
        self._idle_lock = threading.Lock()

    def _worker(self) -> None:
        while True:
            item = self._work.get()  # counted idle from birth until it has work
            with self._idle_lock:
                self._idle -= 1
            if item is None:
                return
            call, slot, task = item
            if not call.cancelled.is_set():
                call.started.add(slot)
                call.done.put((slot, run_task(task)[1]))
            del item, call, task
            with self._idle_lock:
                self._idle += 1

    def _grow(self) -> None:
        """Start threads while more work waits than idle threads can take.

        ``Thread.start()`` waits until the new thread runs, which hands it the GIL:
        quick tasks drain the queue during that turn and stop the growth after a
        thread or two, blocking ones leave it full and the pool grows to
        ``max_workers``. No lock is held across ``start()``, so threads keep taking
        work meanwhile.
        """
        with self._grow_lock:  # calls on one pool may overlap (a Runner's)
            while self._work.qsize() > self._idle and len(self._threads) < self.max_workers:
                number = len(self._threads) + 1
                thread = threading.Thread(target=self._worker, name=f"syncio-thread-{number}", daemon=True)
                with self._idle_lock:
                    self._idle += 1
                thread.start()
                self._threads.append(thread)

    def stream(self, tasks: Sequence[Task[[], object]], deadline: Optional[float]) -> Outcomes:
        """Run ``tasks``; yield lists of ``(position, outcome)`` pairs as tasks finish.

        Threads cannot be killed: when the deadline passes, the unfinished slots get a
        timeout error, this call's tasks still queued are skipped, and the threads
        still busy are abandoned to finish on their own. Closing the generator early
        also skips what has not started.
        """
        call = _Call()
        if deadline is None or time.monotonic() < deadline:  # one already past starts nothing
            for slot, task in enumerate(tasks):
                self._work.put((call, slot, task))
            self._grow()
        unfinished = set(range(len(tasks)))
        try:
            while unfinished:
                item = _get(call.done, time_left(deadline))
                if item is None:
                    if time_left(deadline):
                        continue  # a deadline further off than one wait
                    break
                batch = [item, *_drain(call.done)]  # and whatever else is ready
                unfinished.difference_update(slot for slot, _ in batch)
                yield batch
            if not unfinished:
                return
            call.cancelled.set()
            late = _drain(call.done)  # what finished while we were timing out
            unfinished.difference_update(slot for slot, _ in late)
            for slot in sorted(unfinished):
                late.append((slot, timed_out(slot, started=slot in call.started)))
            self.abandoned = True  # threads still busy finish on their own; nobody waits
            unfinished.clear()
            yield late
        finally:
            call.cancelled.set()  # also on KeyboardInterrupt or an early close: skip the rest
            if unfinished:
                self.abandoned = True  # busy threads finish on their own; nobody waits

    def close(self) -> None:
        """Let every thread exit after its current task; join them unless some were abandoned."""
        for _ in self._threads:
            self._work.put(None)
        if not self.abandoned:
            for thread in self._threads:
                thread.join()
        self._threads.clear()


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


def stream_in_threads(
    tasks: Sequence[Task[[], object]],
    max_workers: int,
    deadline: Optional[float],
) -> Outcomes:
    """Run ``tasks`` in a pool of threads made for them; yield outcomes as they finish.

    When every task finished, every thread has ended by the time the generator does;
    after a timeout or an early close the busy ones are abandoned (daemon threads
    never keep the interpreter from exiting).
    """
    pool = ThreadPool(max_workers)
    try:
        yield from pool.stream(tasks, deadline)
    finally:
        pool.close()
