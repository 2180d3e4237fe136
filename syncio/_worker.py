"""The worker process: read tasks from its pipe, run each, record each outcome for the parent."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import sys
import threading
from typing import TYPE_CHECKING, Callable, Iterable, NoReturn, Optional, Sequence

from ._channel import (
    EAGER,
    LOG,
    READY,
    RELEASED,
    RESULT,
    RUN_INHERITED,
    SPILLED,
    STOP,
    BlockingReader,
    close_inherited_parent_fds,
    write_frame,
)
from ._errors import TaskUnpicklingError
from ._logs import LogForwarder
from ._outcome import TaskReturnException, run_task
from ._pickling import encode_outcome, unpickle_task
from ._results import LENGTH, ResultLog, Send
from ._status import attach

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ._outcome import Runnable
    from ._task import Task

__all__ = ["IDLE", "PHASES", "PICKLING", "RUNNING", "RUN_COUNT", "SENDING", "UNPICKLING", "worker_main"]

# What a worker is doing, kept in memory shared with the parent so that when a worker
# dies the parent can say which task it was on and at which step, without the worker
# spending a system call per step to tell it.
IDLE, UNPICKLING, RUNNING, PICKLING, SENDING = range(5)
RUN_COUNT = struct.Struct("<I")  # a RUN_INHERITED frame's payload: how many tasks from its slot on
PHASES = {
    UNPICKLING: "while unpickling the task",
    RUNNING: "while running it",
    PICKLING: "while pickling its result",
    SENDING: "while sending its result back",
}


def _die_with_parent(lifeline: int) -> None:
    """Have the kernel end this worker's process group as soon as the parent is gone.

    Only the parent holds the write end of the ``lifeline`` pipe and never writes to
    it, so the read end signals readiness exactly once: when the parent exits, however
    it exits. With O_ASYNC the kernel then sends SIGIO, whose default action ends the
    process, to the worker's whole group; a task busy in C code cannot delay that, and
    no helper thread is needed. (PR_SET_PDEATHSIG would not do under forkserver, where
    the worker's parent is the fork server, which outlives the caller while any of its
    children hold its own lifeline.)
    """
    import fcntl

    if hasattr(os, "O_ASYNC") and hasattr(fcntl, "F_SETOWN"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(lifeline, fcntl.F_SETOWN, -os.getpgrp())
            fcntl.fcntl(lifeline, fcntl.F_SETFL, fcntl.fcntl(lifeline, fcntl.F_GETFL) | os.O_ASYNC)
    if select.select([lifeline], [], [], 0)[0]:  # the parent went before SIGIO was armed
        os._exit(1)


def _prepare(out: int, lifeline: int, log_levels: Optional[dict[str, int]]) -> tuple[Send, Optional[LogForwarder]]:
    """Set the worker process up; return how to send a frame, and the log forwarder if any."""
    # A group of its own: a timeout or crash clean-up can then signal the worker and
    # every process its task started in one call, and Ctrl-C in a terminal (sent to the
    # foreground group) reaches only the parent, which stops the workers itself.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    close_inherited_parent_fds()
    _die_with_parent(lifeline)
    # Threads a task starts may log while the worker writes a result: one writer at a time.
    write_lock = threading.Lock()

    def send(slot: int, kind: int, payload: bytes = b"") -> None:
        with write_lock:
            write_frame(out, slot, kind, payload)

    forwarder: Optional[LogForwarder] = None
    if log_levels is not None:
        forwarder = LogForwarder(lambda slot, payload: send(slot, LOG, payload))
        forwarder.install(log_levels)
    return send, forwarder


def worker_main(
    *,
    task_conn: Connection,
    result_conn: Connection,
    lifeline: Connection,
    inherited: Optional[Sequence[Task[[], object]]],
    board: Connection,
    seats: int,
    seat: int,
    log_levels: Optional[dict[str, int]],
    owner: int,
) -> None:
    """Entry point of a worker process.

    ``inherited`` is the gather's task list when the worker was forked (so a task is
    sent as its index and never pickled), else None. The worker runs tasks one at a
    time in the order received. It records each outcome in its result area on the
    shared ``board`` and reports them in batches (see ``_results.py``); an outcome too
    large for the area goes through the pipe or, over ``_spill.THRESHOLD``, a shared
    memory file. Its status word holds ``(slot + 1) << 3 | phase`` for the task in hand.
    """
    memory = attach(board, seats, seat)  # first: under fork, _prepare closes the parent's descriptors
    words, status = memory.words, memory.base
    send, forwarder = _prepare(result_conn.fileno(), lifeline.fileno(), log_levels)
    reader = BlockingReader(task_conn.fileno())

    def send_otherwise(slot: int, kind: int, payload: bytes) -> None:
        """An outcome the result area did not take: through the pipe, or a shared memory file."""
        from ._spill import THRESHOLD, spill  # here: most workers never need it

        path = spill(payload, owner, slot) if kind == RESULT and len(payload) >= THRESHOLD else None
        if path is None:
            send(slot, kind, payload)
        else:
            send(slot, SPILLED, path)

    log = ResultLog(memory, send, send_otherwise)
    put, put_plain = log.put, log.put_plain
    forked = False  # this is a copy of the worker that a task forked

    def note_forked() -> None:
        nonlocal forked
        forked = True

    os.register_at_fork(after_in_child=note_forked)

    def run(first: int, tasks: Iterable[Runnable[object]]) -> None:
        """Run ``tasks``, the first being the task at position ``first``, one after the other."""
        for slot, task in enumerate(tasks, first):
            in_hand = (slot + 1) << 3
            words[status] = in_hand | RUNNING
            if forwarder is not None:
                forwarder.slot = slot
            ok, value = run_task(task)
            if forked:  # the task forked, and this copy returned from it: it must not go on as the worker
                _end_forked_copy(None if ok or not isinstance(value, TaskReturnException) else value)
            words[status] = in_hand | SENDING
            if not (ok and put_plain(slot, value)):  # a small int is recorded without pickle
                words[status] = in_hand | PICKLING
                kind, payload = encode_outcome(slot, ok, value)
                del value
                words[status] = in_hand | SENDING
                put(slot, kind, payload)
            # No "idle" mark after this: once the outcome is committed, the parent moves
            # on to the next task, and a slot other than that one means "not started".
            if forwarder is not None:
                forwarder.slot = None

    def run_pickled(slot: int, payload: bytes | bytearray) -> None:
        words[status] = ((slot + 1) << 3) | UNPICKLING
        try:
            task = unpickle_task(payload, slot)
        except TaskUnpicklingError as exc:
            put(slot, *encode_outcome(slot, False, TaskReturnException(exc)))
            return
        run(slot, (task,))

    send(0, READY)
    _serve(reader, log, inherited, run, run_pickled)
    reader.close()
    _end()


def _end_forked_copy(failure: Optional[TaskReturnException]) -> NoReturn:
    """End a copy of the worker that a task forked and that returned from the task.

    It ends as a Python process ending there would: status 0 after a return, the
    ``SystemExit`` code, or 1 and the traceback on standard error after an exception.
    """
    code: object = 0
    if failure is not None:
        raised = failure.exception
        if isinstance(raised, SystemExit):
            code = raised.code
        else:
            code = 1
            with contextlib.suppress(Exception):
                sys.stderr.write(failure.traceback)
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, status 1
        with contextlib.suppress(Exception):
            print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code & 0xFF)


def _end() -> None:
    """End the worker process the way multiprocessing ends a forked one, under every start method.

    That is what ``Process._bootstrap`` does once the target returns (multiprocessing's
    exit handlers, non-daemon threads joined, standard streams flushed), then
    ``os._exit``. A spawned child would otherwise go on to tear the interpreter down,
    which takes several milliseconds that every gather would wait for; skipping it
    means atexit handlers a task registered in a worker do not run, as under fork and
    forkserver already.
    """
    from multiprocessing import util

    try:  # private and untyped, hence getattr; present in every supported Python
        steps: tuple[Callable[[], object], ...] = (
            getattr(util, "_exit_function"),  # noqa: B009
            getattr(threading, "_shutdown"),  # noqa: B009
            getattr(util, "_flush_std_streams"),  # noqa: B009
        )
    except AttributeError:  # not this Python's multiprocessing: return, and let it end the process
        return
    for step in steps:
        with contextlib.suppress(OSError):  # say, output to a pipe nobody reads any more
            step()
    os._exit(0)


def _serve(
    reader: BlockingReader,
    log: ResultLog,
    inherited: Optional[Sequence[Task[[], object]]],
    run: Callable[[int, Iterable[Runnable[object]]], None],
    run_pickled: Callable[[int, bytes | bytearray], None],
) -> None:
    """Run what the parent sends until it sends STOP or goes away."""
    while True:
        # Not read yet: the next frame is a new write from the parent (a new batch), not
        # the rest of one already read (a batch of pickled tasks is a frame per task).
        new = not reader.buffered()
        if new and log.pending:
            log.flush()  # about to wait for work: report what is done
        frame = reader.read()
        if frame is None:  # the parent has gone
            return
        if frame[1] == STOP:
            log.flush()  # STOP may have come right behind the last tasks
            return
        log.mark(new)
        first, kind, payload = frame
        if kind == RUN_INHERITED:  # a run of consecutive tasks, by position
            assert inherited is not None
            count = RUN_COUNT.unpack(payload)[0] if payload else 1
            run(first, inherited[first : first + count])
        elif kind == RELEASED:
            log.release(LENGTH.unpack(payload)[0])
        elif kind == EAGER:
            log.eager = payload == b"\x01"
        else:
            run_pickled(first, payload)
