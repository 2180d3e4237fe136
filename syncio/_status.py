"""Memory shared between a pool and its workers: a status board and a result area per seat.

For each worker seat the board holds two 64-bit words and an area of ``AREA`` bytes:

- ``status``: ``(slot + 1) << 3 | phase`` for the task the worker has in hand. Workers
  write it (a memory store, no system call); when a worker dies, the parent reads
  which task it was on and at which step.
- ``committed``: how many bytes of the seat's result area hold complete records.
- the result area: outcome records the worker appends (see ``_results.py``), so that
  a worker running many small tasks spends no system call per result, yet a worker
  that dies loses none of the results it finished.

The board is one memory file (``memfd_create``) per pool, closed with it, so a gather
leaves no file descriptor behind; it reaches a spawn or forkserver worker as a file
descriptor passed like a pipe's.
"""

from __future__ import annotations

import mmap
import os
from multiprocessing.connection import Connection
from typing import Optional

__all__ = ["AREA", "SeatMemory", "StatusBoard", "attach"]

AREA = 1 << 20  # bytes of result records per seat; only the pages used take memory
_WORD = 8
# Two words used per seat, the rest padding: each seat's words get a 128-byte line of
# their own (two 64-byte cache lines, as CPUs fetch lines in adjacent pairs), or
# workers storing into their words several times per task would contend for one line.
_WORDS_PER_SEAT = 16


class SeatMemory:
    """One seat's view of the board: its two words and its result area."""

    __slots__ = ("area", "base", "words")

    def __init__(self, mapped: mmap.mmap, seats: int, seat: int) -> None:
        # words[base] is the status word and words[base + 1] the committed count (the
        # worker's hot path stores into them directly).
        self.words = memoryview(mapped)[: seats * _WORDS_PER_SEAT * _WORD].cast("q")
        self.base = seat * _WORDS_PER_SEAT
        start = _areas_start(seats) + seat * AREA
        self.area = memoryview(mapped)[start : start + AREA]

    @property
    def status(self) -> int:
        return int(self.words[self.base])

    @status.setter
    def status(self, value: int) -> None:
        self.words[self.base] = value

    @property
    def committed(self) -> int:
        return int(self.words[self.base + 1])

    @committed.setter
    def committed(self, value: int) -> None:
        self.words[self.base + 1] = value

    def release(self) -> None:
        self.words.release()
        self.area.release()


def _areas_start(seats: int) -> int:
    return -(-seats * _WORDS_PER_SEAT * _WORD // mmap.PAGESIZE) * mmap.PAGESIZE


def _size(seats: int) -> int:
    return _areas_start(seats) + seats * AREA


class StatusBoard:
    """Parent side: the board for ``seats`` workers."""

    def __init__(self, seats: int) -> None:
        self.seats = max(1, seats)
        size = _size(self.seats)
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("syncio-status", os.MFD_CLOEXEC)
        else:  # not Linux: an unlinked temporary file does as well
            import tempfile

            fd, path = tempfile.mkstemp(prefix="syncio-status-")
            os.unlink(path)
        os.ftruncate(fd, size)  # sparse: pages take memory only once written
        # A Connection is how multiprocessing hands a file descriptor to a new worker
        # under every start method; it is only the envelope here.
        self.transport = Connection(fd)
        self._map: Optional[mmap.mmap] = mmap.mmap(fd, size)
        self.memory = [SeatMemory(self._map, self.seats, seat) for seat in range(self.seats)]

    def __getitem__(self, seat: int) -> SeatMemory:
        return self.memory[seat]

    def close(self) -> None:
        if self._map is not None:
            mapped, self._map = self._map, None
            try:
                for seat in self.memory:
                    seat.release()
                mapped.close()
            except BufferError:
                # A view of the area is still referenced (by a traceback, say, after an
                # interrupt): the memory is unmapped when the last reference goes.
                pass
            self.memory = []
            self.transport.close()


def attach(transport: Connection, seats: int, seat: int) -> SeatMemory:
    """Worker side: the memory of ``seat`` on the board for ``seats`` passed as ``transport``."""
    return SeatMemory(mmap.mmap(transport.fileno(), _size(seats)), seats, seat)
