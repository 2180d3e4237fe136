"""Large results through shared memory instead of the pipe.

A pickled result larger than ``THRESHOLD`` is written by the worker to a file in
``/dev/shm`` (memory, not disk) and only the file's name goes through the pipe; the
parent maps the file, unpickles from the mapping and deletes it. That saves the pipe's
copy in and copy out and the thousands of wake-ups a 64 MiB message takes.

Files are named ``syncio-<parent pid>-<worker pid>-<slot>``, so the parent deletes what
a dead worker left behind, and a pool deletes files whose parent no longer exists.
Where ``/dev/shm`` is missing or full, results simply go through the pipe.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle

__all__ = ["THRESHOLD", "load", "remove_left_by", "remove_orphans", "spill"]

THRESHOLD = 4 << 20
_DIR = "/dev/shm"
_PREFIX = "syncio-"


def _path(owner: int, worker: int, slot: int) -> str:
    return os.path.join(_DIR, f"{_PREFIX}{owner}-{worker}-{slot}")


def spill(payload: bytes, owner: int, slot: int) -> bytes | None:
    """Worker side: write ``payload`` to shared memory; its path, or None to use the pipe."""
    if len(payload) < THRESHOLD or not os.path.isdir(_DIR):
        return None
    path = _path(owner, os.getpid(), slot)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError:  # no room in /dev/shm: the pipe still works
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None
    return os.fsencode(path)


def load(path: bytes | bytearray) -> object:
    """Parent side: unpickle a spilled result and delete its file (also on failure)."""
    name = os.fsdecode(bytes(path))
    try:
        with open(name, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return pickle.loads(mapped)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def remove_left_by(worker: int) -> None:
    """Delete what a dead worker of this process may have left in shared memory."""
    _remove(f"{_PREFIX}{os.getpid()}-{worker}-")


def remove_orphans() -> None:
    """Delete spilled results whose parent process is gone (killed before cleaning up)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(_DIR):
            if not name.startswith(_PREFIX):
                continue
            owner = name[len(_PREFIX) :].split("-", 1)[0]
            if owner.isdigit() and not _alive(int(owner)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(_DIR, name))


def _remove(prefix: str) -> None:
    with contextlib.suppress(OSError):
        for name in os.listdir(_DIR):
            if name.startswith(prefix):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(_DIR, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
