"""The contract both gathers share, run under each start method and in threads."""

from __future__ import annotations

import io
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
import taskfuncs
from conftest import Gather, Snapshot
from taskfuncs import CustomError, add, hello

import syncio._options
from syncio import TaskOutput, TaskReturnException, TaskTimeoutError, as_completed, create_task, gather, thread_gather


def test_results_come_back_by_position(any_gather: Gather) -> None:
    results = any_gather(*[create_task(hello)(i) for i in range(3)])
    assert isinstance(results, TaskOutput)
    assert dict(results) == {"task_1": "hello 1", "task_2": "hello 2", "task_3": "hello 3"}
    assert list(results) == ["hello 1", "hello 2", "hello 3"]


def test_both_create_task_forms_run(any_gather: Gather) -> None:
    results = any_gather(create_task(add)(1, 2), create_task(add, args=(3,), kwargs={"b": 4}), create_task(os.getpid))
    assert results["task_1"] == 3
    assert results["task_2"] == 7
    assert isinstance(results["task_3"], int)


def test_reverse_finish_order_keeps_positional_order(any_gather: Gather, tmp_path: Path) -> None:
    last = 4
    for i in range(2, last + 1):
        os.mkfifo(tmp_path / f"fifo_{i}")
    tasks = [create_task(taskfuncs.wait_for_fifo_then_signal)(i, str(tmp_path), last) for i in range(1, last + 1)]
    results = any_gather(*tasks, max_workers=last, timeout=60)
    finish_order = [int(line) for line in (tmp_path / "order").read_text().split()]
    assert finish_order == [4, 3, 2, 1]
    assert list(results.keys()) == ["task_1", "task_2", "task_3", "task_4"]
    assert list(results) == [1, 2, 3, 4]


def test_a_raising_task_fills_only_its_own_slot(any_gather: Gather) -> None:
    results = any_gather(
        create_task(hello)(0),
        create_task(taskfuncs.raise_custom)("bad thing", 42),
        create_task(hello)(2),
    )
    assert results["task_1"] == "hello 1"
    assert results["task_3"] == "hello 3"
    failure = results["task_2"]
    assert isinstance(failure, TaskReturnException)
    assert type(failure.exception) is CustomError
    assert failure.exception.args == ("bad thing", 42)
    assert not failure
    assert len(failure) == 0
    assert list(results)[1] is failure


def test_traceback_text_points_at_the_raising_line(any_gather: Gather) -> None:
    failure = any_gather(create_task(taskfuncs.raise_value_error)("broken"))["task_1"]
    assert isinstance(failure, TaskReturnException)
    out = io.StringIO()
    failure.print_exception(out)
    text = out.getvalue()
    assert text.startswith("Traceback (most recent call last):\n")
    assert "taskfuncs.py" in text
    assert "in raise_value_error" in text
    assert "raise ValueError(message)  # the raising line the traceback tests look for" in text
    assert text.rstrip().endswith("ValueError: broken")
    assert "run_task" not in text  # syncio's own frames are trimmed


def test_chained_exception_keeps_its_cause_text(any_gather: Gather) -> None:
    failure = any_gather(create_task(taskfuncs.raise_chained)())["task_1"]
    assert isinstance(failure, TaskReturnException)
    assert isinstance(failure.exception, RuntimeError)
    assert "KeyError: 'inner cause'" in failure.traceback
    assert "The above exception was the direct cause of the following exception" in failure.traceback


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_base_exceptions_are_contained_in_the_slot(any_gather: Gather, exc_type: type[BaseException]) -> None:
    results = any_gather(create_task(taskfuncs.raise_type)(exc_type), create_task(add)(1, 1))
    failure = results["task_1"]
    assert isinstance(failure, TaskReturnException)
    assert type(failure.exception) is exc_type
    assert results["task_2"] == 2


