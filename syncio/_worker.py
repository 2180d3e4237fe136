"""The worker process: read tasks from its pipe, run each, write each outcome back."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from typing import TYPE_CHECKING, MutableSequence, Optional, Sequence

from ._channel import LOG, READY, RUN_INHERITED, STOP, BlockingReader, close_inherited_parent_fds, write_frame
from ._errors import TaskUnpicklingError
from ._logs import LogForwarder
from ._outcome import TaskReturnException, run_task
from ._pickling import encode_outcome, unpickle_task

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ._task import Task

__all__ = ["IDLE", "PHASES", "PICKLING", "RUNNING", "SENDING", "UNPICKLING", "worker_main"]

# What a worker is doing, kept in memory shared with the parent so that when a worker
# dies the parent can say which task it was on and at which step, without the worker
# spending a system call per step to tell it.
IDLE, UNPICKLING, RUNNING, PICKLING, SENDING = range(5)
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


def worker_main(
    *,
    task_conn: Connection,
    result_conn: Connection,
    lifeline: Connection,
    inherited: Optional[Sequence[Task[[], object]]],
    status: MutableSequence[int],
    seat: int,
    log_levels: Optional[dict[str, int]],
) -> None:
    """Entry point of a worker process.

    ``inherited`` is the gather's task list when the worker was forked (so a task is
    sent as its index and never pickled), else None. The worker runs tasks one at a
    time in the order received and writes one frame per outcome. ``status[2 * seat]``
    holds the slot (plus one) of the task in hand and ``status[2 * seat + 1]`` the phase.
    """
    # A group of its own: a timeout or crash clean-up can then signal the worker and
    # every process its task started in one call, and Ctrl-C in a terminal (sent to the
    # foreground group) reaches only the parent, which stops the workers itself.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    close_inherited_parent_fds()
    _die_with_parent(lifeline.fileno())
    out = result_conn.fileno()
    # Threads a task starts may log while the worker writes a result: one writer at a time.
    write_lock = threading.Lock()

    def send(slot: int, kind: int, payload: bytes = b"") -> None:
        with write_lock:
            write_frame(out, slot, kind, payload)

    forwarder: Optional[LogForwarder] = None
    if log_levels is not None:
        forwarder = LogForwarder(lambda slot, payload: send(slot, LOG, payload))
        forwarder.install(log_levels)
    reader = BlockingReader(task_conn.fileno())
    here, phase = 2 * seat, 2 * seat + 1
    send(0, READY)
    while True:
        frame = reader.read()
        if frame is None or frame.kind == STOP:
            break
        key = f"task_{frame.slot + 1}"
        status[here] = frame.slot + 1
        if forwarder is not None:
            forwarder.slot = frame.slot
        if frame.kind == RUN_INHERITED:
            assert inherited is not None
            task = inherited[frame.slot]
        else:
            status[phase] = UNPICKLING
            try:
                task = unpickle_task(frame.payload, key)
            except TaskUnpicklingError as exc:
                send(frame.slot, *encode_outcome(key, False, TaskReturnException(exc)))
                status[phase] = IDLE
                continue
        status[phase] = RUNNING
        ok, value = run_task(task)
        del task
        status[phase] = PICKLING
        kind, payload = encode_outcome(key, ok, value)
        del value
        status[phase] = SENDING
        send(frame.slot, kind, payload)
        status[phase] = IDLE
        if forwarder is not None:
            forwarder.slot = None
    reader.close()
