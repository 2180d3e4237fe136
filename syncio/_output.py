"""TaskOutput: a gather's results, keyed ``task_1`` … ``task_N`` by position.

At run time TaskOutput is a ``dict`` whose iteration yields values, as syncio always
had it. Type checkers read ``_output.pyi`` instead, which describes that behaviour
(a plain ``dict`` subclass would make ``list(results)`` a ``list[str]`` to them);
``python -m mypy.stubtest syncio`` keeps the two in agreement.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence, cast

from ._outcome import key_of, keys
from ._task import Task

__all__ = ["TaskOutput", "build_output"]

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

    def _index(self, tasks: Sequence[Task[..., Any]]) -> None:
        self._refs = list(map(weakref.ref, tasks))
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


def build_output(tasks: Sequence[Task[..., Any]], values: Sequence[object]) -> TaskOutput:
    """The TaskOutput for ``values``, the outcomes of ``tasks`` by position.

    Built once the work is done (and forked workers are gone), so that the weak
    references to the tasks are not copied into every worker's memory.
    """
    output = TaskOutput(zip(keys(len(values)), values))
    output._index(tasks)  # pyright: ignore[reportPrivateUsage]
    return output
