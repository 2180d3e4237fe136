"""as_completed, progress reporting and worker logging, under every start method and in threads."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import taskfuncs
from conftest import START_METHODS, Snapshot
from taskfuncs import add, hello

import syncio
from syncio import Runner, TaskReturnException, TaskTimeoutError, as_completed, create_task, thread_as_completed

AsCompleted = Callable[..., Iterator[tuple[str, Any]]]


@pytest.fixture(params=[*START_METHODS, "thread"])
def any_as_completed(request: pytest.FixtureRequest) -> AsCompleted:
    """as_completed under each start method, then thread_as_completed."""
    if request.param == "thread":
        return thread_as_completed
    return functools.partial(as_completed, mp_context=request.param)


def test_as_completed_yields_in_completion_order(any_as_completed: AsCompleted, tmp_path: Path) -> None:
    # The loop itself decides the order: each result it sees releases the task before.
    gates = [tmp_path / "gate_1", tmp_path / "gate_2"]
    for gate in gates:
        os.mkfifo(gate)
    tasks = [create_task(taskfuncs.wait_for_file)(str(gate)) for gate in gates]
    order: list[tuple[str, Any]] = []
    for key, value in any_as_completed(*tasks, create_task(add)(1, 2), max_workers=3, timeout=60):
        order.append((key, value))
        if key in ("task_3", "task_2"):
            release = gates[1] if key == "task_3" else gates[0]
            release.write_text(key)
    assert order == [("task_3", 3), ("task_2", "task_3"), ("task_1", "task_2")]


def test_as_completed_includes_failures(any_as_completed: AsCompleted) -> None:
    pairs = dict(any_as_completed(create_task(taskfuncs.raise_value_error)("bad"), create_task(add)(2, 3)))
    assert pairs["task_2"] == 5
    failure = pairs["task_1"]
    assert isinstance(failure, TaskReturnException)
    assert isinstance(failure.exception, ValueError)


def test_as_completed_timeout_comes_last(any_as_completed: AsCompleted) -> None:
    pairs = list(any_as_completed(create_task(taskfuncs.sleep_for)(3600), create_task(add)(1, 1), timeout=3))
    assert pairs[0] == ("task_2", 2)
    key, failure = pairs[1]
    assert key == "task_1"
    assert isinstance(failure, TaskReturnException)
    assert isinstance(failure.exception, TaskTimeoutError)


def test_breaking_out_early_stops_the_workers(start_method: str) -> None:
    before = Snapshot()
    tasks = [create_task(add)(1, 1), *[create_task(taskfuncs.sleep_for)(3600) for _ in range(3)]]
    for key, value in as_completed(*tasks, mp_context=start_method, max_workers=2):
        assert (key, value) == ("task_1", 2)
        break
    before.assert_unchanged()  # the sleeping workers were stopped, pipes closed


def test_an_exception_in_the_loop_stops_the_workers(start_method: str) -> None:
    before = Snapshot()
    results = as_completed(create_task(add)(1, 1), create_task(taskfuncs.sleep_for)(3600), mp_context=start_method)
    with pytest.raises(KeyError), contextlib.closing(results):
        _fail_on_first(results)
    before.assert_unchanged()


def _fail_on_first(results: Iterator[tuple[str, Any]]) -> None:
    for _ in results:
        raise KeyError("caller's own error")


def test_runner_as_completed_reuses_workers(start_method: str) -> None:
    with Runner(mp_context=start_method, max_workers=2) as runner:
        first = dict(runner.as_completed(create_task(taskfuncs.pid)(), create_task(taskfuncs.pid)()))
        second = dict(runner.thread_as_completed(create_task(add)(1, 2)))
        third = dict(runner.as_completed(create_task(taskfuncs.pid)()))
        assert set(third.values()) <= set(first.values())
        assert second == {"task_1": 3}


def test_progress_callback_sees_every_task(start_method: str) -> None:
    seen: list[tuple[str, int, int]] = []
    results = syncio.gather(
        *[create_task(hello)(i) for i in range(5)],
        mp_context=start_method,
        progress=lambda key, done, total: seen.append((key, done, total)),
    )
    assert len(results) == 5
    assert sorted(key for key, _, _ in seen) == [f"task_{i}" for i in range(1, 6)]
    assert [done for _, done, _ in seen] == [1, 2, 3, 4, 5]
    assert {total for _, _, total in seen} == {5}


def test_progress_callback_for_threads_and_runner() -> None:
    seen: list[str] = []
    syncio.thread_gather(create_task(add)(1, 1), create_task(add)(2, 2), progress=lambda k, d, t: seen.append(k))
    with Runner() as runner:
        runner.thread_gather(create_task(add)(3, 3), progress=lambda k, d, t: seen.append(k))
    assert sorted(seen[:2]) == ["task_1", "task_2"]
    assert seen[2] == "task_1"


def test_a_failing_progress_callback_stops_the_gather(start_method: str) -> None:
    before = Snapshot()

    def explode(key: str, done: int, total: int) -> None:
        raise RuntimeError(f"callback failed at {key}")

    with pytest.raises(RuntimeError, match="callback failed at task_"):
        syncio.gather(
            create_task(add)(1, 1), create_task(taskfuncs.sleep_for)(3600), mp_context=start_method, progress=explode
        )
    before.assert_unchanged()


def test_progress_true_shows_a_tqdm_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm", reason="tqdm is an optional dependency of progress=True")
    syncio.thread_gather(*[create_task(add)(i, i) for i in range(3)], progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "0it" not in err  # one bar, for these tasks; checking for tqdm draws nothing


def test_progress_true_without_tqdm_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    with pytest.raises(ImportError, match=r"progress=True shows a tqdm progress bar, and tqdm is not installed"):
        syncio.gather(create_task(add)(1, 1), progress=True)


def test_bad_progress_is_rejected() -> None:
    with pytest.raises(TypeError, match="progress must be True, False, None or a callable, not int"):
        syncio.thread_gather(create_task(add)(1, 1), progress=3)  # type: ignore[call-overload]


def test_nothing_is_printed_by_default(capfd: pytest.CaptureFixture[str], start_method: str) -> None:
    syncio.gather(create_task(add)(1, 1), mp_context=start_method)
    syncio.thread_gather(create_task(add)(1, 1))
    assert capfd.readouterr() == ("", "")


# -- worker logging -------------------------------------------------------------------------


@pytest.fixture
def worker_records() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("syncio.tests.worker")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_worker_log_records_reach_the_parent_once(start_method: str, worker_records: list[logging.LogRecord]) -> None:
    results = syncio.gather(*[create_task(taskfuncs.log_and_return)(n) for n in range(3)], mp_context=start_method)
    assert list(results) == [0, 1, 2]
    messages = sorted((r.getMessage(), getattr(r, "syncio_task", None)) for r in worker_records)
    # one record per task: no duplicate under fork, and DEBUG is below the level set here
    assert messages == [("working on 0", "task_1"), ("working on 1", "task_2"), ("working on 2", "task_3")]
    assert all(record.process != os.getpid() for record in worker_records)


def test_a_record_with_an_unpicklable_extra_field_still_arrives(
    start_method: str, worker_records: list[logging.LogRecord]
) -> None:
    results = syncio.gather(create_task(taskfuncs.log_with_unpicklable_extra)(5), mp_context=start_method)
    assert list(results) == [5]
    (record,) = worker_records
    assert record.getMessage() == "holding 5"
    assert record.n == 5  # type: ignore[attr-defined]  # picklable fields as they were
    assert str(record.lock).startswith("<unlocked _thread.lock object at ")  # type: ignore[attr-defined]


def test_a_record_that_fails_to_unpickle_costs_no_result(
    start_method: str, worker_records: list[logging.LogRecord], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="syncio"):
        results = syncio.gather(
            create_task(taskfuncs.log_with_extra_that_fails_to_unpickle)(4),
            create_task(add)(1, 1),
            mp_context=start_method,
        )
    assert list(results) == [4, 2]
    assert worker_records == []
    (warning,) = [r for r in caplog.records if r.name == "syncio"]
    assert warning.getMessage().startswith("a record logged in a worker could not be unpickled here (TypeError: ")


def test_worker_logging_can_be_turned_off(start_method: str, worker_records: list[logging.LogRecord]) -> None:
    syncio.gather(create_task(taskfuncs.log_and_return)(1), mp_context=start_method, forward_logs=False)
    assert [r for r in worker_records if r.process != os.getpid()] == []


def test_runner_forwards_logs(start_method: str, worker_records: list[logging.LogRecord]) -> None:
    with Runner(mp_context=start_method, max_workers=1) as runner:
        runner.gather(create_task(taskfuncs.log_and_return)(7))
    assert [r.getMessage() for r in worker_records] == ["working on 7"]


def test_syncio_logs_nothing_by_default(caplog: pytest.LogCaptureFixture, start_method: str) -> None:
    with caplog.at_level(logging.INFO, logger="syncio"):
        syncio.gather(create_task(taskfuncs.exit_with)(1), create_task(add)(1, 1), mp_context=start_method)
    assert [r for r in caplog.records if r.name.startswith("syncio.") and not r.name.startswith("syncio.tests")] == []
    with caplog.at_level(logging.DEBUG, logger="syncio._process"):
        syncio.gather(create_task(taskfuncs.exit_with)(1), mp_context=start_method)
    messages = [r.getMessage() for r in caplog.records if r.name == "syncio._process"]
    assert any(m.startswith("started worker process ") for m in messages)
    assert any(m.endswith("exited with code 1 with 1 task(s) outstanding") for m in messages)
