"""Holding Ctrl-C back while a worker process is being started.

A ``KeyboardInterrupt`` raised in the middle of ``multiprocessing``'s own start-up code
(``Process.start()``, ``Pipe()``) can leave a child that nobody will reap, half-sent
start-up data (a second traceback, from the child) or descriptors no object owns: none
of it is syncio's to clean up. So for that short stretch SIGINT's handler is swapped
for one that only notes the signal, and the original one runs at the end instead.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Generator, Optional

__all__ = ["interrupts_held"]


@contextlib.contextmanager
def interrupts_held() -> Generator[None, None, None]:
    """Run the block with SIGINT noted, not handled; then handle it as it would have been.

    Only in the main thread (the only one Python runs signal handlers in) and only when
    SIGINT's handler was set from Python (the interpreter's own, or the program's): one
    that cannot be put back is left alone, as is every other thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler set outside Python: it could not be restored
        yield
        return
    noted: list[Optional[FrameType]] = []

    def note(signum: int, frame: Optional[FrameType]) -> None:
        noted.append(frame)

    try:
        signal.signal(signal.SIGINT, note)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if noted:
            if callable(previous):
                previous(signal.SIGINT, noted[0])  # the interpreter's raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
