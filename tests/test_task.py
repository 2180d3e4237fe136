from __future__ import annotations

import functools
import pickle
from typing import Any, cast

import pytest
from taskfuncs import add, hello

from syncio import Task, create_task


def test_both_forms_build_the_same_task() -> None:
    called = create_task(add)(1, b=2)
    given = create_task(add, args=(1,), kwargs={"b": 2})
    for task in (called, given):
        assert task.func is add
        assert task.args == (1,)
        assert dict(task.kwargs) == {"b": 2}
        assert task.run() == 3


def test_calling_a_task_returns_a_new_one_and_leaves_the_old_alone() -> None:
    empty = create_task(add)
    half: Any = cast(Any, empty)(1)  # partial application is not typed; runtime allows it
    full = half(2)
    assert (empty.args, half.args, full.args) == ((), (1,), (1, 2))
    assert empty is not half
    assert half is not full
    assert full.run() == 3


def test_tasks_are_immutable() -> None:
    task = create_task(hello)(1)
    attempts: list[tuple[str, object]] = [("func", add), ("args", (2,)), ("kwargs", {}), ("extra", 1)]
    for name, value in attempts:
        with pytest.raises(AttributeError):
            setattr(task, name, value)  # read-only properties, and no attributes beyond them
        with pytest.raises(AttributeError):
            delattr(task, name)
    assert (task.func, task.args, dict(task.kwargs)) == (hello, (1,), {})
    with pytest.raises(TypeError):
        task.kwargs["x"] = 1  # type: ignore[index]
    kwargs = {"b": 2}
    given = create_task(add, args=(1,), kwargs=kwargs)
    kwargs["b"] = 100
    assert given.run() == 3


def test_repr_names_the_function_and_arguments() -> None:
    assert repr(create_task(add)(1, b=2)) == "<Task add(1, b=2)>"
    assert repr(create_task(hello)) == "<Task hello()>"
    assert repr(create_task(functools.partial(add, 1))(2)) == "<Task partial(add, 1)(2)>"
    long = repr(create_task(len)("x" * 10_000))
    assert len(long) < 100


def test_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"create_task\(\) needs a callable, got int: 42"):
        create_task(42)  # type: ignore[call-overload]


async def _coro() -> int:
    return 1


async def _agen() -> Any:
    yield 1


class _AsyncCallable:
    async def __call__(self) -> int:
        return 1


@pytest.mark.parametrize("func", [_coro, functools.partial(_coro), _agen, _AsyncCallable()])
def test_async_callables_are_a_type_error(func: Any) -> None:
    with pytest.raises(TypeError, match="is an async function; syncio runs synchronous callables"):
        create_task(func)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ([1, 2], None, "args must be a tuple, not list"),
        ("ab", None, "args must be a tuple, not str"),
        ((), [("b", 1)], "kwargs must be a mapping, not list"),
        ((), {1: 2}, "kwargs keys must be strings, not int"),
    ],
)
def test_bad_arguments_are_a_type_error(args: Any, kwargs: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        create_task(add, args, kwargs)


class _EqualToAnything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_args_that_only_compare_equal_to_no_args_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="args must be a tuple, not _EqualToAnything"):
        create_task(hello, cast(Any, _EqualToAnything()))


def test_tasks_pickle_and_compare_by_content_after_a_round_trip() -> None:
    task = create_task(add)(1, b=2)
    copy = pickle.loads(pickle.dumps(task))
    assert isinstance(copy, Task)
    assert (copy.func, copy.args, dict(copy.kwargs)) == (add, (1,), {"b": 2})
