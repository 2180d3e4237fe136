"""TaskOutput: a gather's results, keyed ``task_1`` … ``task_N`` by position.

At run time TaskOutput is a ``dict`` whose iteration yields values, as syncio always
had it. Type checkers read ``_output.pyi`` instead, which describes that behaviour
(a plain ``dict`` subclass would make ``list(results)`` a ``list[str]`` to them);
``python -m mypy.stubtest syncio`` keeps the two in agreement.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence, cast

from ._task import Task

__all__ = ["TaskOutput", "build_output"]

_NOT_GIVEN: Any = object()


class TaskOutput(Dict[str, Any]):
    """A gather's results in positional order, keyed ``task_1`` … ``task_N``.

    Iterating yields the results (not the keys) in that order. Index by key,
    ``results["task_2"]``, or by the task object itself, ``results[task]``. A task that
    raised has a :class:`TaskReturnException` in its slot.
    """

    __slots__ = ("_by_task",)

    def __init__(self, items: Iterable[tuple[str, object]] = (), /) -> None:
        super().__init__(items)
        self._by_task: Dict[int, tuple[weakref.ref[Task[..., Any]], list[str]]] = {}

    def _key(self, task: Task[..., Any]) -> str:
        ref: Optional[weakref.ref[Task[..., Any]]]
        ref, keys = self._by_task.get(id(task), (None, [""]))
        if ref is None or ref() is not task:  # absent, or a new task reusing a dead one's id
            raise KeyError(task)
        if len(keys) > 1:
            raise KeyError(f"{task!r} was gathered more than once ({', '.join(keys)}); look it up by key")
        return keys[0]

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
    """The TaskOutput for ``values``, the outcomes of ``tasks`` by position."""
    output = TaskOutput((f"task_{i}", value) for i, value in enumerate(values, 1))
    for i, task in enumerate(tasks, 1):
        by_task = output._by_task  # pyright: ignore[reportPrivateUsage]
        _, keys = by_task.setdefault(id(task), (weakref.ref(task), []))
        keys.append(f"task_{i}")
    return output
