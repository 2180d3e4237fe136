"""The worker process: read tasks from its pipe, run each, write each outcome back."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Sequence

from ._channel import (
    READY,
    RUN_INHERITED,
    STOP,
    BlockingReader,
    close_inherited_parent_fds,
    write_frame,
)
from ._errors import TaskUnpicklingError
from ._outcome import TaskReturnException, run_task
from ._pickling import encode_outcome, unpickle_task

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ._task import Task

__all__ = ["worker_main"]


def worker_main(
    task_conn: Connection,
    result_conn: Connection,
    inherited: Sequence[Task[[], object]] | None,
) -> None:
    """Entry point of a worker process.

    ``inherited`` is the gather's task list when the worker was forked (so a task is
    sent as its index and never pickled), else None. The worker runs tasks one at a
    time in the order received and writes one frame per outcome, so the parent always
    knows which task a dead worker was running.
    """
    # Ctrl-C in a terminal reaches the whole process group; the parent handles it and
    # stops the workers, so children must not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    close_inherited_parent_fds()
    out = result_conn.fileno()
    reader = BlockingReader(task_conn.fileno())
    write_frame(out, 0, READY)
    while True:
        frame = reader.read()
        if frame is None or frame.kind == STOP:
            break
        key = f"task_{frame.slot + 1}"
        if frame.kind == RUN_INHERITED:
            assert inherited is not None
            task = inherited[frame.slot]
        else:
            try:
                task = unpickle_task(frame.payload, key)
            except TaskUnpicklingError as exc:
                write_frame(out, frame.slot, *encode_outcome(key, False, TaskReturnException(exc)))
                continue
        ok, value = run_task(task)
        del task
        kind, payload = encode_outcome(key, ok, value)
        del value
        write_frame(out, frame.slot, kind, payload)
    reader.close()
