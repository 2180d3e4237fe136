"""How outcomes come back from worker processes: the shared result area (syncio/_results.py).

Workers record each outcome in shared memory and report them in batches. These tests
pin what that must never change: every finished result arrives, in its own slot,
even when the worker dies or the deadline passes before it reported them; results
larger than the area, or than a record, still arrive in order; and a caller watching
outcomes arrive sees each one without waiting for the worker's next task.
Every test runs under fork, spawn and forkserver.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
import taskfuncs
from conftest import Gather, Snapshot
from taskfuncs import hello, make_bytes

import syncio
import syncio._process
import syncio._results
from syncio import Runner, Task, TaskReturnException, TaskTimeoutError, WorkerDiedError, as_completed, create_task
from syncio._channel import FLUSHED, RESULT, RUN_PICKLED, STOP, BlockingReader, write_frame
from syncio._pickling import MAX_RECORD, encode_outcome
from syncio._process import WorkerPool
from syncio._results import FIRST_FLUSH_AFTER, FLUSH, FLUSH_AFTER, Batch, ResultLog, take
from syncio._status import AREA, StatusBoard
from syncio._worker import _serve  # pyright: ignore[reportPrivateUsage]


def _error(value: object) -> BaseException:
    assert isinstance(value, TaskReturnException), f"expected a failure, got {value!r}"
    return value.exception


def test_results_recorded_before_a_crash_are_kept(pgather: Gather, no_leaks: Snapshot) -> None:
    # One worker runs the 200 quick tasks and then dies in the 201st, most likely
    # before it reported the last of them: they are read from its area after it exited.
    tasks = [create_task(hello)(i) for i in range(200)]
    tasks.append(create_task(taskfuncs.exit_with)(7))
    tasks += [create_task(hello)(i) for i in range(201, 230)]
    results = pgather(*tasks, max_workers=1)
    assert len(results) == 230
    for i in [*range(200), *range(201, 230)]:
        assert results[f"task_{i + 1}"] == f"hello {i + 1}"
    error = _error(results["task_201"])
    assert isinstance(error, WorkerDiedError)
    assert error.exitcode == 7
    assert str(error).startswith("task_201 (<Task exit_with(7)>) was lost: worker process ")
    assert str(error).endswith(" exited with code 7 while running it")


def test_timeout_keeps_results_recorded_before_the_deadline(pgather: Gather) -> None:
    tasks: list[Task[[], object]] = [create_task(hello)(i) for i in range(100)]
    tasks.append(create_task(taskfuncs.sleep_for)(3600))
    tasks.append(create_task(hello)(101))
    results = pgather(*tasks, max_workers=1, timeout=1.0)
    assert [results[f"task_{i + 1}"] for i in range(100)] == [f"hello {i + 1}" for i in range(100)]
    assert str(_error(results["task_101"])) == "task_101 did not finish before the gather's timeout expired"
    assert str(_error(results["task_102"])) == "task_102 did not start before the gather's timeout expired"
    assert isinstance(_error(results["task_102"]), TaskTimeoutError)


@pytest.mark.parametrize("max_workers", [1, 2])
def test_results_filling_the_area_many_times_over_arrive_whole(pgather: Gather, max_workers: int) -> None:
    # 4 MiB of 1 KiB results: the area (1 MiB per worker) is used round and round, and
    # results that find it full go through the pipe instead.
    count = 4 * AREA // 1024
    results = pgather(*[create_task(make_bytes)(1024, i % 251) for i in range(count)], max_workers=max_workers)
    assert len(results) == count
    for i, value in enumerate(results):
        assert value == bytes([i % 251]) * 1024, f"task_{i + 1}"


def test_small_and_large_results_interleaved_keep_their_slots(pgather: Gather) -> None:
    # Records over 64 KiB go through the pipe, the others through the area.
    sizes = [10, 200_000, 3, 70_000, 65_536, 1, 5 << 20, 2]  # 5 MiB: a shared memory file
    tasks = [create_task(make_bytes)(size, i) for i, size in enumerate(sizes)] * 5
    results = pgather(*tasks, max_workers=1)
    for position, value in enumerate(results):
        i = position % len(sizes)
        assert value == bytes([i]) * sizes[i], f"task_{position + 1}"


def _quick_tasks_around_a_blocker(fifo: Path) -> list[Task[[], str]]:
    """41 tasks for one worker; task_20 blocks until the test writes to ``fifo``.

    With one worker the first batch is tasks 1 to 20, so task_20 runs right after the 19
    quick ones in the same batch: the test writes to the FIFO only once their results
    arrived, and if they were held back until the worker's next task ended (task_20,
    waiting for the test), the gather would never finish.
    """
    os.mkfifo(fifo)
    tasks = [create_task(hello)(i) for i in range(41)]
    tasks[19] = create_task(taskfuncs.wait_for_file)(str(fifo))
    return tasks


def _expected(key: str) -> str:
    return "go" if key == "task_20" else f"hello {key.removeprefix('task_')}"


@pytest.mark.timeout(60)
def test_as_completed_reports_each_result_before_the_next_task_ends(start_method: str, tmp_path: Path) -> None:
    fifo = tmp_path / "go"
    seen: list[str] = []
    for key, value in as_completed(*_quick_tasks_around_a_blocker(fifo), mp_context=start_method, max_workers=1):
        assert value == _expected(key)
        seen.append(key)
        if len(seen) == 19:
            assert seen == [f"task_{i + 1}" for i in range(19)]
            fifo.write_text("go")
    assert seen == [f"task_{i + 1}" for i in range(41)]


@pytest.mark.timeout(60)
def test_progress_reports_each_result_before_the_next_task_ends(pgather: Gather, tmp_path: Path) -> None:
    fifo = tmp_path / "go"
    reported: list[str] = []

    def progress(key: str, done: int, total: int) -> None:
        reported.append(key)
        assert (done, total) == (len(reported), 41)
        if done == 19:
            fifo.write_text("go")

    results = pgather(*_quick_tasks_around_a_blocker(fifo), max_workers=1, progress=progress)
    assert reported == [f"task_{i + 1}" for i in range(41)]
    assert list(results) == [_expected(f"task_{i + 1}") for i in range(41)]


def test_runner_reuses_the_area_across_calls(start_method: str) -> None:
    # Each call's results take a third of the area: by the fourth call the workers
    # write where the first call's results were, which the parent has long read.
    per_call = AREA // 3 // 1024
    with Runner(mp_context=start_method, max_workers=1) as runner:
        for call in range(6):
            results = runner.gather(*[create_task(make_bytes)(1024, (call + i) % 251) for i in range(per_call)])
            assert list(results) == [bytes([(call + i) % 251]) * 1024 for i in range(per_call)]


def test_workers_killed_at_random_moments_lose_only_the_task_in_hand(pgather: Gather, tmp_path: Path) -> None:
    # Workers are SIGKILLed from outside at random moments, most often while they hold
    # recorded results not yet reported: every slot must hold its task's result, or a
    # WorkerDiedError for a task a killed worker had in hand, and nothing else.
    kills: list[int] = []
    done = threading.Event()

    def killer() -> None:
        chooser = random.Random(len(kills))
        for _ in range(3):
            if done.wait(chooser.uniform(0.05, 0.2)):  # a random moment, not a synchronisation
                return
            for name in sorted(os.listdir(tmp_path)):
                pid = int(name)
                with contextlib.suppress(ProcessLookupError):
                    if os.getpgid(pid) == pid:  # a live worker (workers lead their own group)
                        os.kill(pid, signal.SIGKILL)
                        kills.append(pid)
                        os.remove(tmp_path / name)
                        break

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        results = pgather(*[create_task(taskfuncs.note_pid_then_double)(str(tmp_path), i) for i in range(3000)])
    finally:
        done.set()
        thread.join()
    lost = [key for key, value in results.items() if isinstance(value, TaskReturnException)]
    for key in lost:
        assert isinstance(_error(results[key]), WorkerDiedError), key
    assert len(lost) <= len(kills)
    for i, value in enumerate(results):
        assert value == 2 * i or f"task_{i + 1}" in lost


# -- a batch of records unpickled together (see "Records are pickle opcodes" in _results.py)


def test_results_unpickled_together_keep_their_own_shared_references(pgather: Gather) -> None:
    # Each result refers to one string twice, a memo reference in its pickle. A batch is
    # unpickled in one call: each record's reference must still find its own string.
    results = pgather(*[create_task(taskfuncs.shared_pair)(i) for i in range(300)], max_workers=1)
    for i, value in enumerate(results):
        assert value == (f"value {i}", f"value {i}"), f"task_{i + 1}"
        assert isinstance(value, tuple)
        assert value[0] is value[1], f"task_{i + 1}"


def test_a_result_failing_to_unpickle_fails_alone_in_its_batch(pgather: Gather) -> None:
    tasks: list[Task[[], object]] = [create_task(taskfuncs.shared_pair)(i) for i in range(100)]
    tasks[37] = create_task(taskfuncs.make_trap)("parent-error", os.getpid())
    results = pgather(*tasks, max_workers=1)
    error = _error(results["task_38"])
    assert str(error).startswith("task_38's result could not be unpickled in the parent process (ValueError")
    for i, value in enumerate(results):
        if i != 37:
            assert value == (f"value {i}", f"value {i}"), f"task_{i + 1}"


def test_results_only_a_newer_pickle_protocol_takes_arrive_in_order(pgather: Gather) -> None:
    # A PickleBuffer pickles with protocol 5 only: its record cannot join the others'.
    tasks: list[Task[[], object]] = [create_task(hello)(i) for i in range(60)]
    for i in (0, 30, 59):
        tasks[i] = create_task(taskfuncs.pickle_buffer)(bytes([i]) * 10)
    results = pgather(*tasks, max_workers=1)
    for i, value in enumerate(results):
        expected = bytearray([i]) * 10 if i in (0, 30, 59) else hello(i)
        assert value == expected, f"task_{i + 1}"


def _held_behind_blocker(
    start_method: str, tasks: list[Task[[], object]], fifo: Path, blocker: int, pause: float = 0.0
) -> list[int]:
    """Run ``tasks`` on one worker until every task before ``blocker`` is reported.

    Returns the positions the worker then has in hand (the blocker first), after which
    the test's FIFO releases the blocker and the rest must still arrive, in order.
    ``pause``: the caller's own work after each batch of outcomes.
    """
    pool = WorkerPool(multiprocessing.get_context(start_method), 1)
    try:
        stream = pool.stream(tasks, deadline=None, eager=True)
        seen: list[int] = []
        while len(seen) < blocker:
            seen += [index for index, _ in next(stream)]
            time.sleep(pause)  # the caller's own work between outcomes, not a synchronisation
        in_hand = list(pool.workers[0].outstanding)
        fifo.write_text("go")
        for batch in stream:
            seen += [index for index, _ in batch]
        assert seen == list(range(len(tasks)))
        return in_hand
    finally:
        pool.close()


@pytest.mark.timeout(60)
def test_a_worker_gets_its_next_batch_while_it_runs_the_last(start_method: str, tmp_path: Path) -> None:
    # One worker, 41 tasks: the first batch is tasks 1 to 20, and task_20 blocks. Once
    # tasks 1 to 19 are reported, the next batch must already be on its way: the
    # worker should not wait for a round trip to the parent between batches.
    fifo = tmp_path / "go"
    in_hand = _held_behind_blocker(start_method, list(_quick_tasks_around_a_blocker(fifo)), fifo, blocker=19)
    assert in_hand[:2] == [19, 20]  # task_20, then the next batch


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pause", [0.0, 0.1])
def test_slow_tasks_are_not_queued_behind_a_running_one(start_method: str, tmp_path: Path, pause: float) -> None:
    # The same with tasks of 20 ms: the next batch waits until the worker has reported
    # all of its tasks, so that it could still go to another worker that is free. A
    # caller slow to take each outcome (reports then pile up in the pipe and are read
    # together) must not make them look quick.
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    tasks: list[Task[[], object]] = [create_task(taskfuncs.sleep_for)(0.02) for _ in range(20)]
    tasks[9] = create_task(taskfuncs.wait_for_file)(str(fifo))
    assert _held_behind_blocker(start_method, tasks, fifo, blocker=9, pause=pause) == [9]


def test_results_pickle_with_protocol_3_unless_large_or_only_newer_protocols_take_them() -> None:
    # Protocol 3 makes small results joinable; a large buffer is pickled with the newest
    # protocol, which does not copy its data into a bytes object first.
    assert encode_outcome(0, True, (1, "two", [3.0]))[1][:2] == b"\x80\x03"
    # Numbers and None: protocol 3 whatever their size (no newer protocol does better).
    assert encode_outcome(0, True, 10**200_000)[1][:2] == b"\x80\x03"
    assert encode_outcome(0, True, bytearray(MAX_RECORD + 1))[1][:2] == bytes([0x80, pickle.HIGHEST_PROTOCOL])
    assert encode_outcome(0, True, pickle.PickleBuffer(b"x"))[1][:2] == bytes([0x80, pickle.HIGHEST_PROTOCOL])


def test_a_result_whose_size_cannot_be_taken_still_arrives(pgather: Gather) -> None:
    results = pgather(create_task(taskfuncs.no_size)(7), create_task(hello)(1))
    first = results["task_1"]
    assert isinstance(first, taskfuncs.NoSize)
    assert first.value == 7
    assert results["task_2"] == hello(1)


def test_batches_after_the_first_fit_the_result_area(pgather: Gather, monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 MiB of 1 KiB results on one worker. The first batch (half the tasks) cannot be
    # sized by its results, and most of it overflows into the pipe; later batches are
    # cut to a quarter of the area's worth, so their results go through the area. The
    # second batch may still overflow in part (it goes out with only what the first
    # report covered released), but by no more than its size: ~250 results here, where
    # batches sized by the task count alone sent ~1,000 of the second half by the pipe.
    through_pipe: list[int] = []
    decode = getattr(syncio._process, "decode_outcome")  # noqa: B009 - not exported

    def counting(kind: int, payload: bytes | bytearray, index: int) -> object:
        through_pipe.append(index)
        return decode(kind, payload, index)

    monkeypatch.setattr(syncio._process, "decode_outcome", counting)
    count = 4 * AREA // 1024
    results = pgather(*[create_task(make_bytes)(1024, i % 251) for i in range(count)], max_workers=1)
    assert [len(value) for value in results] == [1024] * count
    assert len([index for index in through_pipe if index >= count // 2]) < count // 8


def test_quick_tasks_are_not_cut_into_ever_smaller_batches(start_method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Once a worker has reported quick tasks, a batch holds at least _QUICK_BATCH seconds
    # of them: with an hour of it, the batch after the first takes everything left,
    # where halving batches would have sent 100, 50, 25 ... 1.
    monkeypatch.setattr(syncio._process, "_QUICK_BATCH", 3600.0)
    sizes: list[int] = []
    for name in ("_dispatch_inherited", "_dispatch_pickled"):
        original = getattr(WorkerPool, name)

        def recording(pool: WorkerPool, worker: Any, size: int, original: Any = original) -> None:
            before = len(worker.outstanding)
            original(pool, worker, size)
            sizes.append(len(worker.outstanding) - before)

        monkeypatch.setattr(WorkerPool, name, recording)
    results = syncio.gather(*[create_task(hello)(i) for i in range(400)], mp_context=start_method, max_workers=1)
    assert list(results) == [hello(i) for i in range(400)]
    assert sizes == [200, 200]


_RECORDED_AS_THEY_ARE: list[object] = [0, 1, -1, 255, 256, 2**31 - 1, -(2**31)]
_PLAIN_EDGES = [*_RECORDED_AS_THEY_ARE, 2**31, -(2**31) - 1, 2**64, True, False, None, 1.5]


def _log_on_a_board(board: StatusBoard, sent: list[tuple[int, int, bytes]]) -> ResultLog:
    def send(slot: int, kind: int, payload: bytes = b"") -> None:
        sent.append((slot, kind, payload))

    def otherwise(slot: int, kind: int, payload: bytes) -> None:
        raise AssertionError(f"task {slot}'s outcome did not go into the area")

    log = ResultLog(board[0], send, otherwise)
    log.release(0)
    log.mark()  # work arrived
    return log


def test_int_results_are_recorded_unpickled_and_read_back_exactly() -> None:
    # Ints of up to 32 bits take put_plain's one-call record; anything else (bools
    # included, which must stay bools) goes the pickled way. Records of both kinds,
    # side by side, read back to the same values and types, together or one by one.
    board = StatusBoard(1)
    try:
        sent: list[tuple[int, int, bytes]] = []
        log = _log_on_a_board(board, sent)
        plain = [log.put_plain(slot, value) for slot, value in enumerate(_PLAIN_EDGES)]
        recorded = len(_RECORDED_AS_THEY_ARE)
        assert plain == [True] * recorded + [False] * (len(_PLAIN_EDGES) - recorded)
        for slot, value in enumerate(_PLAIN_EDGES):
            if not plain[slot]:
                log.put(slot, *encode_outcome(slot, True, value))
        log.flush()
        end, count, joinable, _ = FLUSH.unpack(sent[-1][2])
        assert (count, joinable) == (len(_PLAIN_EDGES), True)
        area = board[0].area
        for together in (True, False):
            batch = Batch()
            assert take(area, 0, end, batch, count=count, joinable=together) == count
            got = sorted(batch, key=lambda pair: pair[0])
            assert [value for _, value in got] == _PLAIN_EDGES
            assert [type(value) for _, value in got] == [type(value) for value in _PLAIN_EDGES]
    finally:
        board.close()


def test_an_int_record_that_does_not_fit_before_the_area_end_goes_round_by_put() -> None:
    board = StatusBoard(1)
    try:
        log = _log_on_a_board(board, [])
        payload = encode_outcome(0, True, b"x" * 1000)[1]
        slot = 0
        while AREA - log.end >= 1100:  # fill the area to just short of its end
            log.put(slot, RESULT, payload)
            slot += 1
        # One more record, leaving 10 bytes before the end.
        filler = next(p for k in range(1100) if len(p := encode_outcome(0, True, b"x" * k)[1]) == AREA - log.end - 20)
        log.put(slot, RESULT, filler)
        slot += 1
        assert AREA - log.end == 10
        log.release(log.end)  # the parent has read it all
        start = log.end
        assert not log.put_plain(slot, 7)  # 18 bytes would not fit before the end
        log.put(slot, *encode_outcome(slot, True, 7))  # so put starts the area again
        assert log.end % AREA < 100
        assert log.put_plain(slot + 1, 8)
        batch = Batch()
        assert take(board[0].area, start, log.end, batch) == 2
        assert list(batch) == [(slot, 7), (slot + 1, 8)]
    finally:
        board.close()


def test_the_first_report_after_work_arrives_comes_sooner(monkeypatch: pytest.MonkeyPatch) -> None:
    # So that the parent soon knows the tasks are quick and sends the next batch
    # before this one ends; later reports come every FLUSH_AFTER.
    now = [100.0]
    monkeypatch.setattr(syncio._results, "_monotonic", lambda: now[0])
    board = StatusBoard(1)
    try:
        sent: list[tuple[int, int, bytes]] = []
        log = _log_on_a_board(board, sent)
        step = FIRST_FLUSH_AFTER / 3.3  # the fourth record is the first one past it
        for _ in range(2):  # for each batch that arrives
            sent.clear()
            log.mark()
            slot = 0
            while not sent:
                now[0] += step
                assert log.put_plain(slot, slot)
                slot += 1
            assert slot == 4  # reported FIRST_FLUSH_AFTER after the batch arrived
            while len(sent) < 2:
                now[0] += step
                assert log.put_plain(slot, slot)
                slot += 1
            assert slot - 4 == math.ceil(FLUSH_AFTER / step)  # then every FLUSH_AFTER
    finally:
        board.close()


def test_int_results_keep_their_exact_values_and_types(pgather: Gather) -> None:
    results = list(pgather(*[create_task(taskfuncs.identity)(value) for value in _PLAIN_EDGES]))
    assert results == _PLAIN_EDGES
    assert [type(value) for value in results] == [type(value) for value in _PLAIN_EDGES]


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_each_new_worker_gets_its_first_batch_before_the_next_starts(
    start_method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It can start on it while the next worker starts; the batches are still sized for
    # all the workers the call will have (a quarter of the tasks, then 3/16 of them).
    # (Under fork, further workers start only as they pay off: tests below.)
    outstanding_at_start: list[list[int]] = []
    original = WorkerPool._start_worker  # pyright: ignore[reportPrivateUsage]

    def recording(pool: WorkerPool) -> Any:
        outstanding_at_start.append([len(worker.outstanding) for worker in pool.workers])
        return original(pool)

    monkeypatch.setattr(WorkerPool, "_start_worker", recording)
    results = syncio.gather(*[create_task(hello)(i) for i in range(400)], mp_context=start_method, max_workers=2)
    assert list(results) == [hello(i) for i in range(400)]
    assert outstanding_at_start == [[], [100]]


def test_a_batch_of_pickled_tasks_gets_one_quick_first_report(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pickled tasks come a frame each: only the first frame of a write from the parent
    # (a new batch) makes the next report come FIRST_FLUSH_AFTER after it; the rest of
    # the batch is reported every FLUSH_AFTER, not every 0.25 ms.
    now = [100.0]
    monkeypatch.setattr(syncio._results, "_monotonic", lambda: now[0])
    step, count = 0.0001, 40  # 4 ms of 0.1 ms tasks
    board = StatusBoard(1)
    task_r, task_w = os.pipe()
    try:
        sent: list[tuple[int, int, bytes]] = []
        log = _log_on_a_board(board, sent)

        def run_pickled(slot: int, payload: bytes | bytearray) -> None:
            now[0] += step
            assert log.put_plain(slot, slot)

        for slot in range(count):
            write_frame(task_w, slot, RUN_PICKLED, b"task")
        write_frame(task_w, 0, STOP)
        reader = BlockingReader(task_r)
        _serve(reader, log, None, lambda first, tasks: None, run_pickled)
        reported = [FLUSH.unpack(payload)[1] for _, kind, payload in sent if kind == FLUSHED]
        assert sum(reported) == count
        first = math.ceil(FIRST_FLUSH_AFTER / step)
        every = math.ceil(FLUSH_AFTER / step)
        assert reported[0] == first
        assert reported[1:-1] == [every] * (len(reported) - 2)  # then the last, at STOP
        reader.close()
    finally:
        os.close(task_w)
        board.close()


def test_quick_tasks_under_fork_run_on_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each worker start costs the caller a fork, and the caller is busy with the outcomes
    # of quick tasks: a second worker would not pay off for a few milliseconds of them.
    # (As if each took 0.1 us, and with no quiet spell: a loaded machine could make any.)
    monkeypatch.setattr(syncio._process, "_QUIET", 3600.0)
    starts: list[int] = []
    original, read = WorkerPool._start_worker, WorkerPool._read  # pyright: ignore[reportPrivateUsage]

    def counting(pool: WorkerPool) -> Any:
        starts.append(len(pool.todo))
        return original(pool)

    def quick(pool: WorkerPool, worker: Any, dispatch: bool = True) -> bool:
        alive = read(pool, worker, dispatch)
        pool.timed_seconds = pool.timed_tasks * 1e-7
        return alive

    monkeypatch.setattr(WorkerPool, "_start_worker", counting)
    monkeypatch.setattr(WorkerPool, "_read", quick)
    results = list(syncio.gather(*[create_task(hello)(i) for i in range(500)], mp_context="fork", max_workers=2))
    assert results == [hello(i) for i in range(500)]
    assert starts == [500]


def test_slow_tasks_under_fork_get_every_worker() -> None:
    # The first two tasks can only finish together, each in a worker of its own: the
    # second worker starts although more tasks than workers were given and none reported.
    barrier = multiprocessing.get_context("fork").Barrier(2, timeout=30)
    tasks = [create_task(taskfuncs.meet_then_pid)(barrier) for _ in range(2)] + [create_task(hello)(0)]
    first, second, third = syncio.gather(*tasks, mp_context="fork", max_workers=2)
    assert isinstance(first, int)
    assert isinstance(second, int)
    assert first != second
    assert third == hello(0)


def test_quick_tasks_get_more_workers_when_the_work_left_pays_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if each of them took 1 ms: 2,000 of them leave far more work than a start-up.
    monkeypatch.setattr(syncio._process, "_QUIET", 3600.0)  # only the reports can start one
    calls: list[float] = []
    original = WorkerPool._read  # pyright: ignore[reportPrivateUsage]

    def slowed(pool: WorkerPool, worker: Any, dispatch: bool = True) -> bool:
        alive = original(pool, worker, dispatch)
        if pool.timed_tasks:
            pool.timed_seconds = pool.timed_tasks * 0.001
            calls.append(pool.timed_seconds)
        return alive

    monkeypatch.setattr(WorkerPool, "_read", slowed)
    pids = syncio.gather(*[create_task(taskfuncs.pid)() for _ in range(2000)], mp_context="fork", max_workers=2)
    assert calls
    assert len(set(pids)) == 2


def _starts_and_waits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, in order, each worker start of the pool and each run of waits in between."""
    events: list[str] = []
    start, wait = WorkerPool._start_worker, WorkerPool._wait  # pyright: ignore[reportPrivateUsage]

    def starting(pool: WorkerPool) -> Any:
        events.append("start")
        return start(pool)

    def waiting(pool: WorkerPool, timeout: Any) -> None:
        if events[-1] != "wait":
            events.append("wait")
        wait(pool, timeout)

    monkeypatch.setattr(WorkerPool, "_start_worker", starting)
    monkeypatch.setattr(WorkerPool, "_wait", waiting)
    return events


