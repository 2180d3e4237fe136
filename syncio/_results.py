"""Outcome records in a worker's shared result area (see ``_status.py``).

A worker appends one record per finished task, a header and the pickled outcome, then
stores its new committed length: a record is whole before it counts, so the results a
worker finished survive it dying the next instant, and no system call is spent per
result. The area is a ring: lengths only grow, and a record that would not fit before
the area's end starts at its beginning again, behind a WRAP marker. The worker tells
the parent about its records in batches, with a FLUSHED frame on its pipe that carries
the committed length, the number of records, whether they can be joined (below), and
how long their tasks took (so the parent can tell quick tasks from slow ones):

- before it waits for more work, so a batch is reported as soon as it is done;
- once the task of its oldest unreported record started ``FLUSH_AFTER`` ago, so a
  slow task's result is reported at once and fast ones at least that often; the
  first report after a new batch of work arrives comes sooner, ``FIRST_FLUSH_AFTER``,
  so that the parent soon knows how quick the tasks are and can queue the worker's
  next batch well before this one ends;
- after every record when the parent asked for that (EAGER frame): when the caller
  watches outcomes arrive (``as_completed``, a progress callback), so that a result
  never waits for the worker's next task to end;
- before it sends an outcome through the pipe instead (one too large for the area, or
  when the area is full), so the parent always sees outcomes in the order the tasks ran.

Records are pickle opcodes, so that a batch of results costs the parent one
``pickle.loads``, not one per task. A header is ``BININT (kind << 24 | size), POP,
BININT slot``: it pushes the slot and leaves nothing else. A result pickled with
protocol 3 (``encode_outcome``) is stored without its final STOP, the next record
starting on that byte. Protocol 3 numbers its memo entries itself (BINPUT n) where
protocol 4 and later number them by count (MEMOIZE), so a record's memo references
stay right when records are unpickled together. Records of results only, contiguous
in the area, between ``MARK`` and ``LIST`` unpickle as ``[slot, result, slot, result,
...]``; any other batch (a failure, a result only a newer protocol could pickle, the
end of the ring) is read record by record, as is everything read after a worker died.
So is a batch in which a result fails to unpickle: the results before it in the batch
are then unpickled a second time (the first attempt's objects are lost with it).

The parent reads records only up to a length a FLUSHED frame gave it (the pipe orders
memory: what the worker stored before writing the frame is visible once the parent has
read it), or up to the committed length once the worker has exited. It hands space
back with a RELEASED frame (the length it has read), sent with the worker's next tasks.
"""

from __future__ import annotations

import pickle
import struct
import time
from typing import Callable, Iterator

from ._channel import FLUSHED, RESULT
from ._pickling import MAX_RECORD, RESULT_PROTOCOL, decode_outcome
from ._status import AREA, SeatMemory

__all__ = ["FIRST_FLUSH_AFTER", "FLUSH", "FLUSH_AFTER", "LENGTH", "Batch", "ResultLog", "Send", "take"]

# BININT (kind << 24 | size), POP, BININT slot: see the module docstring.
RECORD = struct.Struct("<BIBBI")
_BININT, _POP = 0x4A, 0x30  # pickle opcodes J and 0
_SIZE_BITS = 24
_SIZE_MASK = (1 << _SIZE_BITS) - 1
_JOIN_START = b"\x80\x03("  # PROTO 3, MARK
_JOIN_END = b"l."  # LIST, STOP
_STOP = b"."
LENGTH = struct.Struct("<Q")  # a RELEASED frame's payload: how far the parent has read
# A FLUSHED frame's payload: committed length, records since the last, whether they
# are joinable, and the seconds from the start of their first task to the last's end.
FLUSH = struct.Struct("<QI?d")
FLUSH_AFTER = 0.002  # seconds
FIRST_FLUSH_AFTER = 0.00025  # seconds
_WRAP = 0  # record kind: nothing more before the area's end (no frame kind is 0)
_HEADER = RECORD.size
_pack = RECORD.pack_into
# A record of an int result that fits BININT: the header, then PROTO 3, BININT value
# (pickle.dumps(value, 3) as BININT, without its STOP), packed in one call.
_INT_RECORD = struct.Struct("<BIBBIBBBi")
_pack_int = _INT_RECORD.pack_into
_INT_RECORD_SIZE = _INT_RECORD.size
_INT_WORD = RESULT << _SIZE_BITS | (_INT_RECORD_SIZE - _HEADER)
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_PROTO = 0x80
_monotonic = time.monotonic

