"""Fault tolerance: dead workers, timeouts, signals, huge payloads, pickling faults, nesting, leaks.

Every process test runs under fork, spawn and forkserver (the `pgather` fixture).
"""

from __future__ import annotations

import multiprocessing.util
import os
import resource
import select
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
import taskfuncs
from conftest import Gather, Snapshot, run_script, script_env, spilled_files
from taskfuncs import Trap, add, hello

import syncio
import syncio._channel
import syncio._process
from syncio import (
    RemoteError,
    Task,
    TaskPicklingError,
    TaskReturnException,
    TaskTimeoutError,
    TaskUnpicklingError,
    WorkerDiedError,
    as_completed,
    create_task,
    thread_gather,
)


def _error(value: object) -> BaseException:
    assert isinstance(value, TaskReturnException), f"expected a failure, got {value!r}"
    return value.exception


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait (on pidfds, no polling) until each pid has exited; return those still alive."""
    alive: list[int] = []
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                alive.append(pid)
        finally:
            os.close(fd)
    return alive


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pids"
    os.mkfifo(path)
    return path


def _read_pids(fifo: Path, count: int) -> list[int]:
    pids: list[int] = []
    while len(pids) < count:
        with open(fifo) as stream:  # blocks until a task opens it to write its pid
            pids += [int(line) for line in stream.read().split()]
    return pids


# -- 1. a worker dies ------------------------------------------------------------------


def test_abort_is_reported_as_sigabrt(pgather: Gather) -> None:
    results = pgather(create_task(taskfuncs.abort)(), create_task(hello)(1))
    error = _error(results["task_1"])
    assert isinstance(error, WorkerDiedError)
    assert (error.exitcode, error.signal_name) == (-6, "SIGABRT")
    assert "killed by SIGABRT (exit code -6) while running it" in str(error)
    assert results["task_2"] == "hello 2"


@pytest.mark.parametrize(("signum", "name"), [(signal.SIGKILL, "SIGKILL"), (signal.SIGTERM, "SIGTERM")])
def test_worker_killed_from_outside(pgather: Gather, fifo: Path, signum: int, name: str) -> None:
    def killer() -> None:
        (pid,) = _read_pids(fifo, 1)
        os.kill(pid, signum)  # as the OOM killer or an operator would

    thread = threading.Thread(target=killer)
    thread.start()
    results = pgather(
        create_task(taskfuncs.report_pid_then_hang)(str(fifo)),
        *[create_task(add)(i, i) for i in range(5)],
        max_workers=2,
    )
    thread.join()
    error = _error(results["task_1"])
    assert isinstance(error, WorkerDiedError)
    assert error.signal_name == name
    assert str(error).endswith(f"killed by {name} (exit code {-signum}) while running it")
    assert list(results)[1:] == [0, 2, 4, 6, 8]


def test_a_worker_killed_while_starting_is_replaced(pgather: Gather, monkeypatch: pytest.MonkeyPatch) -> None:
    # Killed before it read a task (as the OOM killer might): its tasks never ran, so a
    # new worker runs them. Only workers dying while starting again and again would
    # mean that none can start (see test_worker_start_up_failure_is_reported_not_hung).
    killed: list[int] = []
    start = getattr(syncio._process.WorkerPool, "_start_worker")  # noqa: B009 - private

    def start_then_kill_the_first(pool: syncio._process.WorkerPool) -> Any:
        worker = start(pool)
        if not killed:
            pid = worker.process.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return worker

    monkeypatch.setattr(syncio._process.WorkerPool, "_start_worker", start_then_kill_the_first)
    results = pgather(*[create_task(add)(i, 1) for i in range(20)], max_workers=4)
    assert killed
    assert list(results) == list(range(1, 21))


def test_memory_error_under_a_limit_stays_in_its_slot(pgather: Gather) -> None:
    limit = 2 * 1024**3
    results = pgather(create_task(taskfuncs.allocate_under_limit)(limit, 4 * 1024**3), create_task(add)(2, 2))
    assert type(_error(results["task_1"])) is MemoryError
    assert results["task_2"] == 4


def test_worker_killed_while_sending_a_large_result(pgather: Gather, fifo: Path) -> None:
    size = 256 * 1024 * 1024

    def killer() -> None:
        (pid,) = _read_pids(fifo, 1)
        os.kill(pid, signal.SIGKILL)  # during pickling or sending, whichever it is at

    thread = threading.Thread(target=killer)
    thread.start()
    results = pgather(
        create_task(taskfuncs.report_pid_then_return_big)(str(fifo), size),
        create_task(taskfuncs.make_bytes)(32 * 1024 * 1024, 5),
        create_task(add)(1, 1),
        max_workers=2,
        timeout=120,
    )
    thread.join()
    first = results["task_1"]
    if isinstance(first, TaskReturnException):  # almost always: killed before it finished
        assert isinstance(first.exception, WorkerDiedError)
    else:
        assert first == bytes(size)
    assert results["task_2"] == taskfuncs.make_bytes(32 * 1024 * 1024, 5)
    assert results["task_3"] == 2
    assert spilled_files() == []  # nothing left in shared memory by the dead worker


def test_a_process_a_task_leaves_running_survives_its_worker_ending_normally(start_method: str) -> None:
    # Workers are ended with their process group only when they die or time out. The
    # worker here gets task_2 with STOP right behind it and exits by itself; waiting for
    # that before taking task_2's result makes the caller see the exit first, which must
    # leave alone what task_2 started.
    outcomes = as_completed(
        create_task(taskfuncs.pid)(),
        create_task(taskfuncs.start_child_and_return)(),
        mp_context=start_method,
        max_workers=1,
    )
    key, worker = next(outcomes)
    assert key == "task_1"
    assert isinstance(worker, int)
    assert _wait_gone([worker], 30) == []
    key, grandchild = next(outcomes)
    assert key == "task_2"
    assert isinstance(grandchild, int)
    try:
        # Had its group been killed, it would be gone within this half second.
        assert _wait_gone([grandchild], 0.5) == [grandchild], "the task's child was killed"
    finally:
        os.kill(grandchild, signal.SIGKILL)
    assert list(outcomes) == []


def test_next_gather_is_not_poisoned(pgather: Gather) -> None:
    pgather(create_task(taskfuncs.exit_with)(9), create_task(taskfuncs.kill_self)(signal.SIGKILL))
    assert list(pgather(*[create_task(hello)(i) for i in range(4)])) == [f"hello {i + 1}" for i in range(4)]


# -- 2. timeouts -------------------------------------------------------------------------


def test_timeout_keeps_finished_results_and_ends_the_rest(pgather: Gather) -> None:
    started = time.monotonic()
    results = pgather(
        create_task(hello)(0),
        create_task(taskfuncs.sleep_for)(3600),
        create_task(taskfuncs.sleep_for)(3600),
        create_task(hello)(3),
        max_workers=2,
        timeout=1.0,
    )
    elapsed = time.monotonic() - started
    assert results["task_1"] == "hello 1"
    not_finished = [_error(results[key]) for key in ("task_2", "task_3")]
    assert all(isinstance(error, TaskTimeoutError) for error in not_finished)
    assert isinstance(not_finished[0], TimeoutError)
    messages = sorted(str(error) for error in not_finished)
    assert messages[0] == "task_2 did not finish before the gather's timeout expired"
    assert messages[1] in {
        "task_3 did not finish before the gather's timeout expired",
        "task_3 did not start before the gather's timeout expired",
    }
    assert elapsed < 1.0 + 2.5, f"returned {elapsed:.2f}s after the start, deadline 1.0s"
    # task_4 either ran before the sleepers took both workers, or did not start.
    fourth = results["task_4"]
    assert fourth == "hello 4" or isinstance(_error(fourth), TaskTimeoutError)


def test_timeout_kills_workers_that_ignore_sigterm_and_their_children(
    pgather: Gather, tmp_path: Path, no_leaks: Snapshot
) -> None:
    pid_file = tmp_path / "grandchild"
    started = time.monotonic()
    results = pgather(
        create_task(taskfuncs.ignore_sigterm_then_hang)(),
        create_task(taskfuncs.start_child_then_hang)(str(pid_file)),
        max_workers=2,
        timeout=1.5,
    )
    elapsed = time.monotonic() - started
    assert isinstance(_error(results["task_1"]), TaskTimeoutError)
    assert isinstance(_error(results["task_2"]), TaskTimeoutError)
    assert elapsed < 1.5 + 2.5
    grandchild = int(pid_file.read_text())
    assert _wait_gone([grandchild], 5) == [], "a process started by a task outlived the timeout"


def test_timeout_also_bounds_waiting_for_a_thread_a_task_left_running(pgather: Gather, no_leaks: Snapshot) -> None:
    # Workers end like multiprocessing children: after the non-daemon threads a task
    # started. The gather's deadline still holds: the task's result is kept, the worker
    # is stopped by signal.
    started = time.monotonic()
    results = pgather(create_task(taskfuncs.leave_a_thread_running)(300), create_task(add)(1, 2), timeout=1)
    elapsed = time.monotonic() - started
    assert list(results) == ["task done", 3]
    assert elapsed < 1 + 2.5, f"took {elapsed:.1f}s for a 1s timeout"


def _interrupt_in_progress(key: str, done: int, total: int) -> None:
    raise KeyboardInterrupt  # Ctrl-C as the caller handles a finished task


def test_ctrl_c_does_not_wait_for_a_thread_a_task_left_running(pgather: Gather, no_leaks: Snapshot) -> None:
    # Without a deadline a finished gather waits for its workers to exit, threads their
    # tasks left included; once the call is interrupted it must not.
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pgather(create_task(taskfuncs.leave_a_thread_running)(300), progress=_interrupt_in_progress)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"took {elapsed:.1f}s to give up"


def test_thread_timeout_returns_on_time_and_does_not_block_exit(tmp_path: Path) -> None:
    script = tmp_path / "thread_timeout.py"
    script.write_text(
        textwrap.dedent(
            """
            import time, syncio
            started = time.monotonic()
            r = syncio.thread_gather(
                syncio.create_task(time.sleep)(3600), syncio.create_task(abs)(-2), timeout=0.5
            )
            print(type(r["task_1"].exception).__name__, r["task_2"], round(time.monotonic() - started))
            """
        )
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["TaskTimeoutError", "2", "1"] or out.stdout.split() == ["TaskTimeoutError", "2", "0"]
    assert time.monotonic() - started < 30  # the abandoned thread did not keep the interpreter alive


def test_thread_timeout_message() -> None:
    gate = threading.Event()
    results = thread_gather(create_task(gate.wait)(), create_task(add)(1, 1), timeout=0.2)
    gate.set()
    assert str(_error(results["task_1"])) == "task_1 did not finish before the gather's timeout expired"
    assert results["task_2"] == 2


def test_a_forked_task_deadlocked_on_an_inherited_lock_is_ended_by_timeout() -> None:
    lock = threading.Lock()
    with lock:  # held while the worker forks: the child's copy stays locked forever
        results = taskfuncs_gather_fork(create_task(taskfuncs.acquire)(lock), timeout=1.0)
    assert isinstance(_error(results["task_1"]), TaskTimeoutError)


def taskfuncs_gather_fork(*tasks: Any, timeout: float) -> Any:
    from syncio import gather

    return gather(*tasks, mp_context="fork", timeout=timeout)


# -- 3. Ctrl-C and signals to the parent ---------------------------------------------------

_HANGING_SCRIPT = """
import sys, syncio, taskfuncs
if __name__ == "__main__":
    fifo = sys.argv[1]
    syncio.gather(
        *[syncio.create_task(taskfuncs.report_pid_then_hang)(fifo) for _ in range(2)],
        mp_context=sys.argv[2], max_workers=2,
    )
