"""Positions: a queue of task positions kept as runs of consecutive ones.

A process pool's queue of tasks to hand out, and each worker's queue of tasks handed
to it, hold thousands of positions that are mostly consecutive. As runs (``range``
objects) they cost no object per position, and handing out or retiring a run of a
thousand costs no more than one of a single task.
"""

from __future__ import annotations

from collections import deque
from itertools import chain
from typing import Iterator

__all__ = ["Positions"]


class Positions:
    """A first-in, first-out queue of task positions (ints)."""

    __slots__ = ("_len", "_runs")

    def __init__(self, run: range = range(0)) -> None:
        self._runs: deque[range] = deque([run] if run else ())
        self._len = len(run)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len != 0

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(self._runs)

    def __repr__(self) -> str:
        return f"Positions({list(self)!r})"

    def extend(self, run: range) -> None:
        """Add a run of positions at the end."""
        if not run:
            return
        runs = self._runs
        if runs and runs[-1].stop == run.start:
            runs[-1] = range(runs[-1].start, run.stop)
        else:
            runs.append(run)
        self._len += len(run)

    def append(self, position: int) -> None:
        self.extend(range(position, position + 1))

    def appendleft(self, position: int) -> None:
        """Put a position back at the front."""
        runs = self._runs
        if runs and runs[0].start == position + 1:
            runs[0] = range(position, runs[0].stop)
        else:
            runs.appendleft(range(position, position + 1))
        self._len += 1

    def popleft(self) -> int:
        """Take the first position; IndexError if there is none."""
        return self.take_run(1)[0]

    def take_run(self, most: int) -> range:
        """Take up to ``most`` consecutive positions from the front; IndexError if there is none."""
        runs = self._runs
        first = runs[0]
        if len(first) <= most:
            runs.popleft()
            run = first
        else:
            run = first[:most]
            runs[0] = first[most:]
        self._len -= len(run)
        return run

    def drop(self, count: int) -> None:
        """Take the first ``count`` positions (there must be that many) and forget them."""
        while count:
            count -= len(self.take_run(count))

    def move_to_front_of(self, other: Positions) -> None:
        """Put all these positions, in order, before ``other``'s; this queue is left empty."""
        other._runs.extendleft(reversed(self._runs))
        other._len += self._len
        self.clear()

    def clear(self) -> None:
        self._runs.clear()
        self._len = 0