Send = Callable[..., None]  # send(slot, kind, payload=b"")


class ResultLog:
    """Worker side: append outcome records to the seat's area and report them in batches."""

    __slots__ = (
        "_area",
        "_count",
        "_due",
        "_index",
        "_joinable",
        "_last",
        "_limit",
        "_otherwise",
        "_send",
        "_since",
        "_words",
        "eager",
        "end",
    )

    def __init__(self, memory: SeatMemory, send: Send, otherwise: Callable[[int, int, bytes], None]) -> None:
        self._area = memory.area
        self._words = memory.words
        self._index = memory.base + 1  # the committed-length word
        self._send = send
        self._otherwise = otherwise  # what to do with an outcome the area does not take
        self.end = 0  # committed length
        self._limit = AREA  # the area up to this length may be written
        self._count = 0  # records not reported yet
        self._joinable = True  # ... and all are protocol-3 results (take checks the rest)
        self._last = 0.0  # when the last record was committed, or work last arrived
        self._since = 0.0  # when the task of the oldest unreported record started
        self._due = FIRST_FLUSH_AFTER  # report once that record's task started this long ago
        self.eager = False  # report each record at once (the caller watches outcomes arrive)

    @property
    def pending(self) -> bool:
        """True while some records have not been reported."""
        return self._count != 0

    def mark(self, new: bool = True) -> None:
        """Note that work arrived now (the next task starts about now); ``new``: a new batch of it."""
        self._last = _monotonic()
        if new:
            self._due = FIRST_FLUSH_AFTER

    def put(self, slot: int, kind: int, payload: bytes) -> None:
        """Record an outcome, reporting the records if due.

        An outcome too large for the area, or when the area is full, goes to the
        ``otherwise`` given at creation instead, once every earlier record is reported.
        """
        size = len(payload)
        end = self.end
        at = end % AREA
        stop = at + _HEADER + size  # the whole payload is written, a dropped STOP too
        if stop > AREA or end + _HEADER + size > self._limit or size > MAX_RECORD:
            if stop <= AREA or not self._go_round(end, at, size):
                self.flush()
                self._otherwise(slot, kind, payload)
                return
            end = self.end
            at = 0
            stop = _HEADER + size
        area = self._area
        if kind == RESULT and payload[1] == RESULT_PROTOCOL:
            size -= 1  # without its STOP: the next record starts there
        else:
            self._joinable = False
        _pack(area, at, _BININT, kind << _SIZE_BITS | size, _POP, _BININT, slot)
        area[at + _HEADER : stop] = payload
        self._commit(end + _HEADER + size)

    def put_plain(self, slot: int, value: object) -> bool:
        """Record a result that is an int of at most 32 bits, without pickling it.

        The record is what ``put`` would store for it, written in one go. Returns False,
        recording nothing, for any other value or when the record does not fit where
        the area's next record goes: ``put`` then takes the pickled result as usual.
        """
        if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:  # a bool is not an int here
            return False
        end = self.end
        at = end % AREA
        if at + _INT_RECORD_SIZE > AREA or end + _INT_RECORD_SIZE > self._limit:
            return False
        _pack_int(self._area, at, _BININT, _INT_WORD, _POP, _BININT, slot, _PROTO, RESULT_PROTOCOL, _BININT, value)
        self._commit(end + _INT_RECORD_SIZE)
        return True

    def _commit(self, end: int) -> None:
        """Count the records written up to length ``end``; report them if due."""
        self._words[self._index] = end  # only now does the record count
        self.end = end
        now = _monotonic()
        if not self._count:
            self._since = self._last  # about when this record's task started
        self._count += 1
        self._last = now
        if self.eager or now - self._since >= self._due:
            self.flush()

    def _go_round(self, end: int, at: int, size: int) -> bool:
        """Continue at the area's start if the record fits there; False if it cannot be put."""
        skip = AREA - at
        if size > MAX_RECORD or end + skip + _HEADER + size > self._limit:
            return False
        if skip >= _HEADER:
            _pack(self._area, at, _BININT, _WRAP, _POP, _BININT, 0)
        # The marker needs no commit: the next record's commits it. Records on both sides
        # of the area's end are not joinable, which the parent sees from their lengths.
        self.end = end + skip
        return True

    def flush(self) -> None:
        """Report every record committed so far (one FLUSHED frame), if any is pending."""
        if self._count:
            self._send(0, FLUSHED, FLUSH.pack(self.end, self._count, self._joinable, self._last - self._since))
            self._count = 0
            self._joinable = True
            self._due = FLUSH_AFTER

    def release(self, upto: int) -> None:
        """The parent has read the records up to length ``upto``: their space is free again."""
        self._limit = upto + AREA