"""


def _start_hanging_parent(tmp_path: Path, fifo: Path, method: str) -> tuple[subprocess.Popen[str], list[int]]:
    script = tmp_path / "parent.py"
    script.write_text(_HANGING_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(fifo), method], stderr=subprocess.PIPE, text=True, env=script_env()
    )
    return parent, _read_pids(fifo, 2)


def test_ctrl_c_stops_workers_and_propagates(tmp_path: Path, fifo: Path, start_method: str) -> None:
    parent, workers = _start_hanging_parent(tmp_path, fifo, start_method)
    parent.send_signal(signal.SIGINT)
    _, stderr = parent.communicate(timeout=30)
    assert parent.returncode != 0
    assert stderr.count("KeyboardInterrupt") == 1, stderr  # one traceback: the parent's
    assert _wait_gone(workers, 5) == []


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_no_worker_outlives_a_killed_parent(tmp_path: Path, fifo: Path, start_method: str, signum: int) -> None:
    parent, workers = _start_hanging_parent(tmp_path, fifo, start_method)
    parent.send_signal(signum)
    parent.communicate(timeout=30)
    assert _wait_gone(workers, 5) == [], "workers outlived their parent"


def _interrupt(*args: object, **kwargs: object) -> NoReturn:
    raise KeyboardInterrupt  # where Ctrl-C's handler could raise it


class _InterruptedSelector(selectors.DefaultSelector):
    """Ctrl-C as a new worker's exit is being watched for."""

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if isinstance(data, tuple) and data[1] == "exit":
            raise KeyboardInterrupt
        return super().register(fileobj, events, data)


