"""Runner: warm workers reused across gathers, closed cleanly."""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import sys
import textwrap
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import taskfuncs
from conftest import Snapshot, run_script
from taskfuncs import add, hello

from syncio import Runner, TaskPicklingError, TaskReturnException, TaskTimeoutError, WorkerDiedError, create_task
from syncio._process import WorkerPool


def test_workers_are_reused_across_gathers(start_method: str) -> None:
    with Runner(mp_context=start_method, max_workers=2) as runner:
        pids: set[object] = set()
        for _ in range(100):
            results = runner.gather(create_task(taskfuncs.pid)(), create_task(taskfuncs.pid)())
            pids.update(results)
        assert len(pids) <= 2  # a hundred gathers, one start-up per worker
        assert os.getpid() not in pids


def test_results_by_position_and_failures(start_method: str) -> None:
    with Runner(mp_context=start_method, max_workers=2) as runner:
        results = runner.gather(
            *[create_task(hello)(i) for i in range(5)], create_task(taskfuncs.raise_value_error)("x")
        )
        assert list(results)[:5] == [f"hello {i + 1}" for i in range(5)]
        failure = results["task_6"]
        assert isinstance(failure, TaskReturnException)
        assert isinstance(failure.exception, ValueError)
        assert dict(runner.gather()) == {}


def test_dead_and_timed_out_workers_are_replaced(start_method: str) -> None:
    with Runner(mp_context=start_method, max_workers=2) as runner:
        died = runner.gather(create_task(taskfuncs.exit_with)(4), create_task(add)(1, 1))["task_1"]
        assert isinstance(died, TaskReturnException)
        assert isinstance(died.exception, WorkerDiedError)
        timed_out = runner.gather(create_task(taskfuncs.sleep_for)(3600), create_task(add)(2, 2), timeout=0.5)
        slow = timed_out["task_1"]
        assert isinstance(slow, TaskReturnException)
        assert isinstance(slow.exception, TaskTimeoutError)
        assert timed_out["task_2"] == 4
        assert list(runner.gather(*[create_task(add)(i, 1) for i in range(4)])) == [1, 2, 3, 4]


def test_tasks_are_pickled_even_under_fork() -> None:
    with Runner(mp_context="fork", max_workers=1) as runner:
        failure = runner.gather(create_task(lambda: 1)())["task_1"]
        assert isinstance(failure, TaskReturnException)
        assert isinstance(failure.exception, TaskPicklingError)


def test_close_stops_every_worker_and_then_refuses_work(start_method: str) -> None:
    before = Snapshot()
    runner = Runner(mp_context=start_method, max_workers=2)
    runner.gather(create_task(add)(1, 2), create_task(add)(3, 4))
    runner.thread_gather(create_task(add)(1, 2))
    assert repr(runner).startswith("<Runner open ")
    runner.close()
    runner.close()  # twice is fine
    assert runner.closed
    before.assert_unchanged()
    with pytest.raises(RuntimeError, match="this Runner is closed"):
        runner.gather(create_task(add)(1, 2))
    with pytest.raises(RuntimeError, match="this Runner is closed"):
        runner.thread_gather(create_task(add)(1, 2))
    with pytest.raises(RuntimeError, match="this Runner is closed"), runner:
        pass
    assert "closed" in repr(runner)


def test_close_from_another_thread_lets_running_gathers_finish(start_method: str, tmp_path: Path) -> None:
    before = Snapshot()
    runner = Runner(mp_context=start_method, max_workers=2)
    outcome: dict[str, object] = {}
    gates = {kind: tmp_path / kind for kind in ("process", "thread")}
    for gate in gates.values():
        os.mkfifo(gate)

    def call(kind: str) -> None:
        tasks = create_task(taskfuncs.wait_for_file)(str(gates[kind])), create_task(add)(1, 2)
        try:
            run = runner.gather if kind == "process" else runner.thread_gather
            outcome[kind] = list(run(*tasks))
        except BaseException as exc:  # recorded for the assertion below
            outcome[kind] = exc

    callers = [threading.Thread(target=call, args=(kind,)) for kind in gates]
    for caller in callers:
        caller.start()
    for gate in gates.values():
        with open(gate, "w") as waiting:  # opens once the task is running, i.e. each gather is
            runner.close()  # returns at once: the gathers running end first, as they would have
            assert runner.closed
            waiting.write("go")
    for caller in callers:
        caller.join(60)
    assert outcome == {"process": ["go", 3], "thread": ["go", 3]}
    before.assert_unchanged()  # their workers stopped as they ended
    with pytest.raises(RuntimeError, match="this Runner is closed"):
        runner.gather(create_task(add)(1, 2))


def test_close_inside_an_as_completed_loop_lets_the_loop_finish(start_method: str) -> None:
    before = Snapshot()
    runner = Runner(mp_context=start_method, max_workers=2)
    process_loop = dict(runner.as_completed(*[create_task(add)(i, 0) for i in range(20)]))
    seen = {}
    for key, value in runner.as_completed(*[create_task(add)(i, 0) for i in range(20)]):
        runner.close()
        seen[key] = value
    assert seen == process_loop
    assert runner.closed
    before.assert_unchanged()
    runner = Runner(max_threads=2)
    seen = {}
    for key, value in runner.thread_as_completed(*[create_task(add)(i, 0) for i in range(20)]):
        runner.close()
        seen[key] = value
    assert seen == process_loop
    before.assert_unchanged()


def test_close_inside_a_thread_task_does_not_wait_for_itself() -> None:
    with Runner(max_threads=2) as runner:
        results = runner.thread_gather(create_task(runner.close)(), create_task(add)(1, 2))
    assert list(results) == [None, 3]
    assert runner.closed


