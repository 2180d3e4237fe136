"""Tasks: an immutable callable-plus-arguments, built by :func:`create_task`."""

from __future__ import annotations

import functools
import reprlib
import sys
import types
import typing
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Generic, Mapping, Optional, TypeVar, cast, overload

from ._compat import ParamSpec, TypeVarTuple, Unpack

__all__ = ["Task", "create_task"]

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_NO_ARGS: tuple[object, ...] = ()
_NO_KWARGS: Mapping[str, object] = MappingProxyType({})
# The keyword arguments of every task that has none: one shared dict, never changed
# (tasks are immutable), instead of an empty dict per task.
_NO_KEYWORDS: dict[str, object] = {}
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40


def func_name(func: object) -> str:
    """A short readable name for a callable: ``add``, ``Class.method``, ``partial(add, 1)``."""
    if isinstance(func, functools.partial):
        inner = cast("functools.partial[object]", func)
        parts = [func_name(inner.func), *map(_repr.repr, inner.args)]
        parts += [f"{k}={_repr.repr(v)}" for k, v in inner.keywords.items()]
        return f"partial({', '.join(parts)})"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return name if isinstance(name, str) else _repr.repr(func)


class Task(Generic[P, R_co]):
    """A function together with the arguments it will be called with.

    ``Task[P, R]`` still needs the arguments described by ``P``; ``Task[[], R]`` is
    ready to run and is what :func:`~syncio.gather` accepts. Tasks are immutable:
    calling one returns a new task with the extra arguments appended, like
    :func:`functools.partial`, and never changes the original; ``func``, ``args`` and
    ``kwargs`` are read-only, and a task takes no other attributes.
    """

    __slots__ = ("__weakref__", "_args", "_func", "_kwargs")

    _func: Callable[..., R_co]
    _args: tuple[object, ...]
    _kwargs: dict[str, object]

    def __init__(
        self,
        func: Callable[..., R_co],
        args: tuple[object, ...] = (),
        kwargs: Optional[Mapping[str, object]] = None,
    ) -> None:
        _check_callable(func)
        self._func = func
        self._args = _checked_args(args)
        self._kwargs = _checked_kwargs(kwargs)

    @property
    def func(self) -> Callable[..., R_co]:
        """The callable the task runs."""
        return self._func

    @property
    def args(self) -> tuple[object, ...]:
        """Positional arguments supplied so far."""
        return self._args

    @property
    def kwargs(self) -> Mapping[str, object]:
        """Keyword arguments supplied so far (a read-only view)."""
        return MappingProxyType(self._kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Task[[], R_co]:
        """Return a new task with ``args`` appended and ``kwargs`` merged in."""
        # The function was checked when this task was made, and *args/**kwargs are a
        # tuple and a str-keyed dict: skip the checks (this is the hot path for
        # building thousands of tasks).
        task: Task[[], R_co] = _new(Task)
        task._func = self._func
        task._args = self._args + args if self._args else args
        task._kwargs = {**self._kwargs, **kwargs} if self._kwargs else kwargs or _NO_KEYWORDS
        return task

    def run(self) -> R_co:
        """Call the function with the stored arguments in this thread and return its result."""
        return self._func(*self._args, **self._kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Task, (self._func, self._args, self._kwargs))

    if not TYPE_CHECKING and sys.version_info < (3, 10):
        # Python 3.9's Generic rejects a parameter list, so `Task[[int], str]` (in an
        # annotation evaluated at run time) would raise; build the alias as 3.10 does.
        def __class_getitem__(cls, params):
            if isinstance(params, tuple) and len(params) == 2 and isinstance(params[0], list):
                return typing._GenericAlias(cls, (tuple(params[0]), params[1]))
            if isinstance(params, tuple) and len(params) == 2 and params[0] is Ellipsis:
                return typing._GenericAlias(cls, params)
            return super().__class_getitem__(params)

    def __repr__(self) -> str:
        parts = [_repr.repr(a) for a in self._args]
        parts += [f"{k}={_repr.repr(v)}" for k, v in self._kwargs.items()]
        return f"<Task {func_name(self._func)}({', '.join(parts)})>"


# Makes a Task without running __init__'s checks, for the hot paths that need none.
_new: Any = object.__new__


def _checked_args(args: object) -> tuple[object, ...]:
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, not {type(args).__name__}")
    return cast("tuple[object, ...]", args)


def _checked_kwargs(kwargs: object) -> dict[str, object]:
    if kwargs is None or kwargs is _NO_KWARGS:
        return _NO_KEYWORDS
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"kwargs must be a mapping, not {type(kwargs).__name__}")
    checked: dict[str, object] = {}
    for key, value in cast("Mapping[object, object]", kwargs).items():
        if not isinstance(key, str):
            raise TypeError(f"kwargs keys must be strings, not {type(key).__name__}")
        checked[key] = value
    return checked