class Batch:
    """Parent side: outcomes for the caller, iterated as ``(slot, outcome)`` pairs.

    Kept as two lists, with no pair object per outcome: quick tasks make thousands,
    and every new object the garbage collector tracks brings a collection nearer,
    whose pass writes to (so copies) memory pages that forked workers still share.
    """

    __slots__ = ("outcomes", "slots")

    def __init__(self) -> None:
        self.slots: list[int] = []
        self.outcomes: list[object] = []

    def append(self, slot: int, outcome: object) -> None:
        self.slots.append(slot)
        self.outcomes.append(outcome)

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[tuple[int, object]]:
        return zip(self.slots, self.outcomes)


def take(
    area: memoryview,
    start: int,
    stop: int,
    finished: Batch,
    *,
    count: int = 0,
    joinable: bool = False,
) -> int:
    """Parent side: add ``(slot, outcome)`` to ``finished`` for the records between two committed lengths.

    ``count`` and ``joinable`` are what the FLUSHED frame for these records said (a
    worker that exited sent none for its last ones: pass neither). Returns how many
    records there were.
    """
    at = start % AREA
    if joinable and at + stop - start <= AREA:
        try:
            joined = pickle.loads(b"".join((_JOIN_START, area[at : at + stop - start], _JOIN_END)))
        except KeyboardInterrupt:
            raise
        except BaseException:  # a result that fails to unpickle: found and reported below
            joined = ()
        if len(joined) == 2 * count:
            finished.slots += joined[::2]
            finished.outcomes += joined[1::2]
            return count
    return _take_each(area, start, stop, finished)


def _take_each(area: memoryview, start: int, stop: int, finished: Batch) -> int:
    """``take`` record by record: a failure in its own slot, whatever else the batch holds."""
    unpack = RECORD.unpack_from
    taken = 0
    while start < stop:
        at = start % AREA
        if AREA - at < _HEADER:
            start += AREA - at
            continue
        word, slot = unpack(area, at)[1::3]
        kind, size = word >> _SIZE_BITS, word & _SIZE_MASK
        if kind == _WRAP:
            start += AREA - at
            continue
        at += _HEADER
        start += _HEADER + size
        taken += 1
        # A copy: the failure may keep its payload alive (in a traceback), and a view
        # would keep the shared memory from being unmapped.
        payload = bytes(area[at : at + size])
        if kind == RESULT and payload[1] == RESULT_PROTOCOL:
            payload += _STOP
        finished.append(slot, decode_outcome(kind, payload, slot))
    return taken
