"""Run a task and wrap its outcome: the one definition both gathers share."""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Callable, Literal, Optional, TextIO, TypeVar, Union, final

from ._errors import TaskTimeoutError

if TYPE_CHECKING:
    from typing import Protocol

    T_co = TypeVar("T_co", covariant=True)

    class Runnable(Protocol[T_co]):
        def run(self) -> T_co: ...


__all__ = ["Call", "TaskReturnException", "key_of", "keys", "run_task", "timed_out"]

T = TypeVar("T")


@final
class TaskReturnException:
    """Stands in a task's result slot when the task raised.

    ``exception`` is the exception the task raised (for a process task, its copy
    unpickled in the parent, or a :class:`~syncio.RemoteError` stand-in when it could
    not be copied). ``traceback`` is the formatted traceback from where the task raised,
    captured in the worker. The object is falsy and has ``len() == 0`` so that
    ``if result:`` skips failures.
    """

    __slots__ = ("exception", "traceback")

    exception: BaseException
    traceback: str

    def __init__(self, exception: BaseException, traceback: Optional[str] = None) -> None:
        self.exception = exception
        self.traceback = _format(exception) if traceback is None else traceback

    def print_exception(self, file: Optional[TextIO] = None) -> None:
        """Print the task's traceback (the worker's, for process tasks) to ``file`` or stderr."""
        print(self.traceback, end="", file=sys.stderr if file is None else file)

    def __bool__(self) -> Literal[False]:
        return False

    def __len__(self) -> Literal[0]:
        return 0

    def __repr__(self) -> str:
        return f"TaskReturnException({self.exception!r})"


def _format(exception: BaseException) -> str:
    return "".join(traceback.format_exception(type(exception), exception, exception.__traceback__))


class Call:
    """A task's function and arguments as a spawn or forkserver worker receives them.

    ``run()`` calls the function, as :meth:`Task.run <syncio.Task.run>` does. Sending
    this instead of a pickled :class:`~syncio.Task` spares each such worker loading the
    typing machinery ``Task`` is built on.
    """

    __slots__ = ("args", "func", "kwargs")

    def __init__(self, func: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs

    def run(self) -> object:
        return self.func(*self.args, **self.kwargs)


def run_task(task: Runnable[T]) -> Union[tuple[Literal[True], T], tuple[Literal[False], TaskReturnException]]:
    """Run ``task`` (a :class:`~syncio.Task` or a :class:`Call`); return ``(True, result)`` or ``(False, failure)``.

    Every ``BaseException`` is contained, ``SystemExit`` and ``KeyboardInterrupt``
    raised by the task included: they belong to the task, not to the gather. The
    traceback is formatted here, where it is still live, starting at the task's
    function rather than at this wrapper.
    """
    try:
        return True, task.run()
    except BaseException as exc:
        tb = exc.__traceback__
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next.tb_next or tb.tb_next  # skip run_task and Task.run (or Call.run) frames
        exc.__traceback__ = tb
        return False, TaskReturnException(exc)


_KEY_PREFIX = "task_"  # then the 1-based position


def key_of(index: int) -> str:
    """The output key of the task at 0-based ``index``: ``task_1`` for the first."""
    return f"{_KEY_PREFIX}{index + 1}"


def keys(stop: int, start: int = 0) -> list[str]:
    """The output keys of the tasks at 0-based positions ``start`` to ``stop`` (as ``key_of`` makes them, in bulk)."""
    prefix = _KEY_PREFIX
    return [f"{prefix}{position}" for position in range(start + 1, stop + 1)]


def timed_out(index: int, started: bool) -> TaskReturnException:
    """The slot of a task the gather's deadline cut off, before or after it started."""
    what = "did not finish" if started else "did not start"
    return TaskReturnException(TaskTimeoutError(f"{key_of(index)} {what} before the gather's timeout expired"))
