"""Crossing the process boundary: pickling tasks and outcomes, with errors that say what failed.

Each step that can fail has its own message: the task failed to pickle in the parent,
failed to unpickle in the worker, its result failed to pickle in the worker, or failed
to unpickle in the parent. A failure only ever affects its own task's slot.
"""

from __future__ import annotations

import pickle
from sys import getsizeof
from typing import TYPE_CHECKING

from ._channel import FAILURE, RESULT
from ._errors import RemoteError, RemoteTraceback, TaskPicklingError, TaskUnpicklingError
from ._outcome import Call, TaskReturnException, key_of

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["MAX_RECORD", "RESULT_PROTOCOL", "decode_outcome", "encode_outcome", "pickle_task", "unpickle_task"]

_FIX = (
    "Define the function and the classes of its arguments at module level (lambdas, "
    "local functions and closures do not pickle) and pass picklable arguments, or use "
    "thread_gather() or mp_context='fork'"
)


_PROTOCOL = pickle.HIGHEST_PROTOCOL
# Results are pickled with protocol 3 where it can, so that a batch of them can be
# unpickled in one call (see _results.py), and with the newest protocol otherwise: when
# protocol 3 cannot pickle them (objects over 4 GiB, a PickleBuffer), which then costs
# a second attempt, and when the object itself is over MAX_RECORD (by sys.getsizeof:
# a large bytes, bytearray or array, whose record would not be joined anyway), as
# protocol 3 pickles a bytearray or an array through a bytes copy of its data.
RESULT_PROTOCOL = 3
MAX_RECORD = 64 << 10  # larger outcomes never go into a result area (see _results.py)
# Types protocol 3 pickles as well as any, whatever their size: their size is not
# asked (getsizeof costs a method call per result).
_PLAIN_TYPES = frozenset((int, float, bool, complex, type(None)))


def _dumps(obj: object) -> bytes:
    return pickle.dumps(obj, _PROTOCOL)


def _type_name(obj: object) -> str:
    cls = type(obj)
    module = "__main__" if cls.__module__ == "__mp_main__" else cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<{_type_name(obj)}: str() failed>"


def _what_failed(task: Task[..., object]) -> str:
    from ._task import func_name  # here: workers that never fail to pickle need not load _task

    parts: list[tuple[str, object]] = [(f"its function {func_name(task.func)}", task.func)]
    parts += [(f"positional argument {i} ({_type_name(a)})", a) for i, a in enumerate(task.args)]
    parts += [(f"keyword argument {k!r} ({_type_name(v)})", v) for k, v in task.kwargs.items()]
    for what, obj in parts:
        try:
            _dumps(obj)
        except Exception:
            return what
    return "the task"


def pickle_task(task: Task[..., object], index: int, method: str) -> bytes:
    """Pickle ``task`` to send it to a worker; raise :class:`TaskPicklingError` saying why not.

    What is pickled is ``(function, args, kwargs)``, which the worker runs as a
    :class:`~syncio._outcome.Call`.
    """
    try:
        return _dumps((task.func, task.args, dict(task.kwargs)))
    except Exception as exc:
        raise TaskPicklingError(
            f"{key_of(index)} could not be sent to a {method!r} worker process: {_what_failed(task)} "
            f"failed to pickle ({type(exc).__name__}: {_safe_str(exc)}). {_FIX}."
        ) from exc


def unpickle_task(payload: bytes | bytearray, index: int) -> Call:
    """Rebuild a task in the worker; raise :class:`TaskUnpicklingError` saying why not."""
    try:
        func, args, kwargs = pickle.loads(payload)
    except BaseException as exc:
        raise TaskUnpicklingError(
            f"{key_of(index)} could not be unpickled in the worker process "
            f"({type(exc).__name__}: {_safe_str(exc)}); is its function or an argument's "
            "class importable in the worker?"
        ) from exc
    return Call(func, args, kwargs)


def encode_outcome(index: int, ok: bool, value: object) -> tuple[int, bytes]:
    """Worker side: the frame kind and payload for the outcome of the task at ``index``."""
    if ok:
        try:
            if type(value) in _PLAIN_TYPES or getsizeof(value) <= MAX_RECORD:
                return RESULT, pickle.dumps(value, RESULT_PROTOCOL)  # not _dumps(): once per task
        except BaseException:  # even __sizeof__ may raise: the newest protocol has the last word
            pass
        try:
            return RESULT, pickle.dumps(value, _PROTOCOL)
        except BaseException as exc:
            error = TaskPicklingError(
                f"{key_of(index)}'s result ({_type_name(value)}) could not be pickled to send it back "
                f"from the worker process ({type(exc).__name__}: {_safe_str(exc)}). "
                "Return a picklable value, or use thread_gather()."
            )
            error.__cause__ = exc
            value = TaskReturnException(error)
    assert isinstance(value, TaskReturnException)
    raised = value.exception
    raised_bytes: bytes | None = None
    reason = ""
    try:
        raised_bytes = _dumps(raised)
    except BaseException as err:
        reason = f"the exception could not be pickled in the worker: {type(err).__name__}: {_safe_str(err)}"
    record = (raised_bytes, _type_name(raised), _safe_str(raised), value.traceback, reason)
    return FAILURE, _dumps(record)


def decode_spilled(path: bytes | bytearray, index: int) -> object:
    """Parent side: a large result the worker left in shared memory (see _spill.py)."""
    from ._spill import load

    try:
        return load(path)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a bad __setstate__ may raise anything
        return _result_unpickling_failed(index, exc)


def _result_unpickling_failed(index: int, exc: BaseException) -> TaskReturnException:
    error = TaskUnpicklingError(
        f"{key_of(index)}'s result could not be unpickled in the parent process "
        f"({type(exc).__name__}: {_safe_str(exc)}); is its class importable here?"
    )
    error.__cause__ = exc
    return TaskReturnException(error)


def decode_outcome(kind: int, payload: bytes | bytearray | memoryview, index: int) -> object:
    """Parent side: the result of the task at ``index``, or a :class:`TaskReturnException` for its failure."""
    if kind == RESULT:
        try:
            return pickle.loads(payload)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a bad __setstate__ may raise anything
            return _result_unpickling_failed(index, exc)
    exc_bytes, type_name, message, traceback, reason = pickle.loads(payload)
    exception: object = None
    if exc_bytes is not None:
        try:
            exception = pickle.loads(exc_bytes)
        except KeyboardInterrupt:
            raise
        except BaseException as err:
            reason = f"the exception could not be unpickled in the parent: {type(err).__name__}: {_safe_str(err)}"
    if not isinstance(exception, BaseException):
        exception = RemoteError(type_name, message, reason or "the exception did not unpickle as an exception")
    if exception.__cause__ is None:
        exception.__cause__ = RemoteTraceback(traceback)
    return TaskReturnException(exception, traceback)
