from __future__ import annotations

import copy
import io
import pickle
from typing import cast

import pytest
from taskfuncs import add, hello

from syncio import TaskOutput, TaskReturnException, create_task, is_exception, thread_gather
from syncio._output import OutputDraft
from syncio._progress import Outcomes, collect


def _failure(message: str) -> TaskReturnException:
    try:
        raise ValueError(message)
    except ValueError as exc:
        return TaskReturnException(exc)


def test_keys_follow_positions_and_iteration_yields_values() -> None:
    tasks = [create_task(hello)(i) for i in range(12)]
    results = thread_gather(*tasks)
    assert list(results.keys()) == [f"task_{i}" for i in range(1, 13)]
    assert list(results) == [f"hello {i + 1}" for i in range(12)]
    assert list(reversed(results)) == [f"hello {i + 1}" for i in reversed(range(12))]
    assert dict(results) == {f"task_{i + 1}": f"hello {i + 1}" for i in range(12)}
    assert isinstance(cast(object, results), dict)  # a dict at run time; the checkers see a typed view
    assert len(results) == 12


def test_lookup_by_task_object() -> None:
    first, second = create_task(add)(1, 2), create_task(add)(3, 4)
    results = thread_gather(first, second)
    assert results[first] == 3
    assert results[second] == 7
    assert first in results
    assert "task_2" in results
    assert create_task(add)(1, 2) not in results  # equal content, different task
    assert results.get(second) == 7
    assert results.get("task_9", "missing") == "missing"
    with pytest.raises(KeyError):
        results[create_task(add)(1, 2)]


def test_a_task_gathered_twice_must_be_looked_up_by_key() -> None:
    task = create_task(add)(2, 2)
    results = thread_gather(task, task)
    assert list(results) == [4, 4]
    with pytest.raises(KeyError, match=r"gathered more than once \(task_1, task_2\)"):
        results[task]


def test_lookup_by_task_after_some_tasks_are_gone() -> None:
    tasks = [create_task(add)(i, 1) for i in range(50)]
    results = thread_gather(*tasks)
    kept = tasks[7]
    del tasks  # the result set holds the tasks weakly: all but `kept` are freed
    newcomers = [create_task(add)(i, 1) for i in range(50)]  # may reuse the dead tasks' ids
    assert results[kept] == 8
    assert all(task not in results for task in newcomers)
    assert list(results) == list(range(1, 51))


def test_repr_and_str_are_readable() -> None:
    results = thread_gather(create_task(hello)(0))
    assert repr(results) == "TaskOutput({'task_1': 'hello 1'})"
    assert str(results) == repr(results)


def test_empty_gather_gives_an_empty_output() -> None:
    results = thread_gather()
    assert isinstance(results, TaskOutput)
    assert len(results) == 0
    assert list(results) == []


def test_output_pickles_and_copies_keeping_keys_and_values() -> None:
    results = thread_gather(create_task(hello)(0), create_task(hello)(1))
    clones: list[TaskOutput[str]] = [pickle.loads(pickle.dumps(results)), copy.copy(results), results.copy()]
    for clone in clones:
        assert isinstance(clone, TaskOutput)
        assert dict(clone) == dict(results)
        assert list(clone) == ["hello 1", "hello 2"]


def test_task_return_exception_is_falsy_empty_and_readable() -> None:
    failure = _failure("bad input")
    assert not failure
    assert bool(failure) is False
    assert len(failure) == 0
    assert repr(failure) == "TaskReturnException(ValueError('bad input'))"
    assert isinstance(failure.exception, ValueError)
    assert is_exception(failure)
    assert not is_exception(ValueError("a returned exception is a result"))
    out = io.StringIO()
    failure.print_exception(out)
    text = out.getvalue()
    assert text.startswith("Traceback (most recent call last):")
    assert "raise ValueError(message)" in text
    assert text.endswith("ValueError: bad input\n")


def test_print_exception_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    _failure("to stderr").print_exception()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "ValueError: to stderr" in captured.err


def test_output_is_built_before_the_stream_winds_down(monkeypatch: pytest.MonkeyPatch) -> None:
    # A one-shot pool's workers exit while the output is built: collect must not first
    # wait for the stream (whose end joins them) to finish.
    events: list[str] = []

    def stream() -> Outcomes:
        yield [(1, "second")]
        yield [(0, "first")]
        events.append("stream ended")

    def build(draft: OutputDraft, values: list[object]) -> TaskOutput[object]:
        events.append(f"built {values}")
        return real_build(draft, values)

    real_build = OutputDraft.build
    monkeypatch.setattr(OutputDraft, "build", build)
    tasks = [create_task(hello)(1), create_task(hello)(2)]
    results = collect(tasks, stream(), None)
    assert events == ["built ['first', 'second']", "stream ended"]
    assert list(results) == ["first", "second"]