def test_slow_tasks_under_fork_start_the_other_workers_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing is reported while the first tasks wait for each other: once that lasted a
    # while, every other worker the call plans is started in one go, not one per wait.
    events = _starts_and_waits(monkeypatch)
    barrier = multiprocessing.get_context("fork").Barrier(4, timeout=30)
    tasks = [create_task(taskfuncs.meet_then_pid)(barrier) for _ in range(4)] + [create_task(hello)(0)]
    results = list(syncio.gather(*tasks, mp_context="fork", max_workers=4))
    assert len(set(results[:4])) == 4
    assert results[4] == hello(0)
    assert events[:4] == ["start", "wait", "start", "start"]
    assert events[4:6] == ["start", "wait"]


def test_under_fork_a_watched_call_starts_its_workers_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # The caller's code runs during as_completed: a worker forked later would see the
    # tasks' arguments as that code left them. All start at once, before any waiting.
    events = _starts_and_waits(monkeypatch)
    shared = {"value": "original"}
    tasks = [create_task(taskfuncs.identity)(shared) for _ in range(500)]
    seen: list[str] = []
    for _key, outcome in as_completed(*tasks, mp_context="fork", max_workers=2):
        shared["value"] = "changed by the caller"
        seen.append(cast("dict[str, str]", outcome)["value"])
    assert events == ["start", "start", "wait"]
    assert seen == ["original"] * 500
