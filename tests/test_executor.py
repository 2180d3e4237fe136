"""executor_gather: the gather contract on process pools (each start method), thread pools and Dask.

The Dask cases run against a real ``LocalCluster`` of two worker processes on loopback,
started once for this module; they are skipped, with the reason shown, only where Dask
is not installed (``pip install 'syncio[dask]'``).
"""

from __future__ import annotations

import copyreg
import importlib
import math
import multiprocessing
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import CancelledError, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.thread import BrokenThreadPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, ContextManager, Generator, NamedTuple, Union

import executor_tasks
import pytest
import taskfuncs
from conftest import START_METHODS
from taskfuncs import add, hello
from typing_extensions import Never, assert_type

import syncio._options
from syncio import (
    TaskOutput,
    TaskPicklingError,
    TaskReturnException,
    TaskTimeoutError,
    WorkerDiedError,
    create_task,
    executor_gather,
)

# Forking from a process that runs threads (the ProcessPoolExecutor's own manager
# thread) draws Python 3.12+'s DeprecationWarning; that is the executor's business here.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

DASK_MISSING = "Dask is an optional extra (pip install 'syncio[dask]'); the Dask cases need dask.distributed"
WORKERS = 2

# Each kind is a module-scoped parameter, so pytest runs all the cases of one kind
# together: the Dask cluster is started once, after every process pool has run.
KINDS = [*(f"process-{method}" for method in START_METHODS), "thread", "dask"]


class Engine(NamedTuple):
    kind: str
    make: Callable[[], ContextManager[Executor]]


def _failure(value: object) -> TaskReturnException:
    assert isinstance(value, TaskReturnException), f"expected a failure, got {value!r}"
    return value


def _error(value: object) -> BaseException:
    return _failure(value).exception


