"""Framed messages over a pipe: blocking on the worker side, non-blocking in the parent.

Every message is one frame: a fixed header ``(index, kind, length)`` and ``length``
payload bytes. Each worker has a pipe of its own in each direction, so a worker that
dies halfway through a frame can only ever spoil its own pipe, never another task's.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from collections import deque
from itertools import islice
from typing import TYPE_CHECKING

__all__ = [
    "EAGER",
    "FAILURE",
    "FLUSHED",
    "LOG",
    "READY",
    "RELEASED",
    "RESULT",
    "RUN_INHERITED",
    "RUN_PICKLED",
    "SPILLED",
    "STOP",
    "BlockingReader",
    "FrameReader",
    "FrameWriter",
    "close_inherited_parent_fds",
    "enlarge_pipe",
    "forget_parent_fd",
    "remember_parent_fd",
    "write_frame",
]

# parent -> worker
RUN_INHERITED = 1  # run the task at `index` of the list the worker inherited at fork
RUN_PICKLED = 2  # payload: a pickled Task
STOP = 3  # finish: no more tasks
EAGER = 11  # payload: b"\x01" to report each outcome at once, b"\x00" to batch (see _results.py)
RELEASED = 9  # payload: how far the parent has read the worker's result area (see _results.py)
# worker -> parent
READY = 6  # the worker has started and will now read tasks
LOG = 7  # payload: a pickled log record's fields (see _logs.py)
SPILLED = 8  # payload: the path of a large pickled result in shared memory (see _spill.py)
RESULT = 4  # payload: the pickled return value
FAILURE = 5  # payload: a pickled failure record (see _pickling.encode_outcome)
FLUSHED = 10  # payload: the worker's committed length and new record count (see _results.py)

_HEADER = struct.Struct("<IBQ")
HEADER_SIZE = _HEADER.size
_READ_CHUNK = 1 << 16  # under glibc's mmap threshold: no map and unmap per read
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, only named there from Python 3.10
_PIPE_SIZE = 1 << 20


# The parent's ends of every live syncio pipe in this process. A forked worker
# inherits them all and closes them first thing: otherwise it would hold other
# workers' pipes open and they would not see end-of-file when their parent goes.
# Under spawn and forkserver nothing is inherited and the map is empty in the child.
# Each descriptor is kept with the identity of its file (device, inode): one closed
# without being forgotten (Ctrl-C at the wrong moment) may be reused by then, by the
# new worker's own pipes too, and must not be closed for it.
_parent_fds: dict[int, tuple[int, int]] = {}


def _identity(fd: int) -> tuple[int, int]:
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


def remember_parent_fd(fd: int) -> None:
    _parent_fds[fd] = _identity(fd)


def forget_parent_fd(fd: int) -> None:
    _parent_fds.pop(fd, None)


def close_inherited_parent_fds() -> None:
    """In a freshly forked worker: close the parent's pipe ends it inherited."""
    for fd, identity in list(_parent_fds.items()):
        with contextlib.suppress(OSError):  # not open (any more): nothing to close
            if _identity(fd) == identity:
                os.close(fd)
    _parent_fds.clear()


if TYPE_CHECKING:
    # A frame as read: (slot, kind, payload), the slot being the task's 0-based
    # position. A plain tuple: workers import this module, and a NamedTuple class
    # costs a third of a millisecond to create.
    from typing import Tuple, Union

    Frame = Tuple[int, int, Union[bytes, bytearray]]


def enlarge_pipe(fd: int) -> None:
    """Grow a pipe's kernel buffer (Linux) so large payloads take fewer wake-ups."""
    if sys.platform != "linux":
        return
    import fcntl

    with contextlib.suppress(OSError):  # over the user's pipe quota: the default still works
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)


def _write_all(fd: int, header: bytes, payload: bytes | bytearray | memoryview) -> None:
    if len(payload) < _READ_CHUNK:
        data = header + payload
        written = os.write(fd, data)  # all of it, unless a signal interrupted the write
        if written < len(data):
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
        return
    buffers = [memoryview(header), memoryview(payload)]
    while buffers:
        written = os.writev(fd, buffers)
        while buffers and written >= len(buffers[0]):
            written -= len(buffers[0])
            buffers.pop(0)
        if buffers and written:
            buffers[0] = buffers[0][written:]


def write_frame(fd: int, index: int, kind: int, payload: bytes | bytearray = b"") -> None:
    """Write one whole frame to a blocking ``fd`` (worker side)."""
    _write_all(fd, _HEADER.pack(index, kind, len(payload)), payload)


