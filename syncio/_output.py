"""TaskOutput: a gather's results, keyed ``task_1`` … ``task_N`` by position.

At run time TaskOutput is a ``dict`` whose iteration yields values, as syncio always
had it. Type checkers read ``_output.pyi`` instead, which describes that behaviour
(a plain ``dict`` subclass would make ``list(results)`` a ``list[str]`` to them);
``python -m mypy.stubtest syncio`` keeps the two in agreement.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, cast

from ._outcome import key_of, keys
from ._task import Task

__all__ = ["OutputDraft", "TaskOutput", "build_output"]

_NOT_GIVEN: Any = object()


class TaskOutput(Dict[str, Any]):
    """A gather's results in positional order, keyed ``task_1`` … ``task_N``.

    Iterating yields the results (not the keys) in that order. Index by key,
    ``results["task_2"]``, or by the task object itself, ``results[task]``. A task that
    raised has a :class:`TaskReturnException` in its slot.
    """

    __slots__ = ("_positions", "_refs", "_repeats")

    def __init__(self, items: Iterable[tuple[str, object]] = (), /) -> None:
        super().__init__(items)
        # For lookup by task: weak references (a result set must not keep every task's
        # arguments alive), and, built on the first lookup by task, the positions by
        # id(task) of the tasks still alive (the reference tells a task from a newer
        # object that reuses a dead task's id).
        self._refs: list[weakref.ref[Task[..., Any]]] = []
        self._positions: Optional[Dict[int, int]] = None
        self._repeats = False  # a task was gathered more than once

    def _index(self, refs: List[weakref.ref[Task[..., Any]]]) -> None:
        self._refs = refs
        self._positions = None

    def _key(self, task: Task[..., Any]) -> str:
        positions = self._positions
        if positions is None:
            positions = self._positions = {}
            for position, ref in enumerate(self._refs):
                alive = ref()
                if alive is not None:
                    self._repeats = self._repeats or id(alive) in positions
                    positions[id(alive)] = position
        position = positions.get(id(task))
        if position is None or self._refs[position]() is not task:
            raise KeyError(task)
        if self._repeats:
            keys = [key_of(i) for i, ref in enumerate(self._refs) if ref() is task]
            if len(keys) > 1:
                raise KeyError(f"{task!r} was gathered more than once ({', '.join(keys)}); look it up by key")
        return key_of(position)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Task):
            key = self._key(cast("Task[..., Any]", key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, Task):
            try:
                self._key(cast("Task[..., Any]", key))
            except KeyError:
                return False
            return True
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None, /) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values())

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self.values())

    def __repr__(self) -> str:
        return f"TaskOutput({super().__repr__()})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Lookup by task does not survive pickling or copying; keys and values do.
        return (TaskOutput, (list(self.items()),))

    def copy(self) -> TaskOutput:
        return TaskOutput(self.items())


class OutputDraft:
    """The parts of the TaskOutput of ``tasks`` that do not depend on outcomes, made as they come in.

    Each ``add(count)`` makes the keys and weak references of ``count`` more positions;
    ``build`` makes the rest and the output. A gather adds as many as outcomes arrive,
    so that while its workers run, this process (often waiting on them) does most of
    the work of building the output, not all of it after the last outcome.
    """

    __slots__ = ("_keys", "_refs", "_tasks")

    def __init__(self, tasks: Sequence[Task[..., Any]]) -> None:
        self._tasks = tasks
        self._keys: List[str] = []
        self._refs: List[weakref.ref[Task[..., Any]]] = []

    def add(self, count: int) -> None:
        start = len(self._keys)
        stop = min(start + count, len(self._tasks))
        self._keys += keys(stop, start)
        self._refs += map(weakref.ref, self._tasks[start:stop])

    def build(self, values: Sequence[object]) -> TaskOutput:
        """The output: ``values`` are the outcomes of the tasks by position."""
        self.add(len(values) - len(self._keys))
        output = TaskOutput(zip(self._keys, values))
        output._index(self._refs)  # pyright: ignore[reportPrivateUsage]
        return output


def build_output(tasks: Sequence[Task[..., Any]], values: Sequence[object]) -> TaskOutput:
    """The TaskOutput for ``values``, the outcomes of ``tasks`` by position, in one go."""
    return OutputDraft(tasks).build(values)