@contextmanager
def _dask_cluster() -> Generator[Any, None, None]:
    """A Client of a two-worker LocalCluster on loopback, closed on exit.

    Dask is reached through the modules pytest.importorskip returns (typed ``Any``), so
    the module type-checks whether or not the optional extra is installed.
    """
    # Importing distributed installs tblib's pickling for every exception class there is
    # (copyreg): exceptions that cannot be rebuilt normally then pickle fine, which
    # would change what later tests in this process see. Undo it afterwards.
    reducers = dict(copyreg.dispatch_table)
    try:
        dask = pytest.importorskip("dask", reason=DASK_MISSING)
        distributed = pytest.importorskip("distributed", reason=DASK_MISSING)
        settings = {
            # A task whose worker died is failed with KilledWorker at once, not retried.
            "distributed.scheduler.allowed-failures": 0,
            # One task at a time per worker thread: a dying task's worker holds no other task.
            "distributed.scheduler.worker-saturation": 1.0,
        }
        with (
            dask.config.set(settings),
            distributed.LocalCluster(
                processes=True,
                n_workers=WORKERS,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                # No dashboard, but the scheduler still serves HTTP (metrics, health): on
                # loopback, any free port, not its default 8787, which may be taken.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        # The client leaves one thread behind in this process: distributed's module-level
        # offload pool. Later tests fork, and forking a process that runs threads is unsafe
        # (Python 3.12+ warns), so end that thread; a fresh pool starts its thread lazily.
        utils = importlib.import_module("distributed.utils")
        offload = getattr(utils, "_offload_executor", None)
        if isinstance(offload, ThreadPoolExecutor):
            offload.shutdown(wait=True)
            setattr(utils, "_offload_executor", ThreadPoolExecutor(1, thread_name_prefix="Dask-Offload"))  # noqa: B010
    finally:
        copyreg.dispatch_table.clear()
        copyreg.dispatch_table.update(reducers)


@pytest.fixture(scope="module", params=KINDS)
def engine(request: pytest.FixtureRequest) -> Generator[Engine, None, None]:
    """A factory of executors of one kind: a process pool per start method, threads, Dask."""
    kind: str = request.param
    if kind == "dask":
        with _dask_cluster() as client:

            @contextmanager
            def dask_executor() -> Generator[Executor, None, None]:
                yield client.get_executor()  # never shut down: it would cancel running work

            yield Engine(kind, dask_executor)
        return
    if kind == "thread":

        @contextmanager
        def thread_executor() -> Generator[Executor, None, None]:
            with ThreadPoolExecutor(WORKERS) as executor:
                yield executor

        yield Engine(kind, thread_executor)
        return
    context = multiprocessing.get_context(kind.split("-", 1)[1])

    @contextmanager
    def process_executor() -> Generator[Executor, None, None]:
        with ProcessPoolExecutor(WORKERS, mp_context=context) as executor:
            yield executor

    yield Engine(kind, process_executor)


@pytest.fixture
def executor(engine: Engine) -> Generator[Executor, None, None]:
    with engine.make() as executor:
        yield executor


@pytest.fixture
def kind(engine: Engine) -> str:
    return engine.kind


def test_mixed_results_come_back_in_positional_order(executor: Executor) -> None:
    results = executor_gather(
        executor,
        create_task(hello)(0),
        create_task(taskfuncs.raise_custom)("bad thing", 42),
        create_task(add)(2, 3),
        create_task(taskfuncs.identity)(ValueError("returned")),
        create_task(hello)(4),
    )
    assert isinstance(results, TaskOutput)
    assert list(results.keys()) == ["task_1", "task_2", "task_3", "task_4", "task_5"]
    values = list(results)
    assert values[0] == "hello 1"
    assert values[2] == 5
    assert values[4] == "hello 5"
    raised = _error(values[1])
    assert type(raised) is taskfuncs.CustomError
    assert raised.args == ("bad thing", 42)
    returned = values[3]
    assert type(returned) is ValueError  # an exception a task returns is a result
    assert returned.args == ("returned",)


def test_traceback_text_points_at_the_raising_line(executor: Executor) -> None:
    failure = executor_gather(executor, create_task(taskfuncs.raise_value_error)("broken"))["task_1"]
    assert isinstance(failure, TaskReturnException)
    text = failure.traceback
    assert text.startswith("Traceback (most recent call last):\n")
    assert "in raise_value_error" in text
    assert "raise ValueError(message)  # the raising line the traceback tests look for" in text
    assert text.rstrip().endswith("ValueError: broken")
    assert "run_task" not in text
    assert type(failure.exception) is ValueError


def test_a_dead_worker_fails_only_its_own_slot(executor: Executor, kind: str, tmp_path: Path) -> None:
    if kind == "thread":
        pytest.skip("os._exit in a thread would end the test process itself")
    marks = str(tmp_path)
    results = executor_gather(
        executor,
        create_task(executor_tasks.mark_then_add)(marks, "a", 1, 2),
        create_task(executor_tasks.exit_after_marks)(marks, 2, 3),
        create_task(executor_tasks.mark_then_add)(marks, "b", 3, 4),
        timeout=60,
    )
    assert results["task_1"] == 3
    assert results["task_3"] == 7
    died = _error(results["task_2"])
    assert isinstance(died, WorkerDiedError)
    assert str(died).startswith("task_2 (")
    cause = died.__cause__
    assert cause is not None
    expected = "KilledWorker" if kind == "dask" else "BrokenProcessPool"
    assert type(cause).__name__ == expected
    assert expected in str(died)
    assert expected in _failure(results["task_2"]).traceback


@pytest.mark.parametrize("timeout", [30 * 86400.0, math.inf])
def test_a_deadline_far_off_is_no_error(executor: Executor, timeout: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syncio._options, "_MAX_WAIT", 0.01)  # and waited for in steps
    results = executor_gather(executor, create_task(time.sleep)(0.3), create_task(add)(2, 2), timeout=timeout)
    assert list(results) == [None, 4]


def test_timeout_keeps_finished_results_and_times_out_the_rest(executor: Executor, kind: str, tmp_path: Path) -> None:
    release = tmp_path / "release"
    hanging = [create_task(executor_tasks.wait_for_file)(str(release), 30) for _ in range(6)]
    started = time.monotonic()
    try:
        results = executor_gather(executor, create_task(add)(1, 2), *hanging, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        release.touch()  # let the tasks that could not be cancelled end, so the executor frees up
    assert elapsed < 2.5, f"took {elapsed:.1f}s for a 1s timeout"
    assert results["task_1"] == 3
    messages: list[str] = []
    for index in range(2, 8):
        error = _error(results[f"task_{index}"])
        assert isinstance(error, TaskTimeoutError)
        assert re.match(rf"task_{index} did not (start|finish) before the gather's timeout expired", str(error))
        messages.append(str(error))
    # More hanging tasks than the executor runs or queues at once: some were cancelled unstarted.
    assert any("did not start" in message and "cancelled" in message for message in messages)
    if kind == "thread":  # a thread pool reports exactly which tasks its two threads had taken
        assert ["did not finish" in message for message in messages] == [True, True, False, False, False, False]
        assert "still running and could not be cancelled" in messages[0]


def test_a_thousand_small_tasks(executor: Executor) -> None:
    results = executor_gather(executor, *[create_task(add)(i, i) for i in range(1000)], timeout=50)
    assert len(results) == 1000
    assert list(results) == [2 * i for i in range(1000)]
    assert list(results.keys())[-1] == "task_1000"


def test_no_tasks(executor: Executor) -> None:
    assert dict(executor_gather(executor)) == {}


def test_the_executor_is_not_shut_down(executor: Executor) -> None:
    first = executor_gather(executor, create_task(add)(1, 1))
    second = executor_gather(executor, create_task(add)(2, 2), create_task(add)(1, 1))
    assert list(first) == [2]
    assert list(second) == [4, 2]


def test_identical_tasks_each_run(executor: Executor) -> None:
    # Dask merges identical pure calls; each gathered task must still get its own slot.
    tasks = [create_task(add)(1, 1) for _ in range(3)]
    assert list(executor_gather(executor, *tasks, tasks[0])) == [2, 2, 2, 2]


def test_what_cannot_be_pickled_fails_only_its_slot(executor: Executor, kind: str) -> None:
    results = executor_gather(
        executor,
        create_task(taskfuncs.acquire)(threading.Lock()),  # an argument that does not pickle
        create_task(taskfuncs.return_lock)(),  # a result that does not pickle
        create_task(add)(1, 2),
    )
    assert results["task_3"] == 3
    if kind == "thread":  # run in this process: nothing is pickled
        assert results["task_1"] is True
        assert not isinstance(results["task_2"], TaskReturnException)
        return
    sent = _error(results["task_1"])
    assert isinstance(sent, TaskPicklingError)
    assert str(sent).startswith("task_1 (")
    assert "_thread.lock" in str(sent)
    returned = _error(results["task_2"])
    assert isinstance(returned, TaskPicklingError)
    assert "task_2's result (_thread.lock) could not be pickled" in str(returned)


def test_types_are_inferred(executor: Executor) -> None:
    t_int = create_task(add)(1, 2)
    t_str = create_task(hello)(1)
    results = executor_gather(executor, t_int, t_str, timeout=30)
    assert_type(results, TaskOutput[Union[int, str]])
    assert_type(results[t_int], Union[int, TaskReturnException])
    assert_type(results[t_str], Union[str, TaskReturnException])
    assert_type(results["task_2"], Union[int, str, TaskReturnException])
    value = results[t_int]
    if isinstance(value, TaskReturnException):
        raise AssertionError(value.traceback)
    assert_type(value, int)
    assert value + 1 == 4
    many = executor_gather(executor, *[create_task(add)(i, 1) for i in range(8)])
    assert_type(many, TaskOutput[int])
    assert_type(executor_gather(executor), TaskOutput[Never])
    assert list(many) == list(range(1, 9))


# -- the executor itself fails tasks ---------------------------------------------------------


def test_a_broken_thread_pool_fails_every_slot() -> None:
    pool = ThreadPoolExecutor(1, initializer=taskfuncs.raise_value_error, initargs=("initializer failed",))
    try:
        results = executor_gather(pool, create_task(add)(1, 2), create_task(add)(3, 4), timeout=30)
    finally:
        pool.shutdown()
    for key in ("task_1", "task_2"):
        error = _error(results[key])
        assert isinstance(error, WorkerDiedError)
        assert str(error).startswith(f"{key} (")
        assert isinstance(error.__cause__, BrokenThreadPool)
        assert "BrokenThreadPool" in str(error)


def test_a_shut_down_executor_fails_every_slot() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    results = executor_gather(pool, create_task(add)(1, 2), create_task(hello)(1))
    for key in ("task_1", "task_2"):
        error = _error(results[key])
        assert isinstance(error, WorkerDiedError)
        assert f"{key} (" in str(error)
        assert "could not be submitted" in str(error)
        assert "cannot schedule new futures after shutdown" in str(error)
        assert isinstance(error.__cause__, RuntimeError)


def test_tasks_the_executor_cancels_fail_in_their_slots() -> None:
    pool = ThreadPoolExecutor(1)
    cancel = threading.Timer(0.3, pool.shutdown, kwargs={"wait": False, "cancel_futures": True})
    cancel.start()
    started = time.monotonic()
    try:
        # No timeout: concurrent.futures.wait() alone would never see the cancelled task.
        results = executor_gather(pool, create_task(taskfuncs.sleep_for)(1.0), create_task(add)(1, 2))
    finally:
        cancel.join()
        pool.shutdown()
    assert time.monotonic() - started < 10
    assert results["task_1"] == 1.0
    error = _error(results["task_2"])
    assert isinstance(error, WorkerDiedError)
    assert "task_2 (" in str(error)
    assert "cancelled by its executor" in str(error)
    assert isinstance(error.__cause__, CancelledError)


def test_arguments_are_checked() -> None:
    task = create_task(add)(1, 2)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(TypeError, match=r"takes a concurrent\.futures\.Executor first, not Task \(pass the"):
            executor_gather(task, pool)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"executor_gather\(\) takes tasks made by create_task\(\)"):
            executor_gather(pool, task, add)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="timeout must be a non-negative number of seconds, got -1"):
            executor_gather(pool, task, timeout=-1)
        outcome = executor_gather(pool, task, timeout=0)["task_1"]
        assert outcome == 3 or isinstance(_error(outcome), TaskTimeoutError)


def test_the_dask_example_runs() -> None:
    pytest.importorskip("distributed", reason=DASK_MISSING)
    example = Path(__file__).resolve().parent.parent / "examples" / "dask_cluster.py"
    out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, check=True, timeout=120)
    lines = out.stdout.splitlines()
    assert [line.split(" from ")[0] for line in lines[:3]] == ["task_1: hello 1", "task_2: hello 2", "task_3: hello 3"]
    assert lines[3:] == ["task_4 failed: ZeroDivisionError: division by zero"]
