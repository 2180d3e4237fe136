"""What only the process gather has: pickling, start methods, worker processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import taskfuncs
from conftest import Gather, Snapshot, run_script, script_env, spilled_files
from taskfuncs import add, hello

import syncio
from syncio import (
    RemoteError,
    RemoteTraceback,
    TaskPicklingError,
    TaskReturnException,
    WorkerDiedError,
    create_task,
    gather,
)


def _failure(value: object) -> BaseException:
    assert isinstance(value, TaskReturnException), value
    return value.exception


def test_each_task_runs_in_a_child_process(pgather: Gather) -> None:
    results = pgather(*[create_task(taskfuncs.pid)() for _ in range(4)], max_workers=4)
    pids = list(results)
    assert os.getpid() not in pids
    assert len(set(pids)) == 4  # no more tasks than workers: a worker each


def test_workers_are_bounded_by_max_workers(pgather: Gather) -> None:
    results = pgather(*[create_task(taskfuncs.pid)() for _ in range(50)], max_workers=2)
    assert len(set(results)) <= 2


def test_lambda_fails_only_its_slot_unless_forked(pgather: Gather, start_method: str) -> None:
    results = pgather(create_task(hello)(0), create_task(lambda: 5)(), create_task(hello)(2))
    assert results["task_1"] == "hello 1"
    assert results["task_3"] == "hello 3"
    if start_method == "fork":
        assert results["task_2"] == 5  # inherited by the forked worker, never pickled
        return
    error = _failure(results["task_2"])
    assert isinstance(error, TaskPicklingError)
    message = str(error)
    assert message.startswith(f"task_2 could not be sent to a '{start_method}' worker process: ")
    assert "its function test_lambda_fails_only_its_slot_unless_forked.<locals>.<lambda> failed to pickle" in message
    assert "Define the function and the classes of its arguments at module level" in message


def test_unpicklable_argument_is_named(pgather: Gather, start_method: str) -> None:
    lock = threading.Lock()
    results = pgather(create_task(taskfuncs.identity)(lock), create_task(add)(2, 3))
    assert results["task_2"] == 5
    error = _failure(results["task_1"])
    assert isinstance(error, TaskPicklingError)
    if start_method == "fork":
        # The forked worker inherits the argument; it is the returned lock that fails.
        assert str(error).startswith("task_1's result (_thread.lock) could not be pickled")
        return
    assert "positional argument 0 (_thread.lock) failed to pickle" in str(error)


@pytest.mark.parametrize(
    ("func", "type_name"),
    [(taskfuncs.return_lock, "_thread.lock"), (taskfuncs.return_generator, "generator")],
)
def test_unpicklable_result_fails_only_its_slot(pgather: Gather, func: Any, type_name: str) -> None:
    results = pgather(create_task(hello)(0), create_task(func)())
    assert results["task_1"] == "hello 1"
    error = _failure(results["task_2"])
    assert isinstance(error, TaskPicklingError)
    assert str(error).startswith(f"task_2's result ({type_name}) could not be pickled to send it back from the worker")


def test_unrebuildable_exception_arrives_as_a_faithful_stand_in(pgather: Gather) -> None:
    results = pgather(create_task(taskfuncs.raise_two_arg)(), create_task(hello)(1))
    assert results["task_2"] == "hello 2"
    failure = results["task_1"]
    assert isinstance(failure, TaskReturnException)
    error = failure.exception
    assert isinstance(error, RemoteError)
    assert error.type_name == "taskfuncs.TwoArgError"
    assert error.message == "7: no rebuild"
    assert "could not be unpickled in the parent" in error.reason
    assert 'raise TwoArgError(7, "no rebuild")' in failure.traceback
    assert str(error).startswith("taskfuncs.TwoArgError: 7: no rebuild (")


def test_exception_copies_carry_the_worker_traceback_as_cause(pgather: Gather) -> None:
    failure = pgather(create_task(taskfuncs.raise_value_error)("remote"))["task_1"]
    error = _failure(failure)
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "raise ValueError(message)" in str(error.__cause__)


@pytest.mark.parametrize(
    ("func", "arg", "exitcode", "signal_name"),
    [
        (taskfuncs.exit_with, 3, 3, None),
        (taskfuncs.exit_with, 0, 0, None),
        (taskfuncs.kill_self, signal.SIGKILL, -9, "SIGKILL"),
        (taskfuncs.kill_self, signal.SIGSEGV, -11, "SIGSEGV"),
    ],
)
def test_a_dead_worker_fails_only_its_task(
    pgather: Gather, func: Any, arg: int, exitcode: int, signal_name: str | None
) -> None:
    tasks = [create_task(hello)(0), create_task(func)(arg), *[create_task(add)(i, 1) for i in range(6)]]
    results = pgather(*tasks, max_workers=2)
    assert results["task_1"] == "hello 1"
    assert list(results)[2:] == [i + 1 for i in range(6)]  # queued behind the dead worker, still run
    error = _failure(results["task_2"])
    assert isinstance(error, WorkerDiedError)
    assert error.exitcode == exitcode
    assert error.signal_name == signal_name
    assert isinstance(error.pid, int)
    assert error.pid != os.getpid()
    how = f"killed by {signal_name} (exit code {exitcode})" if signal_name else f"exited with code {exitcode}"
    task_repr = f"<Task {func.__name__}({arg!r})>"
    assert str(error) == f"task_2 ({task_repr}) was lost: worker process {error.pid} {how} while running it"


def test_large_results_and_arguments_arrive_intact(pgather: Gather) -> None:
    size = 48 * 1024 * 1024
    data = taskfuncs.make_bytes(size, 3)
    results = pgather(
        create_task(taskfuncs.make_bytes)(size, 1),
        create_task(taskfuncs.make_bytes)(size, 2),
        create_task(taskfuncs.byte_sum)(data),
        max_workers=2,
    )
    assert results["task_1"] == taskfuncs.make_bytes(size, 1)
    assert results["task_2"] == taskfuncs.make_bytes(size, 2)
    assert results["task_3"] == taskfuncs.byte_sum(data)
    assert spilled_files() == []  # large results came through shared memory, and were deleted


def test_a_result_that_fails_to_unpickle_from_shared_memory_is_cleaned_up(pgather: Gather) -> None:
    big = taskfuncs.Trap("parent-error", os.getpid())
    results = pgather(create_task(taskfuncs.pair)(big, taskfuncs.make_bytes(8 * 1024 * 1024)))
    error = _failure(results["task_1"])
    assert str(error).startswith("task_1's result could not be unpickled in the parent process (ValueError")
    assert spilled_files() == []


def test_orphaned_shared_memory_is_removed(pgather: Gather) -> None:
    dead_parent = _dead_pid()
    orphan = f"/dev/shm/syncio-{dead_parent}-1-0"
    with open(orphan, "wb") as stream:
        stream.write(b"left by a parent killed mid-transfer")
    pgather(create_task(add)(1, 1))
    assert not os.path.exists(orphan)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_no_process_or_fd_is_left_behind(pgather: Gather, no_leaks: Snapshot) -> None:
    for _ in range(3):
        pgather(
            create_task(hello)(0),
            create_task(taskfuncs.raise_value_error)("x"),
            create_task(taskfuncs.exit_with)(1),
            create_task(taskfuncs.return_lock)(),
        )
        no_leaks.assert_unchanged()


def test_a_worker_ends_as_a_forked_child_does(
    pgather: Gather, start_method: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], no_leaks: Snapshot
) -> None:
    # Under every start method: a thread the task left running is waited for, output
    # still buffered is written, and atexit handlers the task registered do not run
    # (the interpreter is not torn down; see syncio/_worker.py _end).
    results = pgather(create_task(taskfuncs.leave_traces)(str(tmp_path)))
    assert results["task_1"] == "left"
    assert (tmp_path / "thread").read_text() == "finished"
    assert not (tmp_path / "atexit").exists()
    if start_method != "forkserver":  # its workers write where the fork server's output goes
        assert capfd.readouterr().out == "unterminated line"
    no_leaks.assert_unchanged()


def test_mp_context_accepts_a_context_object(start_method: str) -> None:
    results = gather(create_task(taskfuncs.pid)(), mp_context=multiprocessing.get_context(start_method))
    assert isinstance(results["task_1"], int)


def test_bad_mp_context_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown start method 'threads'; this platform has 'fork', "):
        gather(create_task(add)(1, 2), mp_context="threads")
    with pytest.raises(TypeError, match="mp_context must be a start method name or a multiprocessing context, not int"):
        gather(create_task(add)(1, 2), mp_context=3)  # type: ignore[call-overload]


def test_default_context_leaves_the_global_start_method_unset() -> None:
    code = (
        "import multiprocessing, syncio, os\n"
        "r = syncio.gather(syncio.create_task(os.getpid)())\n"
        "assert isinstance(r['task_1'], int)\n"
        "print(multiprocessing.get_start_method(allow_none=True))\n"
        "multiprocessing.set_start_method('spawn')\n"
        "print(multiprocessing.get_start_method())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["None", "spawn"]


def test_importing_syncio_starts_nothing() -> None:
    code = (
        "import threading, multiprocessing, os\n"
        "before = (threading.active_count(), multiprocessing.active_children())\n"
        "import syncio\n"
        "assert (threading.active_count(), multiprocessing.active_children()) == before\n"
        "print(multiprocessing.get_start_method(allow_none=True), len(syncio.__all__))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["None", str(len(syncio.__all__))]


def test_worker_start_up_failure_is_reported_not_hung(tmp_path: Any) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import os, syncio\n"
        "r = syncio.gather(syncio.create_task(os.getpid)(), mp_context='spawn')\n"
        "print(type(r['task_1'].exception).__name__, r['task_1'].exception)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.startswith("WorkerDiedError task_1 did not run: worker process ")
    assert "exited with code 1 while starting (3 workers in a row did); under the 'spawn' start method" in out.stdout
    assert "guard the script's entry point with `if __name__ == '__main__':`" in out.stdout


def test_syncio_namespace() -> None:
    assert syncio.gather is gather


def test_the_first_gather_in_a_process_leaves_no_descriptor(tmp_path: Path, start_method: str) -> None:
    # multiprocessing keeps helper processes of its own (the resource tracker under spawn
    # and forkserver, the fork server) and a pipe to each: start those first.
    script = tmp_path / "first.py"
    script.write_text(
        "import os, multiprocessing.resource_tracker, multiprocessing.forkserver, syncio\n"
        "if __name__ == '__main__':\n"
        f"    if {start_method!r} != 'fork':\n"
        "        multiprocessing.resource_tracker.ensure_running()\n"
        f"    if {start_method!r} == 'forkserver':\n"
        "        multiprocessing.forkserver.ensure_running()\n"
        "    before = sorted(os.listdir('/proc/self/fd'))\n"
        f"    syncio.gather(syncio.create_task(abs)(-1), syncio.create_task(abs)(-2), mp_context={start_method!r})\n"
        "    print(before == sorted(os.listdir('/proc/self/fd')))\n"
    )
    out = run_script(script)
    assert (out.returncode, out.stdout, out.stderr) == (0, "True\n", "")


def test_forkserver_workers_get_the_worker_module_from_the_fork_server(tmp_path: Path) -> None:
    # Every process that imports syncio's worker module itself notes its pid: with the
    # module preloaded in the fork server, that is the caller and the server, never a
    # worker, however many gathers start workers.
    (tmp_path / "sitecustomize.py").write_text(
        "import os, sys\n"
        "def _hook(event, args):\n"
        "    if event == 'import' and args[0] == 'syncio._worker':\n"
        "        with open(os.environ['IMPORT_LOG'], 'a') as log:\n"
        "            log.write(f'{os.getpid()}\\n')\n"
        "sys.addaudithook(_hook)\n"
    )
    script = tmp_path / "main.py"
    script.write_text(
        "import json, os, multiprocessing.forkserver, syncio\n"
        "if __name__ == '__main__':\n"
        "    workers = set()\n"
        "    for _ in range(2):\n"
        "        tasks = [syncio.create_task(os.getpid)() for _ in range(2)]\n"
        "        workers.update(syncio.gather(*tasks, mp_context='forkserver', max_workers=2))\n"
        "    server = multiprocessing.forkserver._forkserver._forkserver_pid\n"
        "    print(json.dumps([sorted(workers), sorted({os.getpid(), server})]))\n"
        "    print(multiprocessing.forkserver._forkserver._preload_modules)\n"
    )
    log = tmp_path / "imports.log"
    env = {**script_env(), "IMPORT_LOG": str(log)}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert (out.returncode, out.stderr) == (0, "")
    pids, preload_line = out.stdout.splitlines()
    workers, caller_and_server = json.loads(pids)
    assert len(workers) == 4
    assert sorted(map(int, log.read_text().split())) == caller_and_server
    assert preload_line == "['__main__', 'syncio._worker']"


def test_a_preload_list_the_program_set_is_kept(tmp_path: Path) -> None:
    script = tmp_path / "main.py"
    script.write_text(
        "import os, multiprocessing, syncio\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.set_forkserver_preload(['json'])\n"
        "    syncio.gather(syncio.create_task(os.getpid)(), mp_context='forkserver')\n"
        "    syncio.gather(syncio.create_task(os.getpid)(), mp_context='forkserver')\n"
        "    import multiprocessing.forkserver as fs\n"
        "    print(fs._forkserver._preload_modules)\n"
    )
    out = run_script(script)
    assert (out.returncode, out.stdout, out.stderr) == (0, "['json', 'syncio._worker']\n", "")