class BlockingReader:
    """Reads frames from a blocking fd (worker side)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buf = bytearray()
        self._pos = 0

    def buffered(self) -> bool:
        """True if a whole frame has been read already, so read() will not block."""
        have = len(self._buf) - self._pos
        return have >= HEADER_SIZE and have - HEADER_SIZE >= _HEADER.unpack_from(self._buf, self._pos)[2]

    def _fill(self, need: int) -> bool:
        """Read until ``need`` bytes are buffered from the current position; False at EOF."""
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        while len(self._buf) < need:
            data = os.read(self._fd, max(_READ_CHUNK, need - len(self._buf)))
            if not data:
                return False
            self._buf += data
        return True

    def read(self) -> Frame | None:
        """Return the next frame, or None at end of file (the parent has gone)."""
        if len(self._buf) - self._pos < HEADER_SIZE and not self._fill(HEADER_SIZE):
            return None
        index, kind, length = _HEADER.unpack_from(self._buf, self._pos)
        start = self._pos + HEADER_SIZE
        if length > _READ_CHUNK:
            return self._read_big(index, kind, length, start)
        if len(self._buf) - start < length:
            if not self._fill(HEADER_SIZE + length):
                return None
            start = HEADER_SIZE
        with memoryview(self._buf) as view:
            payload = bytes(view[start : start + length])
        self._pos = start + length
        return index, kind, payload

    def _read_big(self, index: int, kind: int, length: int, start: int) -> Frame | None:
        # A buffer of its own, filled by the kernel directly: one copy of a large task.
        payload = bytearray(length)
        have = min(length, len(self._buf) - start)
        payload[:have] = self._buf[start : start + have]
        del self._buf[: start + have]
        self._pos = 0
        with memoryview(payload) as view:
            while have < length:
                got = os.readv(self._fd, [view[have:]])
                if not got:
                    return None
                have += got
        return index, kind, payload

    def close(self) -> None:
        self._buf.clear()


class FrameReader:
    """Reassembles frames from a non-blocking fd (parent side).

    Small frames are cut out of a shared read buffer; a large one gets a buffer of its
    own, which the kernel fills directly, so a big result is copied as few times as
    possible.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()
        self._big: bytearray | None = None
        self._big_got = 0
        self._big_head: tuple[int, int] = (0, 0)

    @property
    def partial(self) -> bool:
        """True while a frame has been started but not finished."""
        return bool(self._buf) or self._big is not None

    def read(self) -> tuple[list[tuple[int, int, bytes | bytearray]], bool]:
        """Read what is available; return the complete frames and whether EOF was seen."""
        try:
            if self._big is not None:
                n = os.readv(self.fd, [memoryview(self._big)[self._big_got :]])
                if n == 0:
                    return [], True
                self._big_got += n
                if self._big_got < len(self._big):
                    return [], False
                frame = (*self._big_head, self._big)
                self._big = None
                return [frame], False
            data = os.read(self.fd, _READ_CHUNK)
        except BlockingIOError:
            return [], False
        if not data:
            return [], True
        self._buf += data
        return self._parse(), False

    def _parse(self) -> list[tuple[int, int, bytes | bytearray]]:
        buf = self._buf
        frames: list[tuple[int, int, bytes | bytearray]] = []
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_SIZE:
            index, kind, length = _HEADER.unpack_from(buf, pos)
            start = pos + HEADER_SIZE
            if end - start >= length:
                frames.append((index, kind, bytes(buf[start : start + length])))  # plain tuple: hot path
                pos = start + length
                continue
            if length > _READ_CHUNK:
                big = bytearray(length)
                have = end - start
                big[:have] = buf[start:end]
                self._big, self._big_got, self._big_head = big, have, (index, kind)
                pos = end
            break
        del buf[:pos]
        return frames


class FrameWriter:
    """Queues frames for a non-blocking fd and writes them as the pipe drains (parent side).

    Small frames are coalesced so that a batch of tasks costs one system call.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending: deque[memoryview] = deque()
        self._tail = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self._pending or self._tail)

    def send(self, index: int, kind: int, payload: bytes | bytearray = b"") -> None:
        header = _HEADER.pack(index, kind, len(payload))
        if len(payload) < _READ_CHUNK:
            self._tail += header
            self._tail += payload
            return
        self._move_tail()
        self._pending += (memoryview(header), memoryview(payload))

    def _move_tail(self) -> None:
        if self._tail:
            self._pending.append(memoryview(bytes(self._tail)))
            self._tail.clear()

    def flush(self) -> bool:
        """Write as much as the pipe takes now; True when nothing is left.

        Raises BrokenPipeError when the worker has gone.
        """
        self._move_tail()
        pending = self._pending
        while pending:
            try:
                written = os.writev(self.fd, list(islice(pending, 64)))
            except BlockingIOError:
                return False
            while pending and written >= len(pending[0]):
                written -= len(pending[0])
                pending.popleft()
            if written:
                pending[0] = pending[0][written:]
                return False
        return True

    def discard(self) -> None:
        self._pending.clear()
        self._tail.clear()
