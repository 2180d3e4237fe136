"""gather and thread_gather keep each task's type; TaskOutput is typed with the values."""

from __future__ import annotations

from typing import Generator, ItemsView, Iterator, KeysView, Union, ValuesView

from typing_extensions import Literal, Never, assert_type

from syncio import (
    ProgressCallback,
    Runner,
    Task,
    TaskOutput,
    TaskReturnException,
    as_completed,
    create_task,
    gather,
    is_exception,
    thread_as_completed,
    thread_gather,
)


def to_int(x: str) -> int:
    return int(x)


def to_str(x: int) -> str:
    return str(x)


def to_bytes(x: int) -> bytes:
    return bytes(x)


def to_float(x: int) -> float:
    return float(x)


t_int = create_task(to_int)("1")
t_str = create_task(to_str)(1)
t_bytes = create_task(to_bytes)(1)
t_float = create_task(to_float)(1)
t_none = create_task(print)("x")

# Per-arity overloads keep every position's type.
assert_type(gather(), TaskOutput[Never])
assert_type(gather(t_int), TaskOutput[int])
assert_type(gather(t_int, t_str), TaskOutput[Union[int, str]])
assert_type(gather(t_int, t_str, t_bytes), TaskOutput[Union[int, str, bytes]])
assert_type(gather(t_int, t_str, t_bytes, t_none), TaskOutput[Union[int, str, bytes, None]])
assert_type(gather(t_int, t_int, t_int, t_int, t_int, t_str), TaskOutput[Union[int, str]])
assert_type(thread_gather(t_int, t_str), TaskOutput[Union[int, str]])
assert_type(gather(t_int, t_str, mp_context="spawn", max_workers=2, timeout=1.5), TaskOutput[Union[int, str]])
assert_type(thread_gather(t_bytes, max_workers=8, timeout=None), TaskOutput[bytes])

# More than six tasks: the homogeneous *tasks fallback.
assert_type(gather(t_int, t_int, t_int, t_int, t_int, t_int, t_int), TaskOutput[int])
many = [create_task(to_int)(str(i)) for i in range(100)]
assert_type(many, list[Task[[], int]])
assert_type(gather(*many), TaskOutput[int])
assert_type(thread_gather(*many), TaskOutput[int])
# Positional types still come back through lookup by task.
seven = gather(t_int, t_str, t_bytes, t_float, t_int, t_str, t_bytes)
assert_type(seven[t_float], Union[float, TaskReturnException])

results = gather(t_int, t_str)
# Lookup by task gives exactly that task's type; by key, the union.
assert_type(results[t_int], Union[int, TaskReturnException])
assert_type(results[t_str], Union[str, TaskReturnException])
assert_type(results["task_1"], Union[int, str, TaskReturnException])
assert_type(results.get("task_1"), Union[int, str, TaskReturnException, None])
assert_type(results.get("task_9", 0.5), Union[int, str, TaskReturnException, float])
assert_type(results.get(t_str), Union[str, TaskReturnException, None])

# Iteration and views are typed with the values, not the keys.
assert_type(iter(results), Iterator[Union[int, str, TaskReturnException]])
assert_type(list(results), list[Union[int, str, TaskReturnException]])
assert_type(dict(results), dict[str, Union[int, str, TaskReturnException]])
assert_type(results.keys(), KeysView[str])
assert_type(results.values(), ValuesView[Union[int, str, TaskReturnException]])
assert_type(results.items(), ItemsView[str, Union[int, str, TaskReturnException]])
assert_type(len(results), int)
for value in results:
    assert_type(value, Union[int, str, TaskReturnException])
for key, item in results.items():
    assert_type(key, str)
    assert_type(item, Union[int, str, TaskReturnException])

# Narrowing: isinstance, is_exception (TypeIs) and truthiness.
slot = results[t_int]
if isinstance(slot, TaskReturnException):
    assert_type(slot, TaskReturnException)
    assert_type(slot.exception, BaseException)
    assert_type(slot.traceback, str)
else:
    assert_type(slot, int)
if is_exception(slot):
    assert_type(slot, TaskReturnException)
else:
    assert_type(slot, int)
if slot:
    assert_type(slot, int)
failure = TaskReturnException(ValueError("x"))
assert_type(bool(failure), bool)
assert_type(failure.__bool__(), Literal[False])

# A Runner's gathers are typed like the module functions.
with Runner(mp_context="forkserver", max_workers=2) as runner:
    assert_type(runner, Runner)
    assert_type(runner.gather(t_int, t_str), TaskOutput[Union[int, str]])
    assert_type(runner.gather(*many, timeout=1.0), TaskOutput[int])
    assert_type(runner.thread_gather(t_bytes), TaskOutput[bytes])
    assert_type(runner.gather(), TaskOutput[Never])
    assert_type(runner.closed, bool)

# Results as they finish: (key, outcome) pairs, typed like gather.
for key, outcome in as_completed(t_int, t_str):
    assert_type(key, str)
    assert_type(outcome, Union[int, str, TaskReturnException])
assert_type(thread_as_completed(*many), Generator[tuple[str, Union[int, TaskReturnException]], None, None])
with Runner() as warm:
    assert_type(dict(warm.as_completed(t_bytes)), dict[str, Union[bytes, TaskReturnException]])
    assert_type(
        list(warm.thread_as_completed(t_int, t_float)), list[tuple[str, Union[int, float, TaskReturnException]]]
    )


# Progress callbacks receive (key, done, total).
def on_progress(key: str, done: int, total: int) -> None: ...


assert_type(gather(t_int, progress=on_progress), TaskOutput[int])
assert_type(thread_gather(t_int, progress=True), TaskOutput[int])
callback: ProgressCallback = on_progress