@pytest.mark.parametrize(
    "where", ["before the worker starts", "as its process starts", "once it started", "as it is watched"]
)
def test_ctrl_c_while_a_worker_starts_leaves_nothing_behind(
    no_leaks: Snapshot, pgather: Gather, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "before the worker starts":
        monkeypatch.setattr(syncio._process, "enlarge_pipe", _interrupt)
    elif where == "as its process starts":
        monkeypatch.setattr(syncio._process, "_children", _interrupt)  # right after Process.start()
    elif where == "once it started":
        monkeypatch.setattr(syncio._process, "FrameWriter", _interrupt)
    else:
        monkeypatch.setattr(selectors, "DefaultSelector", _InterruptedSelector)
    with pytest.raises(KeyboardInterrupt):  # held until the end: its frames hold the locals
        pgather(create_task(add)(1, 1), create_task(add)(2, 2))
    no_leaks.assert_unchanged()  # no garbage collection needed, no zombie
    monkeypatch.undo()
    assert list(pgather(create_task(add)(1, 1), create_task(add)(2, 2))) == [2, 4]


def test_ctrl_c_inside_multiprocessing_starting_a_worker_leaves_nothing_behind(
    no_leaks: Snapshot, pgather: Gather, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real SIGINT, handled in the middle of multiprocessing's own start-up code (its
    # Popen registers a Finalize once the child exists): raised there, the child's pid
    # would be lost with the half-made Popen, leaving a zombie and stray descriptors.
    real_finalize = multiprocessing.util.Finalize

    def interrupted_finalize(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C would, at this moment
        return real_finalize(*args, **kwargs)

    monkeypatch.setattr(multiprocessing.util, "Finalize", interrupted_finalize)
    with pytest.raises(KeyboardInterrupt):
        pgather(create_task(add)(1, 1), create_task(add)(2, 2))
    monkeypatch.undo()
    no_leaks.assert_unchanged()
    assert list(pgather(create_task(add)(1, 1), create_task(add)(2, 2))) == [2, 4]


def test_a_closed_but_remembered_descriptor_never_closes_a_new_workers_pipe() -> None:
    # Forked workers close the parent's pipe ends they inherit, from a list. Ctrl-C at the
    # wrong moment could close one without taking it off the list; its number, reused
    # by the next worker's own pipes, must not be closed in that worker.
    stale = [fd for _ in range(8) for fd in os.pipe()]
    for fd in stale:
        syncio._channel.remember_parent_fd(fd)
        os.close(fd)
    try:
        results = syncio.gather(*[create_task(add)(i, 1) for i in range(4)], mp_context="fork", max_workers=2)
    finally:
        for fd in stale:
            syncio._channel.forget_parent_fd(fd)
    assert list(results) == [1, 2, 3, 4]


def test_a_task_that_forks_and_returns_in_both_processes(pgather: Gather, no_leaks: Snapshot) -> None:
    # The copy returning 0 must not go on as a second worker (taking tasks, writing
    # results): it exits as it returns, and the task's result is the worker's.
    results = pgather(
        create_task(taskfuncs.fork_and_return)(), *[create_task(add)(i, 1) for i in range(6)], max_workers=2
    )
    forked = results["task_1"]
    assert isinstance(forked, int)
    assert forked > 0
    assert list(results)[1:] == [1, 2, 3, 4, 5, 6]


def test_a_forked_copy_returning_from_a_task_ends_as_python_would(
    pgather: Gather, start_method: str, capfd: pytest.CaptureFixture[str]
) -> None:
    results = pgather(*[create_task(taskfuncs.fork_child_ending)(how) for how in ("return", "exit 3", "raise")])
    assert list(results) == [0, 3, 1]
    if start_method != "forkserver":  # there, workers write to the fork server's stderr, not this capture
        assert "ValueError: the forked child failed" in capfd.readouterr().err


# -- 4. huge payloads ----------------------------------------------------------------------


def test_huge_arguments_and_results(pgather: Gather, capsys: pytest.CaptureFixture[str]) -> None:
    size = 256 * 1024 * 1024
    arguments = [taskfuncs.make_bytes(size, fill) for fill in (1, 2, 3)]
    tasks: list[Task[[], object]] = [create_task(taskfuncs.byte_sum)(data) for data in arguments]
    tasks += [create_task(taskfuncs.make_bytes)(size, fill) for fill in (4, 5)]
    results = pgather(*tasks, max_workers=2, timeout=300)
    assert list(results)[:3] == [taskfuncs.byte_sum(data) for data in arguments]
    assert results["task_4"] == taskfuncs.make_bytes(size, 4)
    assert results["task_5"] == taskfuncs.make_bytes(size, 5)
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    with capsys.disabled():
        print(
            f"\n  peak RSS after 3 x 256 MiB arguments and 2 x 256 MiB results: parent {parent} MiB, "
            f"largest child {children} MiB",
            end="",
        )


# -- 5. pickling faults --------------------------------------------------------------------


def test_task_fails_to_unpickle_in_the_worker(pgather: Gather, start_method: str) -> None:
    trap = Trap("unpickle-error", os.getpid())
    results = pgather(create_task(taskfuncs.describe)(trap), create_task(add)(1, 2))
    assert results["task_2"] == 3
    if start_method == "fork":
        assert results["task_1"] == "Trap"  # inherited, never unpickled
        return
    error = _error(results["task_1"])
    assert isinstance(error, TaskUnpicklingError)
    assert str(error).startswith("task_1 could not be unpickled in the worker process (ValueError: trap: error)")


@pytest.mark.parametrize(("mode", "exitcode"), [("unpickle-exit", 7), ("unpickle-crash", -11)])
def test_worker_dies_while_unpickling_a_task(pgather: Gather, start_method: str, mode: str, exitcode: int) -> None:
    trap = Trap(mode, os.getpid())
    results = pgather(create_task(taskfuncs.describe)(trap), create_task(add)(1, 2), max_workers=1)
    assert results["task_2"] == 3
    if start_method == "fork":
        assert results["task_1"] == "Trap"
        return
    error = _error(results["task_1"])
    assert isinstance(error, WorkerDiedError)
    assert error.exitcode == exitcode
    assert str(error).endswith("while unpickling the task")


def test_result_fails_to_pickle_in_the_worker(pgather: Gather) -> None:
    results = pgather(create_task(taskfuncs.make_trap)("pickle-error", os.getpid()), create_task(add)(1, 2))
    error = _error(results["task_1"])
    assert isinstance(error, TaskPicklingError)
    assert str(error).startswith("task_1's result (taskfuncs.Trap) could not be pickled to send it back")
    assert "ValueError: trap: error" in str(error)
    assert results["task_2"] == 3


@pytest.mark.parametrize(("mode", "exitcode"), [("pickle-exit", 7), ("pickle-crash", -11)])
def test_worker_dies_while_pickling_a_result(pgather: Gather, mode: str, exitcode: int) -> None:
    results = pgather(create_task(taskfuncs.make_trap)(mode, os.getpid()), create_task(add)(1, 2), max_workers=1)
    error = _error(results["task_1"])
    assert isinstance(error, WorkerDiedError)
    assert error.exitcode == exitcode
    assert str(error).endswith("while pickling its result")
    assert results["task_2"] == 3


@pytest.mark.parametrize(("mode", "cause"), [("parent-error", "ValueError"), ("parent-systemexit", "SystemExit")])
def test_result_fails_to_unpickle_in_the_parent(pgather: Gather, mode: str, cause: str) -> None:
    results = pgather(create_task(taskfuncs.make_trap)(mode, os.getpid()), create_task(add)(1, 2))
    error = _error(results["task_1"])
    assert isinstance(error, TaskUnpicklingError)
    assert str(error).startswith(f"task_1's result could not be unpickled in the parent process ({cause}")
    assert results["task_2"] == 3


# -- 6. exceptions -------------------------------------------------------------------------


def test_exception_with_unpicklable_attribute_arrives_as_stand_in(pgather: Gather) -> None:
    failure = pgather(create_task(taskfuncs.raise_unpicklable)())["task_1"]
    error = _error(failure)
    assert isinstance(error, RemoteError)
    assert error.type_name == "taskfuncs.UnpicklableAttributeError"
    assert error.message == "has a lock"
    assert error.reason.startswith("the exception could not be pickled in the worker: ")
    assert isinstance(failure, TaskReturnException)
    assert 'raise UnpicklableAttributeError("has a lock")' in failure.traceback


# -- 7. nesting ----------------------------------------------------------------------------


def test_a_task_may_gather_in_processes(pgather: Gather, start_method: str) -> None:
    results = pgather(create_task(taskfuncs.nested_gather)(start_method, [1, 2, 3]), create_task(add)(1, 1))
    assert results["task_1"] == [2, 4, 6]
    assert results["task_2"] == 2


def test_a_task_may_gather_in_threads(pgather: Gather) -> None:
    assert pgather(create_task(taskfuncs.nested_thread_gather)([1, 2]))["task_1"] == [2, 3]


def test_a_task_may_use_a_pool_and_a_process(pgather: Gather, start_method: str) -> None:
    results = pgather(
        create_task(taskfuncs.nested_pool)(start_method), create_task(taskfuncs.nested_process)(start_method)
    )
    assert list(results) == [[1, 2, 3], 0]


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_gathers_from_several_threads_get_their_own_results(start_method: str) -> None:
    # Forking from a multi-threaded parent draws Python's own warning (3.12+); it is
    # the user's threads that cause it here, which the docs explain.
    tasks = [create_task(taskfuncs.nested_gather)(start_method, [n, n + 1]) for n in range(4)]
    results = thread_gather(*tasks)
    assert list(results) == [[2 * n, 2 * n + 2] for n in range(4)]


# -- 8. fork safety ------------------------------------------------------------------------


def test_fork_never_warns_because_of_syncio(tmp_path: Path) -> None:
    script = tmp_path / "fork_warning.py"
    script.write_text(
        textwrap.dedent(
            """
            import warnings, syncio, taskfuncs
            warnings.simplefilter("error", DeprecationWarning)
            for _ in range(10):
                r = syncio.gather(
                    syncio.create_task(taskfuncs.exit_with)(3),  # a worker replaced mid-gather
                    *[syncio.create_task(taskfuncs.add)(i, i) for i in range(6)],
                    mp_context="fork", max_workers=2,
                )
                assert list(r)[1:] == [0, 2, 4, 6, 8, 10], r
            print("ok")
            """
        )
    )
    out = run_script(script)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ok\n"
    assert out.stderr == ""


# -- 9. no leaks ---------------------------------------------------------------------------

LEAK_ROUNDS = int(os.environ.get("SYNCIO_LEAK_ROUNDS", "200"))


def _mixed_round(pgather: Gather, round_number: int) -> None:
    kind = round_number % 4
    if kind == 0:
        assert list(pgather(create_task(add)(1, 2), create_task(hello)(0))) == [3, "hello 1"]
    elif kind == 1:
        assert isinstance(_error(pgather(create_task(taskfuncs.raise_value_error)("x"))["task_1"]), ValueError)
    elif kind == 2:
        assert isinstance(_error(pgather(create_task(taskfuncs.exit_with)(2))["task_1"]), WorkerDiedError)
    else:
        result = pgather(create_task(taskfuncs.sleep_for)(60), timeout=0.05)["task_1"]
        assert isinstance(_error(result), TaskTimeoutError)


def test_repeated_gathers_leak_nothing(pgather: Gather, no_leaks: Snapshot) -> None:
    threads = threading.active_count()
    for round_number in range(LEAK_ROUNDS):
        _mixed_round(pgather, round_number)
    assert threading.active_count() == threads
    no_leaks.assert_unchanged()


def test_no_resource_tracker_warning_at_exit(tmp_path: Path, start_method: str) -> None:
    script = tmp_path / "exit_clean.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import syncio, taskfuncs
            if __name__ == "__main__":
                for n in range(5):
                    syncio.gather(
                        syncio.create_task(taskfuncs.add)(n, n), syncio.create_task(taskfuncs.exit_with)(1),
                        syncio.create_task(taskfuncs.sleep_for)(60), mp_context={start_method!r}, timeout=0.2,
                    )
            """
        )
    )
    out = run_script(script)
    assert out.returncode == 0, out.stderr
    assert "resource_tracker" not in out.stderr
    assert "leaked" not in out.stderr