def test_a_returned_exception_is_a_result(any_gather: Gather) -> None:
    result = any_gather(create_task(taskfuncs.identity)(ValueError("returned")))["task_1"]
    assert type(result) is ValueError
    assert result.args == ("returned",)


def test_wrong_arguments_fail_in_the_slot(any_gather: Gather) -> None:
    failure = any_gather(create_task(add, args=(1,)))["task_1"]  # type: ignore[arg-type]
    assert isinstance(failure, TaskReturnException)
    assert isinstance(failure.exception, TypeError)
    assert "missing 1 required positional argument: 'b'" in str(failure.exception)


def test_many_tasks_with_few_workers(any_gather: Gather) -> None:
    results = any_gather(*[create_task(add)(i, i) for i in range(300)], max_workers=2)
    assert list(results) == [2 * i for i in range(300)]


def test_no_tasks(any_gather: Gather) -> None:
    results = any_gather()
    assert dict(results) == {}


@pytest.mark.parametrize("gather_fn", [gather, thread_gather])
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ({"max_workers": 0}, ValueError, "max_workers must be at least 1, got 0"),
        ({"max_workers": 1.5}, TypeError, "max_workers must be an int or None, not float"),
        ({"max_workers": True}, TypeError, "max_workers must be an int or None, not bool"),
        ({"timeout": -1}, ValueError, "timeout must be a non-negative number of seconds, got -1"),
        ({"timeout": float("nan")}, ValueError, "timeout must be a non-negative number of seconds, got nan"),
        ({"timeout": "1"}, TypeError, "timeout must be a number of seconds or None, not str"),
    ],
)
def test_bad_options_are_rejected(gather_fn: Any, bad: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        gather_fn(create_task(add)(1, 2), **bad)


@pytest.mark.parametrize("gather_fn", [gather, as_completed])
def test_forward_logs_must_be_a_bool(gather_fn: Any) -> None:
    with pytest.raises(TypeError, match=r"^forward_logs must be True or False, not str$"):
        gather_fn(create_task(add)(1, 2), forward_logs="no")


@pytest.mark.parametrize(("gather_fn", "name"), [(gather, "gather"), (thread_gather, "thread_gather")])
def test_non_tasks_are_rejected(gather_fn: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"{name}\(\) takes tasks made by create_task\(\); argument 2 is function "):
        gather_fn(create_task(add)(1, 2), add)
    with pytest.raises(TypeError, match=r"argument 1 is int$"):
        gather_fn(5)


def test_thread_gather_runs_tasks_concurrently() -> None:
    barrier = threading.Barrier(20, timeout=30)
    results = thread_gather(*[create_task(barrier.wait)() for _ in range(20)])
    assert sorted(cast("list[int]", list(results))) == list(range(20))  # every party arrived: all ran at once


@pytest.mark.parametrize("timeout", [30 * 86400.0, 1e12, math.inf])
def test_a_deadline_far_off_is_no_error(any_gather: Gather, timeout: float) -> None:
    # A single wait longer than ~24.8 days overflows select() and lock waits.
    results = any_gather(create_task(add)(1, 1), create_task(add)(2, 2), timeout=timeout)
    assert list(results) == [2, 4]


def test_a_deadline_further_off_than_one_wait_is_waited_for_in_steps(
    any_gather: Gather, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syncio._options, "_MAX_WAIT", 0.01)  # each wait ends long before the task does
    results = any_gather(create_task(time.sleep)(0.3), create_task(add)(2, 2), timeout=60)
    assert list(results) == [None, 4]


def test_a_zero_timeout_starts_nothing(any_gather: Gather) -> None:
    before = Snapshot()
    results = any_gather(create_task(add)(1, 1), create_task(add)(2, 2), timeout=0)
    for key in ("task_1", "task_2"):
        failure = results[key]
        assert isinstance(failure, TaskReturnException)
        assert isinstance(failure.exception, TaskTimeoutError)
    before.assert_unchanged()