_ASYNC_FLAGS = 0x0080 | 0x0200  # inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR (inspect loads slowly)
_NEVER_ASYNC = (types.BuiltinFunctionType, types.BuiltinMethodType, type)


def _plainly_sync(func: object) -> bool:
    """True for a plain function that is not async: the common case, told apart fast."""
    return (
        type(func) is types.FunctionType
        and not func.__code__.co_flags & _ASYNC_FLAGS
        and "_is_coroutine_marker" not in func.__dict__
    )


def _check_callable(func: object) -> None:
    # Fast paths for the common cases, as create_task runs once per task built.
    if _plainly_sync(func) or isinstance(func, _NEVER_ASYNC):
        return
    if not callable(func):
        raise TypeError(f"create_task() needs a callable, got {type(func).__name__}: {_repr.repr(func)}")
    # An instance whose class has an async __call__ is as async as an `async def`.
    candidates = (func, getattr(type(func), "__call__", None))  # noqa: B004
    import inspect

    checks = (inspect.iscoroutinefunction, inspect.isasyncgenfunction)
    if any(is_async(candidate) for candidate in candidates for is_async in checks):
        raise TypeError(
            f"{func_name(func)} is an async function; syncio runs synchronous callables (await it with asyncio instead)"
        )


@overload
def create_task(func: Callable[P, T], /) -> Task[P, T]: ...
@overload
def create_task(func: Callable[[Unpack[Ts]], T], /, args: tuple[Unpack[Ts]]) -> Task[[], T]: ...
@overload
def create_task(func: Callable[..., T], /, args: tuple[object, ...], kwargs: Mapping[str, object]) -> Task[[], T]: ...
@overload
def create_task(func: Callable[..., T], /, *, kwargs: Mapping[str, object]) -> Task[[], T]: ...
def create_task(
    func: Callable[..., T],
    /,
    args: tuple[object, ...] = _NO_ARGS,
    kwargs: Mapping[str, object] = _NO_KWARGS,
) -> Task[Any, T]:
    """Build a :class:`Task`.

    ``create_task(f)`` returns a task still waiting for ``f``'s arguments: call it,
    ``create_task(f)(1, b=2)``, to supply them (checked by type checkers exactly like a
    call of ``f``). ``create_task(f, args=(1,))`` checks the positional arguments too;
    with ``kwargs=`` the arguments cannot be checked statically, so prefer the call form.

    Raises:
        TypeError: ``func`` is not callable or is an ``async`` function, ``args`` is
            not a tuple, or ``kwargs`` is not a mapping with string keys.
    """
    # By identity: an object that only compares equal to () must still be rejected below.
    if args is _NO_ARGS and kwargs is _NO_KWARGS and _plainly_sync(func):
        # The common create_task(f): nothing to check and no arguments to copy.
        task: Task[Any, T] = _new(Task)
        task._func = func  # pyright: ignore[reportPrivateUsage]
        task._args = ()  # pyright: ignore[reportPrivateUsage]
        task._kwargs = _NO_KEYWORDS  # pyright: ignore[reportPrivateUsage]
        return task
    return Task(func, args, kwargs)
