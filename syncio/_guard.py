"""``is_exception``: a type guard that separates failures from results."""

from __future__ import annotations

from typing_extensions import TypeIs

from ._outcome import TaskReturnException

__all__ = ["is_exception"]


def is_exception(result: object) -> TypeIs[TaskReturnException]:
    """Return True when ``result`` is a failed task's :class:`TaskReturnException`."""
    return isinstance(result, TaskReturnException)
