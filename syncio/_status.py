"""The status board: one shared 64-bit word per worker seat, ``(slot + 1) << 3 | phase``.

Workers write what they are doing there (a memory store, no system call); when a worker
dies, the parent reads which task it was on and at which step. The board is a small
memory file (``memfd_create``) that belongs to one pool and is closed with it, so a
gather leaves no file descriptor behind; it reaches a spawn or forkserver worker as a
file descriptor passed like a pipe's.
"""

from __future__ import annotations

import mmap
import os
from multiprocessing.connection import Connection
from typing import Optional

__all__ = ["StatusBoard", "attach"]

_WORD = 8


class StatusBoard:
    """Parent side: the board for ``seats`` workers."""

    def __init__(self, seats: int) -> None:
        size = max(1, seats) * _WORD
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("syncio-status", os.MFD_CLOEXEC)
        else:  # not Linux: an unlinked temporary file does as well
            import tempfile

            fd, path = tempfile.mkstemp(prefix="syncio-status-")
            os.unlink(path)
        os.ftruncate(fd, size)
        # A Connection is how multiprocessing hands a file descriptor to a new worker
        # under every start method; it is only the envelope here.
        self.transport = Connection(fd)
        self._map = mmap.mmap(fd, size)
        self.words: Optional[memoryview] = memoryview(self._map).cast("q")

    def __getitem__(self, seat: int) -> int:
        assert self.words is not None
        return int(self.words[seat])

    def __setitem__(self, seat: int, value: int) -> None:
        assert self.words is not None
        self.words[seat] = value

    def close(self) -> None:
        if self.words is not None:
            self.words.release()
            self.words = None
            self._map.close()
            self.transport.close()


def attach(transport: Connection) -> memoryview:
    """Worker side: the board's words, writable like a list of ints."""
    mapped = mmap.mmap(transport.fileno(), 0)
    return memoryview(mapped).cast("q")
