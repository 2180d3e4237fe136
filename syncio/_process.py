"""Process gather: a bounded set of worker processes driven by one loop in the caller.

Data flow::

    caller (this module)                              worker (_worker.py)
    todo ──dispatch──> FrameWriter ══task pipe══> BlockingReader ─> run_task
    results[i] <─take── result area (shared memory) <── ResultLog.put <─┤
          └──────────── FrameReader <══result pipe══ FLUSHED, large results
                 sentinel ──(process exit)──┘

Each worker has its own pair of pipes and its own result area, and runs its tasks in
the order sent: its outcome records (see ``_results.py``) come back in that order, so
the caller always knows which task a worker is on. The loop waits on every result
pipe, every task pipe with unsent data, and every worker's sentinel at once, so a
large result never deadlocks it and a dead worker wakes it. The loop is the only
thread: syncio starts no helper thread in the caller, so forking a worker is never
unsafe because of syncio.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.process
import os
import selectors
import signal
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Optional, Sequence, cast

from . import _spill as spill
from ._channel import (
    EAGER,
    FAILURE,
    FLUSHED,
    LOG,
    READY,
    RELEASED,
    RESULT,
    RUN_INHERITED,
    RUN_PICKLED,
    SPILLED,
    STOP,
    FrameReader,
    FrameWriter,
    enlarge_pipe,
    forget_parent_fd,
    remember_parent_fd,
)
from ._errors import TaskPicklingError, WorkerDiedError, describe_exit
from ._interrupts import interrupts_held
from ._logs import capture_levels, replay
from ._options import default_process_workers, time_left
from ._outcome import TaskReturnException, key_of, timed_out
from ._pickling import decode_outcome, decode_spilled, pickle_task
from ._positions import Positions
from ._progress import Outcomes
from ._results import FLUSH, LENGTH, Batch, take
from ._status import AREA, StatusBoard
from ._task import Task
from ._worker import IDLE, PHASES, RUN_COUNT, worker_main

__all__ = ["WorkerPool", "stream_in_processes"]

logger = logging.getLogger(__name__)  # DEBUG only: worker starts and deaths

_TERMINATE_GRACE = 0.5  # seconds a worker gets to exit after SIGTERM before SIGKILL
# A worker whose tasks take less than this on average gets its next batch while it
# still runs the last one; slower tasks gain nothing from it, and tasks queued behind
# a long one could not go to a worker that becomes free.
_QUICK_TASK = 0.001  # seconds
# ... and batches of at least this much of its work: near the end of many quick tasks,
# smaller ones would balance nothing and cost a round trip each.
_QUICK_BATCH = 0.0005  # seconds
# Under fork, a call with more tasks than workers starts a further worker only once the
# work left would keep the running ones busy for this many worker start-ups each...
_GROW_FACTOR = 2
# ... or once no worker has reported for twice a start-up, and at least this long (the
# tasks are slow, or stuck); a start-up time until one was measured:
_QUIET = 0.004  # seconds
_START_UP_GUESS = 0.005  # seconds
# Tasks quicker than this keep the caller, which reads each outcome and makes its place in
# the output, about as busy as a worker: they get a CPU fewer than there are.
_BUSY_CALLER = 0.000002  # seconds per task
# Workers that may die while starting, one after the other, before the pool gives up
# on the tasks left: one killed from outside is replaced, but a main module that
# fails to import would make every new worker die the same way.
_START_ATTEMPTS = 3


def _children() -> set[BaseProcess]:
    """multiprocessing's set of the children it joins at interpreter exit.

    syncio takes its workers off it: that join would hang on an idle worker of an
    unclosed Runner, and syncio joins its own workers (the lifeline ends any still
    running when this process exits).
    """
    children: set[BaseProcess] = getattr(multiprocessing.process, "_children", set())
    return children


def _preload_in_fork_server() -> None:
    """Have the fork server import the worker's module when it starts.

    Every worker forked from the server then has it already, instead of importing
    syncio's worker modules itself (several milliseconds per worker start). The
    module is added to the server's preload list, after whatever is on it (by
    default ``__main__``, or what the program set with ``set_forkserver_preload``);
    once the server runs, the list no longer matters, and a server started without
    it works as before. multiprocessing keeps the list privately: if that ever
    changes, nothing is preloaded.
    """
    from multiprocessing import forkserver

    modules = getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None)
    if isinstance(modules, list) and _WORKER_MODULE not in modules:
        names = cast("list[object]", modules)
        if all(isinstance(name, str) for name in names):
            forkserver.set_forkserver_preload([*cast("list[str]", names), _WORKER_MODULE])


_WORKER_MODULE: str = worker_main.__module__  # "syncio._worker", or where syncio is vendored


class _Worker:
    __slots__ = (
        "batch",
        "conns",
        "consumed",
        "doomed",
        "eager",
        "exited",
        "outstanding",
        "process",
        "reader",
        "ready",
        "record_size",
        "released",
        "seat",
        "sentinel",
        "started_at",
        "stopping",
        "task_seconds",
        "writer",
    )

    def __init__(self, seat: int) -> None:
        self.outstanding = Positions()
        self.batch = 0  # how many tasks the last batch sent had
        self.record_size = 0.0  # bytes per outcome record in its last report (0: none yet)
        self.task_seconds = 0.0  # seconds per task in its last report (timed by the worker)
        self.seat = seat
        self.started_at = 0.0  # time.monotonic() when it was started
        self.consumed = 0  # how far the parent has read the worker's result area
        self.released = 0  # how far the worker has been told it has been read
        self.eager = False  # told to report each outcome at once
        self.ready = False
        self.doomed = False  # being stopped by signal: timeout, interrupt or error
        self.exited = False  # stopped and joined
        self.stopping = False  # sent STOP behind its last tasks: it exits once they are done
        self.conns: list[Connection] = []  # every pipe end made for it, closed as it is done with

    def start(
        self,
        ctx: BaseContext,
        *,
        number: int,
        inherited: Optional[Sequence[Task[[], object]]],
        board: Connection,
        seats: int,
        log_levels: Optional[dict[str, int]],
    ) -> None:
        """Start the worker process; if this raises, call :meth:`abandon`.

        Ctrl-C is held back until the end (see ``_interrupts.py``), where it raises.
        """
        with interrupts_held():
            task_r, task_w = ctx.Pipe(duplex=False)
            self.conns += (task_r, task_w)
            result_r, result_w = ctx.Pipe(duplex=False)
            self.conns += (result_r, result_w)
            lifeline_r, lifeline_w = ctx.Pipe(duplex=False)  # see _worker._die_with_parent
            self.conns += (lifeline_r, lifeline_w)
            for conn in (task_w, result_r, lifeline_w):
                remember_parent_fd(conn.fileno())
            enlarge_pipe(task_w.fileno())
            enlarge_pipe(result_r.fileno())
            process_class = cast("type[BaseProcess]", getattr(ctx, "Process"))  # noqa: B009 - untyped on BaseContext
            self.process = process_class(
                target=worker_main,
                kwargs={
                    "task_conn": task_r,
                    "result_conn": result_w,
                    "lifeline": lifeline_r,
                    "inherited": inherited,
                    "board": board,
                    "seats": seats,
                    "seat": self.seat,
                    "log_levels": log_levels,
                    "owner": os.getpid(),
                },
                name=f"syncio-worker-{number}",
                daemon=False,  # tasks may start processes of their own
            )
            self.process.start()
            _children().discard(self.process)
            for conn in (task_r, result_w, lifeline_r):
                conn.close()  # the worker's ends: it has its own copies now
            os.set_blocking(task_w.fileno(), False)
            os.set_blocking(result_r.fileno(), False)
            self.writer = FrameWriter(task_w.fileno())
            self.reader = FrameReader(result_r.fileno())
            self.sentinel: int = self.process.sentinel

    def abandon(self) -> None:
        """Undo a start that failed or was interrupted: leave no process, zombie or descriptor."""
        process: Optional[BaseProcess] = getattr(self, "process", None)
        if process is not None and process.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGKILL)  # it has not been given a task
            process.join()
            _children().discard(process)
            process.close()
        self.close_pipes()

    def signal_group(self, signum: int) -> None:
        """Signal the worker and every process its tasks started in its group."""
        pid = self.process.pid
        if pid is None:
            return
        try:
            os.killpg(pid, signum)
        except (ProcessLookupError, PermissionError):
            # No such group (the worker had not made its own yet, or it is all gone), or
            # a grandchild changed its credentials: signal the worker itself, unless it
            # has exited, when its pid may already be another process's.
            if not self.gone:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)

    @property
    def gone(self) -> bool:
        """True once the worker process has exited (and been reaped).

        Also when multiprocessing lost its exit status (Ctrl-C just as it reaped it:
        ``exitcode`` then stays None for good): the sentinel still tells.
        """
        if self.process.exitcode is not None:
            return True
        if not _readable(self.sentinel):
            return False
        self.process.join()  # exited or exiting: reaped at once (unless its status was lost)
        return True

    def close_pipes(self) -> None:
        for conn in self.conns:
            if not conn.closed:
                forget_parent_fd(conn.fileno())
                conn.close()


class WorkerPool:
    """Live worker processes and the loop that drives them, for one gather at a time.

    A plain ``gather`` makes a pool for its own tasks and closes it on return; a
    :class:`~syncio.Runner` keeps one open so its workers serve many calls. Workers are
    started lazily, at most ``max_workers`` at once; one that dies is replaced when
    there is work for it.
    """

    def __init__(
        self,
        ctx: BaseContext,
        max_workers: int,
        inherited: Optional[Sequence[Task[[], object]]] = None,
        forward_logs: bool = True,
        one_shot: bool = False,
    ) -> None:
        self.ctx = ctx
        self.forward_logs = forward_logs
        # For one call only: a worker given the last tasks gets STOP right behind them
        # and exits as soon as it is done, while the caller is still reading results.
        self.one_shot = one_shot
        self.method: str = ctx.get_start_method()
        self.max_workers = max_workers
        # Under fork, a pool made for one call's tasks hands them to its workers at
        # fork time: a task is then sent as its index and never pickled.
        self.inherited = inherited if self.method == "fork" else None
        if self.method == "forkserver":
            _preload_in_fork_server()
        self.workers: list[_Worker] = []
        self.free_seats = list(range(max_workers - 1, -1, -1))
        self.started = 0
        self.start_up: Optional[float] = None  # seconds from a worker's start to its READY, once measured
        self.last_start = 0.0  # time.monotonic() of the newest worker's start
        self.last_report = 0.0  # ... and of the last report of finished tasks
        # Seconds and tasks reported this call, each worker's first report left out:
        self.timed_seconds = 0.0
        self.timed_tasks = 0
        self.failed_starts = 0  # workers that died while starting since one last did not
        with interrupts_held():  # the caller gets the pool, to close, or nothing to close
            self.status = StatusBoard(max_workers)
            try:
                remember_parent_fd(self.status.transport.fileno())
                self.selector = selectors.DefaultSelector()
                remember_parent_fd(self.selector.fileno())
            except BaseException:  # no descriptors left
                forget_parent_fd(self.status.transport.fileno())
                self.status.close()
                raise
        spill.remove_orphans()
        # The call being run:
        self.tasks: Sequence[Task[[], object]] = ()
        self.finished = Batch()  # outcomes not yet handed out
        self.remaining = 0
        self.todo = Positions()
        self.retried: set[int] = set()
        self.deadline: Optional[float] = None
        self.eager = False

    # -- life cycle ---------------------------------------------------------------

    def stream(self, tasks: Sequence[Task[[], object]], deadline: Optional[float], eager: bool = False) -> Outcomes:
        """Run ``tasks``; yield batches of ``(position, outcome)`` pairs as tasks finish.

        With ``eager``, workers report each outcome as soon as they have it; otherwise
        they may hold a few milliseconds' worth back to report them together (see
        ``_results.py``), which only the order and timing of the batches can show.

        Workers still busy when the call ends (deadline, interrupt, error, or the
        caller closing this generator early) are stopped by signal; idle ones stay
        for the next call.
        """
        self.tasks, self.deadline, self.eager = tasks, deadline, eager
        self.finished = Batch()
        self.remaining = len(tasks)
        self.todo = Positions(range(len(tasks)))  # one run: nothing for a forked worker to copy
        self.retried = set()
        self.timed_seconds, self.timed_tasks = 0.0, 0
        self.last_report = time.monotonic()  # quiet is counted from the call's start
        try:
            for worker in list(self.workers):
                self._dispatch(worker)
            self._grow()
            while self.remaining or self.finished:
                if self.finished:
                    batch, self.finished = self.finished, Batch()
                    yield batch
                if not self.remaining:
                    break
                if self._past(deadline):
                    self._expire()
                else:
                    self._wait(self._next_check(time_left(deadline)))
                    self._grow()
        except BaseException:
            for worker in self.workers:
                worker.doomed = worker.doomed or bool(worker.outstanding or worker.writer.pending)
            raise
        finally:
            self._stop([worker for worker in self.workers if worker.doomed])
            self.tasks = ()
            self.finished = Batch()

    def _grow(self) -> None:
        """Start workers, up to the call's plan, while another one pays off (see ``_another_pays``).

        Once nothing was reported for a while (slow tasks), all of them at once. Each new
        worker gets its first batch at once, to start on while the next one starts. A
        deadline already past starts nothing: every task "did not start".
        """
        quiet = time.monotonic() >= self._quiet_until()
        while (
            len(self.workers) < self._planned()
            and self.todo
            and not self._past(self.deadline)
            and (quiet or self._another_pays())
        ):
            self._dispatch(self._start_worker())

    def _grows_lazily(self) -> bool:
        """Whether the call's workers start as they pay off (see ``_another_pays``), not all at once.

        Only under fork, where each start costs this process a fork (and copies of the
        memory it writes after it), and only with more tasks than ``max_workers`` (else
        each task gets a worker of its own). Spawn and forkserver workers start in other
        processes and take long to. Nor while the caller's code runs during the call
        (as_completed, a progress callback) on inherited tasks: a worker forked then
        would see their arguments as that code left them.
        """
        return (
            self.method == "fork"
            and len(self.tasks) > self.max_workers
            and not (self.eager and self.inherited is self.tasks)
        )

    def _another_pays(self) -> bool:
        """Whether to start one more worker for the call now, by what its workers reported.

        Until the new worker runs tasks it competes for the CPUs with the running ones
        and with this process, which handles every outcome: another worker is started
        once the work left, at the seconds per task the workers report, would keep the
        running ones busy for ``_GROW_FACTOR`` start-ups each; but tasks quicker than
        ``_BUSY_CALLER`` keep this process as busy as a worker, so they get a CPU fewer
        than there are. (When nothing is reported for a while, ``_grow`` starts them
        all.) So thousands of trivial tasks run on one worker of a 2-CPU machine, and
        slow ones on every worker within a few milliseconds.
        """
        if not self.workers or not self._grows_lazily():
            return True
        if not self.timed_tasks:
            return False
        per_task = self.timed_seconds / self.timed_tasks
        if per_task < _BUSY_CALLER and len(self.workers) >= default_process_workers() - 1:
            return False
        pending = len(self.todo) + sum(len(worker.outstanding) for worker in self.workers)
        return per_task * pending > _GROW_FACTOR * len(self.workers) * self._start_up()

    def _start_up(self) -> float:
        """Seconds a worker took from its start to being ready (a guess until one was measured)."""
        return _START_UP_GUESS if self.start_up is None else self.start_up

    def _quiet_until(self) -> float:
        """When, with no report from a worker until then, another one is started regardless."""
        return max(self.last_start, self.last_report) + max(2 * self._start_up(), _QUIET)

    def _next_check(self, timeout: Optional[float]) -> Optional[float]:
        """``timeout``, or less if the pool may grow sooner (once ``_quiet_until``)."""
        if len(self.workers) >= self._planned() or not self.todo or not self._grows_lazily():
            return timeout
        wait = max(0.0, self._quiet_until() - time.monotonic())
        return wait if timeout is None else min(wait, timeout)

    def _planned(self) -> int:
        """Workers the call being run is for: one per task, at most ``max_workers``."""
        return min(self.max_workers, len(self.tasks))

    @staticmethod
    def _past(deadline: Optional[float]) -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def _wait(self, timeout: Optional[float]) -> None:
        """Handle what happens next: results, room in a task pipe, a worker's exit."""
        for key, _ in self.selector.select(timeout):
            worker, what = key.data
            if worker not in self.workers:
                continue  # already reaped in this round
            if what == "result":
                self._read(worker)
            elif what == "write":
                self._flush(worker)
            else:
                self._reap(worker)

    def close(self, deadline: Optional[float] = None) -> None:
        """Stop every worker (STOP if idle, signals if not, or once ``deadline`` passed) and release the pool."""
        try:
            self._stop(list(self.workers), deadline)
        finally:
            with interrupts_held():
                forget_parent_fd(self.selector.fileno())
                self.selector.close()
                forget_parent_fd(self.status.transport.fileno())
                self.status.close()

    def _start_worker(self) -> _Worker:
        self.started += 1
        worker = _Worker(self.free_seats[-1])
        worker.started_at = self.last_start = time.monotonic()
        try:
            self.free_seats.pop()  # in here: put back if this fails
            memory = self.status[worker.seat]
            memory.status = memory.committed = 0
            levels = capture_levels() if self.forward_logs else None
            worker.start(
                self.ctx,
                number=self.started,
                inherited=self.inherited,
                board=self.status.transport,
                seats=self.status.seats,
                log_levels=levels,
            )
            self.workers.append(worker)
            self.selector.register(worker.reader.fd, selectors.EVENT_READ, (worker, "result"))
            self.selector.register(worker.sentinel, selectors.EVENT_READ, (worker, "exit"))
        except BaseException:
            # No descriptors or processes left, or Ctrl-C at this moment: leave no worker,
            # zombie or descriptor behind, and the seat free.
            if worker in self.workers:
                self._unwatch(worker)
            worker.abandon()
            if worker.seat not in self.free_seats:
                self.free_seats.append(worker.seat)
            raise
        logger.debug("started worker process %s (%s)", worker.process.pid, self.method)
        return worker

    def _stop(self, workers: list[_Worker], deadline: Optional[float] = None) -> None:
        """Stop ``workers``: with STOP if idle, by signal to the group if not; reap them.

        An idle worker is waited for until ``deadline`` (if any), then stopped by signal:
        a non-daemon thread a task left running keeps it from exiting until that ends.
        """
        doomed: list[_Worker] = []
        try:
            for worker in workers:
                if worker.exited:
                    continue
                if worker.doomed or worker.outstanding:
                    doomed.append(worker)
                    continue
                if not worker.stopping:
                    worker.writer.send(0, STOP)
                # Written in full, waiting if need be: a STOP sent behind a worker's last
                # tasks may still sit behind them here, and the worker reads on until it.
                try:
                    os.set_blocking(worker.writer.fd, True)
                    while not worker.writer.flush():
                        pass  # each blocking call writes some more
                except OSError:
                    doomed.append(worker)
            self._terminate(doomed)
            for worker in workers:
                while not worker.gone and not self._past(deadline):
                    worker.process.join(time_left(deadline))
        finally:
            # Past the deadline (a thread a task left running), or Ctrl-C while waiting:
            # by signal, so that none is left unreaped.
            self._terminate([worker for worker in workers if not worker.gone])
            for worker in workers:
                self._forget(worker)

    @staticmethod
    def _terminate(workers: list[_Worker]) -> None:
        """SIGTERM each worker's group, SIGKILL what is left after the grace period; join them."""
        for worker in workers:
            worker.doomed = True
            worker.signal_group(signal.SIGTERM)
        give_up = time.monotonic() + _TERMINATE_GRACE
        for worker in workers:
            worker.process.join(max(0.0, give_up - time.monotonic()))
            worker.signal_group(signal.SIGKILL)  # it, or whatever of its group ignored SIGTERM
            worker.process.join()
            worker.exited = True

    def _forget(self, worker: _Worker) -> None:
        """Release a worker that has exited and been joined."""
        self._unwatch(worker)
        self.free_seats.append(worker.seat)
        worker.close_pipes()
        # ValueError: its exit status was lost (Ctrl-C just as it was reaped), so
        # multiprocessing takes it for running; the Popen's finalizer frees the rest.
        with contextlib.suppress(ValueError):
            worker.process.close()

    def _unwatch(self, worker: _Worker) -> None:
        """Take a worker off the pool's list and out of its selector."""
        for fd in (worker.reader.fd, worker.writer.fd, worker.sentinel):
            if fd in self.selector.get_map():
                self.selector.unregister(fd)
        self.workers.remove(worker)

    # -- events -------------------------------------------------------------------

    def _dispatch(self, worker: _Worker, early: bool = False) -> None:
        """Give a worker its next batch of tasks once it has reported all it had.

        With ``early`` (its tasks are quick), once it has at most one batch's worth
        left: it then does not sit idle for the time a report and a new batch take to
        cross the pipes, a wait as long as many quick tasks; and the batch holds at
        least ``_QUICK_BATCH`` of its work.
        """
        if len(worker.outstanding) > (worker.batch if early else 0) or not self.todo or worker.stopping:
            return
        if not worker.outstanding:
            # Idle: clear the last call's "task in hand", which a new call's task of the
            # same position must not be taken for if the worker dies before starting it.
            self.status[worker.seat].status = 0
        if worker.consumed > worker.released:
            worker.writer.send(0, RELEASED, LENGTH.pack(worker.consumed))
            worker.released = worker.consumed
        if worker.eager != self.eager:
            worker.writer.send(0, EAGER, b"\x01" if self.eager else b"\x00")
            worker.eager = self.eager
        # Guided self-scheduling: big batches while much is left (fewer wake-ups for
        # many small tasks), single tasks near the end (balance for long ones).
        size = max(1, len(self.todo) // (2 * max(self._planned(), len(self.workers))))
        if early and worker.task_seconds:
            size = max(size, int(_QUICK_BATCH / worker.task_seconds))
        if worker.record_size:
            # No more than a quarter of its result area's worth: with a batch running, one
            # queued and reports not yet read, outcomes still find room there rather
            # than taking the slower way through the pipe.
            size = min(size, max(1, int(AREA / 4 / worker.record_size)))
        worker.batch = min(size, len(self.todo))
        if self.inherited is self.tasks:
            self._dispatch_inherited(worker, size)
        else:
            self._dispatch_pickled(worker, size)
        if self.one_shot and not self.todo:
            self._stop_early()  # first: STOP goes in the same write as this batch
        self._flush(worker)

    def _stop_early(self) -> None:
        """Every task is handed out: send each worker STOP behind the tasks it has.

        A worker then exits as soon as it is done, while the caller still reads results.
        Should one die with tasks left, a new worker takes them over (it frees a seat).
        """
        for worker in self.workers:
            if not worker.stopping and not worker.doomed:
                worker.writer.send(0, STOP)
                worker.stopping = True
                self._flush(worker)

    def _dispatch_pickled(self, worker: _Worker, size: int) -> None:
        """Send ``size`` tasks, each pickled alone (a task that fails to pickle fails alone)."""
        while size and self.todo:
            index = self.todo.popleft()
            try:
                payload = pickle_task(self.tasks[index], index, self.method)
            except TaskPicklingError as exc:
                self._finish(index, TaskReturnException(exc))
                continue
            worker.writer.send(index, RUN_PICKLED, payload)
            worker.outstanding.append(index)
            size -= 1

    def _dispatch_inherited(self, worker: _Worker, size: int) -> None:
        """Send ``size`` tasks the worker inherited: one frame per run of consecutive positions."""
        while size and self.todo:
            run = self.todo.take_run(size)
            worker.writer.send(run.start, RUN_INHERITED, RUN_COUNT.pack(len(run)))
            worker.outstanding.extend(run)
            size -= len(run)

    def _flush(self, worker: _Worker) -> None:
        try:
            done = worker.writer.flush()
        except OSError:
            done = True  # the worker is gone; its sentinel reports it
            worker.writer.discard()
        fd = worker.writer.fd
        registered = fd in self.selector.get_map()
        if not done and not registered:
            self.selector.register(fd, selectors.EVENT_WRITE, (worker, "write"))
        elif done and registered:
            self.selector.unregister(fd)

    def _read(self, worker: _Worker, dispatch: bool = True) -> bool:
        """Handle what the worker has sent; False once its pipe is at end of file."""
        frames, eof = worker.reader.read()
        for slot, kind, payload in frames:
            if kind == FLUSHED:
                end, count, joinable, seconds = FLUSH.unpack(payload)
                if count:
                    worker.record_size = (end - worker.consumed) / count
                    # Timed by the worker: a parent slow to read its reports cannot make
                    # slow tasks look quick.
                    if worker.task_seconds:  # not its first report, which its warm-up slows
                        self.timed_seconds += seconds
                        self.timed_tasks += count
                    worker.task_seconds = seconds / count
                    self.last_report = time.monotonic()
                self._take(worker, end, count, joinable)
                if dispatch:
                    # After the take: the batch carries the space just read as released.
                    self._dispatch(worker, early=worker.task_seconds < _QUICK_TASK)
            elif kind in (RESULT, FAILURE):
                self.last_report = time.monotonic()
                worker.outstanding.popleft()
                self._finish(slot, decode_outcome(kind, payload, slot))
            elif kind == SPILLED:
                self.last_report = time.monotonic()
                worker.outstanding.popleft()
                self._finish(slot, decode_spilled(payload, slot))
            elif kind == LOG:
                replay(payload)
            elif kind == READY:
                worker.ready = True
                self.failed_starts = 0
                if self.start_up is None:
                    self.start_up = time.monotonic() - worker.started_at
        if eof:
            self.selector.unregister(worker.reader.fd)
        elif dispatch and not worker.outstanding:
            self._dispatch(worker)
        return not eof

    def _take(self, worker: _Worker, end: int, count: int = 0, joinable: bool = False) -> None:
        """Handle the outcome records in the worker's result area up to ``end`` (see ``take``)."""
        taken = take(self.status[worker.seat].area, worker.consumed, end, self.finished, count=count, joinable=joinable)
        # First: an interrupt in the lines below must not leave these records to be
        # read again by the next call (the worker is kept if nothing is outstanding).
        worker.consumed = end
        # Records come in the order the tasks were sent, so they are the first ones.
        worker.outstanding.drop(taken)
        self.remaining -= taken

    def _in_hand(self, worker: _Worker) -> tuple[int, int]:
        """What the worker's status word says: the task it has in hand (-1: none) and the step."""
        word = self.status[worker.seat].status
        return (word >> 3) - 1, word & 7

    def _drain(self, worker: _Worker) -> None:
        """Take all an exited worker left: the frames in its pipe, then its committed records."""
        while worker.reader.fd in self.selector.get_map() and self._read(worker, dispatch=False):
            if not _readable(worker.reader.fd):
                break
        # Exited and joined, so every record it stored is visible here.
        committed = self.status[worker.seat].committed
        if committed > worker.consumed:
            self._take(worker, committed)

    def _reap(self, worker: _Worker) -> None:
        """The worker exited: keep what it sent, fail the task it was on, requeue the rest."""
        if worker.stopping:
            worker.process.join()  # it was told to stop, and most likely just did
            if worker.process.exitcode != 0:
                worker.signal_group(signal.SIGKILL)  # its pid names its group while any of it lives
        else:
            worker.signal_group(signal.SIGKILL)  # what its task started must not outlive it
            worker.process.join()
        worker.exited = True
        # Everything it wrote or recorded before exiting is kept. A frame or record it
        # was cut off in the middle of is dropped with the task it belonged to.
        self._drain(worker)
        if worker.process.pid is not None:
            spill.remove_left_by(worker.process.pid)
        exitcode = worker.process.exitcode
        pid = worker.process.pid
        in_hand, phase = self._in_hand(worker)
        self._forget(worker)
        how = f"worker process {pid} {describe_exit(exitcode)}"
        logger.debug("%s with %d task(s) outstanding", how, len(worker.outstanding))
        if not worker.ready:
            self.failed_starts += 1
            if self.failed_starts >= _START_ATTEMPTS:
                self._fail_start_up(worker, how, pid, exitcode)
                return
            # It never read a task: they all go to a new worker.
            worker.outstanding.move_to_front_of(self.todo)
        elif worker.outstanding:
            index = worker.outstanding.popleft()
            if in_hand == index and phase != IDLE:
                message = f"{key_of(index)} ({self.tasks[index]!r}) was lost: {how} {PHASES[phase]}"
                self._finish(index, TaskReturnException(WorkerDiedError(message, pid=pid, exitcode=exitcode)))
            elif index not in self.retried:
                # Killed from outside before it began this task: the task never ran,
                # so running it on another worker repeats nothing. Once only, so a
                # task is never retried forever.
                self.retried.add(index)
                worker.outstanding.appendleft(index)
            else:
                message = f"{key_of(index)} ({self.tasks[index]!r}) did not run: {how} twice before starting it"
                self._finish(index, TaskReturnException(WorkerDiedError(message, pid=pid, exitcode=exitcode)))
            worker.outstanding.move_to_front_of(self.todo)
        if self.todo and len(self.workers) < self.max_workers:
            self._dispatch(self._start_worker())

    def _fail_start_up(self, worker: _Worker, how: str, pid: Optional[int], exitcode: Optional[int]) -> None:
        # Workers keep dying before they read a task: every worker started the same way
        # would die the same way, so fail what is left instead of retrying forever.
        hint = ""
        if self.method != "fork" and exitcode is not None and exitcode > 0:  # it raised, not killed
            hint = (
                f"; under the {self.method!r} start method the worker imports the main "
                "module again: guard the script's entry point with "
                "`if __name__ == '__main__':` and check it imports cleanly"
            )
        pending = list(worker.outstanding) + list(self.todo)
        worker.outstanding.clear()
        self.todo.clear()
        for index in pending:
            message = (
                f"{key_of(index)} did not run: {how} while starting ({_START_ATTEMPTS} workers in a row did){hint}"
            )
            self._finish(index, TaskReturnException(WorkerDiedError(message, pid=pid, exitcode=exitcode)))

    def _finish(self, index: int, value: object) -> None:
        self.finished.append(index, value)
        self.remaining -= 1

    def _expire(self) -> None:
        """The deadline passed: keep finished results, time out everything else."""
        for worker in list(self.workers):
            # Results that arrived at the last moment still count.
            if worker.reader.fd in self.selector.get_map() and _readable(worker.reader.fd):
                self._read(worker, dispatch=False)
        busy = [worker for worker in self.workers if worker.outstanding]
        self._terminate(busy)
        for worker in busy:
            self._drain(worker)  # what finished before it was stopped
            if worker.outstanding:
                index = worker.outstanding.popleft()
                in_hand, phase = self._in_hand(worker)
                self._timeout(index, started=in_hand == index and phase != IDLE)
                worker.outstanding.move_to_front_of(self.todo)
        for index in self.todo:
            self._timeout(index, started=False)
        self.todo.clear()

    def _timeout(self, index: int, started: bool) -> None:
        self._finish(index, timed_out(index, started))


def _readable(fd: int) -> bool:
    with selectors.DefaultSelector() as probe:
        probe.register(fd, selectors.EVENT_READ)
        return bool(probe.select(0))


def stream_in_processes(
    tasks: Sequence[Task[[], object]],
    ctx: BaseContext,
    max_workers: int,
    deadline: Optional[float],
    *,
    forward_logs: bool,
    eager: bool,
) -> Outcomes:
    """Run ``tasks`` in a pool made for them; yield outcomes as they finish, then close it.

    ``eager``: see :meth:`WorkerPool.stream`.
    """
    if not tasks:
        return
    pool: Optional[WorkerPool] = None
    try:
        with interrupts_held():  # Ctrl-C as the pool is made: it is made, then closed
            pool = WorkerPool(
                ctx, min(max_workers, len(tasks)), inherited=tasks, forward_logs=forward_logs, one_shot=True
            )
        yield from pool.stream(tasks, deadline, eager)
    except BaseException:
        if pool is not None:
            # Ctrl-C, an error, or the caller closing early: idle workers get a moment to
            # exit, not as long as a thread a task left running takes.
            pool.close(time.monotonic() + _TERMINATE_GRACE)
        raise
    # Idle workers exit as soon as they are told to, unless a task left a thread running:
    # past the deadline, they get a moment before the signal (which their whole group gets).
    pool.close(None if deadline is None else deadline + _TERMINATE_GRACE)