def test_thread_gathers_reuse_threads() -> None:
    gate = threading.Barrier(3, timeout=30)
    with Runner(max_threads=8) as runner:
        first = set(runner.thread_gather(*[create_task(_thread_id_after)(gate) for _ in range(3)]))
        gate.reset()
        second = set(runner.thread_gather(*[create_task(_thread_id_after)(gate) for _ in range(3)]))
        assert len(first) == 3
        assert first == second


def _thread_id_after(barrier: threading.Barrier) -> int:
    barrier.wait()
    return threading.get_ident()


def test_a_runner_cannot_be_pickled() -> None:
    with Runner() as runner, pytest.raises(TypeError, match="a Runner cannot be pickled"):
        pickle.dumps(runner)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="max_workers must be at least 1, got 0"):
        Runner(max_workers=0)
    with pytest.raises(ValueError, match="unknown start method 'nope'"):
        Runner(mp_context="nope")
    with pytest.raises(TypeError, match=r"^forward_logs must be True or False, not int$"):
        Runner(forward_logs=0)  # type: ignore[arg-type]


def test_an_unclosed_runner_does_not_hang_interpreter_exit(tmp_path: Path, start_method: str) -> None:
    script = tmp_path / "unclosed.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import syncio, taskfuncs
            if __name__ == "__main__":
                runner = syncio.Runner(mp_context={start_method!r}, max_workers=2)
                print(list(runner.gather(syncio.create_task(taskfuncs.add)(1, 2))))
            """
        )
    )
    out = run_script(script)
    assert (out.returncode, out.stdout, out.stderr) == (0, "[3]\n", "")


def test_fork_after_thread_gather_does_not_warn(tmp_path: Path) -> None:
    script = tmp_path / "mixed.py"
    script.write_text(
        textwrap.dedent(
            """
            import warnings, syncio, taskfuncs
            warnings.simplefilter("error", DeprecationWarning)
            with syncio.Runner(mp_context="fork", max_workers=2) as runner:
                for n in range(3):
                    assert list(runner.thread_gather(syncio.create_task(taskfuncs.add)(n, 1))) == [n + 1]
                    crash, ok = syncio.create_task(taskfuncs.exit_with)(1), syncio.create_task(taskfuncs.add)(n, n)
                    r = runner.gather(crash, ok)
                    assert r["task_2"] == 2 * n, r
            print("ok")
            """
        )
    )
    out = run_script(script)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")


def _lines_of(function: Any) -> list[int]:
    """The line numbers of ``function``'s body (its code object's lines after the def)."""
    code = function.__code__
    return sorted({line for _, _, line in code.co_lines() if line is not None and line > code.co_firstlineno})


@pytest.mark.skipif(sys.version_info < (3, 10), reason="code.co_lines() is new in Python 3.10")
def test_an_interrupt_while_results_are_read_never_mixes_calls(start_method: str) -> None:
    # Ctrl-C can land on any line of the parent's loop. Raise KeyboardInterrupt at each
    # line of the step that reads a worker's result records in turn: the interrupted call
    # raises it, and the next call on the same Runner gets exactly its own results.
    take = WorkerPool._take  # pyright: ignore[reportPrivateUsage]
    with Runner(mp_context=start_method, max_workers=1) as runner:
        for line in _lines_of(take):
            armed = [True]

            def tracer(frame: FrameType, event: str, arg: object) -> Any:
                if frame.f_code is not take.__code__:
                    return None

                def on_line(frame: FrameType, event: str, arg: object) -> Any:
                    if armed[0] and event == "line" and frame.f_lineno == line:  # noqa: B023
                        armed[0] = False  # noqa: B023
                        raise KeyboardInterrupt
                    return on_line

                return on_line

            sys.settrace(tracer)
            try:
                with pytest.raises(KeyboardInterrupt):  # one task: read in one step, which ends the call
                    runner.gather(create_task(add)(line, 0))
            finally:
                sys.settrace(None)
            assert not armed[0], f"line {line} of _take never ran"
            assert list(runner.gather(*[create_task(add)(-line, i) for i in range(5)])) == [i - line for i in range(5)]


def test_a_worker_that_fails_to_start_does_not_cost_the_runner_a_seat(start_method: str) -> None:
    with Runner(mp_context=start_method, max_workers=2) as runner:
        assert list(runner.gather(create_task(add)(1, 1))) == [2]  # one worker started
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 1, hard))
        try:
            with pytest.raises(OSError, match="Too many open files"):
                runner.gather(create_task(add)(1, 2), create_task(add)(1, 3))  # wants a second one
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for _ in range(2):
            assert list(runner.gather(create_task(add)(1, 2), create_task(add)(1, 3))) == [3, 4]


def test_a_worker_killed_between_calls_has_the_next_calls_task_run_again(start_method: str) -> None:
    # The worker ran task_1 of the first call, then was killed while idle. The next
    # call's task_1 is sent to it before its death is noticed: that task never started,
    # so it runs on a new worker (the first call's "task in hand" must not be mistaken
    # for it).
    with Runner(mp_context=start_method, max_workers=1) as runner:
        worker = runner.gather(create_task(taskfuncs.pid)())["task_1"]
        assert isinstance(worker, int)
        pidfd = os.pidfd_open(worker)
        try:
            os.kill(worker, signal.SIGKILL)
            assert select.select([pidfd], [], [], 30)[0], "the worker did not die"
        finally:
            os.close(pidfd)
        assert list(runner.gather(create_task(add)(1, 2))) == [3]
