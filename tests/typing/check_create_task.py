"""create_task: both forms infer the task's return type; the call form checks arguments."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence, TypeVar

from typing_extensions import assert_type

from syncio import Task, TaskOutput, create_task, gather

T = TypeVar("T")


def add(a: int, b: int) -> int:
    return a + b


def greet(name: str, *, loud: bool = False) -> str:
    return name.upper() if loud else name


def scale(x: float, factor: float = 2.0) -> float:
    return x * factor


def total(*values: int) -> int:
    return sum(values)


def needs_key(a: int, *, key: str) -> bytes:
    return key.encode() * a


def nothing() -> None:
    return None


def first(items: Sequence[T]) -> T:
    return items[0]


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def norm(self, power: int) -> float:
        return float(abs(self.x) ** power + abs(self.y) ** power)

    @classmethod
    def origin(cls) -> Point:
        return cls(0, 0)

    @staticmethod
    def parse(text: str) -> Point:
        x, y = text.split(",")
        return Point(int(x), int(y))


# The call form: the task is generic over the parameters still to supply.
assert_type(create_task(add)(1, 2), Task[[], int])
assert_type(create_task(add)(1, b=2), Task[[], int])
assert_type(create_task(greet)("x", loud=True), Task[[], str])
assert_type(create_task(scale)(1.5), Task[[], float])
assert_type(create_task(total)(1, 2, 3), Task[[], int])
assert_type(create_task(total)(), Task[[], int])
assert_type(create_task(needs_key)(2, key="k"), Task[[], bytes])
assert_type(create_task(nothing)(), Task[[], None])

# The args= form checks positional arguments too: defaults and *args are accepted.
assert_type(create_task(add, args=(1, 2)), Task[[], int])
assert_type(create_task(add, (1, 2)), Task[[], int])
assert_type(create_task(scale, args=(1.5,)), Task[[], float])
assert_type(create_task(scale, args=(1.5, 3.0)), Task[[], float])
assert_type(create_task(total, args=(1, 2, 3, 4)), Task[[], int])
assert_type(create_task(nothing, args=()), Task[[], None])

# With kwargs= only the return type is inferred (documented limit).
assert_type(create_task(needs_key, args=(2,), kwargs={"key": "k"}), Task[[], bytes])
assert_type(create_task(greet, kwargs={"name": "x"}), Task[[], str])

# Methods, classes, builtins, generic functions, functools.partial, lambdas.
point = Point(3, 4)
assert_type(create_task(point.norm)(2), Task[[], float])
assert_type(create_task(Point)(1, 2), Task[[], Point])
assert_type(create_task(Point.origin)(), Task[[], Point])
assert_type(create_task(Point.parse)("1,2"), Task[[], Point])
assert_type(create_task(len)("abc"), Task[[], int])
assert_type(create_task(str.upper)("abc"), Task[[], str])
assert_type(create_task(first)([1, 2, 3]), Task[[], int])
assert_type(create_task(first)(["a"]), Task[[], str])
assert_type(create_task(functools.partial(add, 1))(2), Task[[], int])
assert_type(create_task(lambda: 1.5)(), Task[[], float])


# A function whose parameters all have defaults makes a ready task as it is.
def defaults(a: int = 1) -> int:
    return a


ready_as_is: Task[[], int] = create_task(defaults)
assert_type(gather(ready_as_is), TaskOutput[int])

# Task attributes.
task = create_task(add)(1, 2)
assert_type(task.run(), int)
assert_type(task.func, Callable[..., int])
assert_type(task.args, tuple[object, ...])
assert_type(task(), Task[[], int])  # calling a ready task with nothing is allowed

# Covariance: a task of a subtype is a task of its supertype.
as_object: Task[[], object] = create_task(add)(1, 2)
as_any: Task[[], Any] = create_task(add)(1, 2)
