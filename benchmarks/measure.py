"""One benchmark measurement, run by ``run.py`` in a fresh interpreter of one of its venvs.

Usage (internal; ``run.py`` calls it and reads the JSON it prints on its last line)::

    python measure.py run '{"kind": "trivial", "peer": "syncio", "n": 1000, ...}'
    python measure.py calibrate 0.25     # iterations of workloads.spin for ~0.25 s
    python measure.py info               # versions seen by this interpreter
    python measure.py sample-rss PID     # peak RSS of PID's process tree until a line arrives

The same file runs under both venvs: ``.venv`` (this checkout of syncio, plus joblib)
and ``.venv-syncio004`` (syncio 0.0.4, which has the same import name). Only the peer
being measured is set up; its modules are imported before the clock starts, pools that
are "reused" (and a syncio ``Runner``) are created and warmed by one untimed run of the
same workload, and "fresh" ones are created and shut down inside the timed region. With
``calls`` > 1 the clock times that many calls in a row and the reported ``seconds`` is
the time per call (for calls too short to time one by one).
"""

from __future__ import annotations

import gc
import importlib
import json
import multiprocessing
import os
import platform
import select
import subprocess
import sys
import time
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Callable, Optional, Sequence

import workloads

# Python 3.12+ warns when a process with threads forks; the reused pools' helper threads
# are known and harmless here.
warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork", category=DeprecationWarning)

TaskFunc = Callable[[Any], object]


@dataclass(frozen=True)
class Spec:
    """What to measure: ``n`` tasks of workload ``kind`` run by ``peer``."""

    kind: str  # trivial | cpu | sleep | big-results | big-args
    peer: str
    n: int
    size: int = 0  # cpu: spin iterations; big-*: bytes per task
    seconds: float = 0.0  # sleep: seconds per task
    start_method: Optional[str] = None  # None: the interpreter's default
    max_workers: Optional[int] = None  # None: each library's default
    threads: bool = False  # syncio peers: thread_gather instead of gather
    sample_rss: bool = False
    calls: int = 1  # calls timed together in one measurement; "seconds" is per call

    @classmethod
    def from_json(cls, text: str) -> Spec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Call:
    """The tasks of one measurement: ``func(argument)`` for each argument, in order."""

    func: TaskFunc
    arguments: Sequence[object]
    start_method: Optional[str]
    max_workers: Optional[int]


def build_call(spec: Spec) -> Call:
    arguments: list[object]
    if spec.kind == "trivial":
        func: TaskFunc = workloads.trivial
        arguments = list(range(spec.n))
    elif spec.kind == "cpu":
        func, arguments = workloads.spin, [spec.size] * spec.n
    elif spec.kind == "sleep":
        func, arguments = workloads.nap, [spec.seconds] * spec.n
    elif spec.kind == "big-results":
        func, arguments = workloads.make_blob, [spec.size] * spec.n
    elif spec.kind == "big-args":
        func = workloads.blob_size
        arguments = [workloads.make_argument_blob(k, spec.size) for k in range(spec.n)]
    else:
        raise ValueError(f"unknown workload kind {spec.kind!r}")
    return Call(func, arguments, spec.start_method, spec.max_workers)


def expected_result(kind: str, argument: Any) -> object:
    """What a task of workload ``kind`` must return for ``argument``."""
    if kind == "trivial":
        return workloads.trivial(argument)
    if kind == "cpu":
        return workloads.spin_result(argument)
    if kind == "big-args":
        return len(argument)
    return argument  # sleep: the seconds slept


def check_results(spec: Spec, call: Call, results: Sequence[object]) -> None:
    """Fail loudly if a peer returned anything but the right results, in order."""
    if spec.kind == "big-results":
        good = all(isinstance(r, bytes) and len(r) == spec.size for r in results)
    else:
        good = list(results) == [expected_result(spec.kind, a) for a in call.arguments]
    if len(results) != spec.n or not good:
        sample = [repr(r)[:80] for r in list(results)[:3]]
        raise AssertionError(f"{spec.peer} returned wrong results for {spec.kind}: {len(results)} results, {sample}")


def mp_context(method: Optional[str]) -> Optional[BaseContext]:
    return None if method is None else multiprocessing.get_context(method)


# -- peers ------------------------------------------------------------------------------


class Peer:
    """A way to run a Call; ``prepare`` and ``close`` are outside the timed region."""

    def prepare(self, call: Call) -> None:
        """Untimed set-up before the measured run (default: nothing)."""

    def run(self, call: Call) -> list[object]:
        raise NotImplementedError

    def close(self) -> None:
        """Untimed tear-down after the measured run (default: nothing)."""


class SerialPeer(Peer):
    def run(self, call: Call) -> list[object]:
        return [call.func(argument) for argument in call.arguments]


class SyncioPeer(Peer):
    """``gather`` or ``thread_gather``; works with this checkout and with syncio 0.0.4."""

    def __init__(self, threads: bool, legacy: bool) -> None:
        self.threads = threads
        self.legacy = legacy
        syncio: Any = importlib.import_module("syncio")
        # Resolved here, before any clock starts: syncio loads its modules on first use
        # of a name, and the peers' imports are not timed either.
        self.create_task = syncio.create_task
        self.run_all = syncio.thread_gather if threads else syncio.gather
        self.build_seconds = 0.0  # of the timed call, spent in create_task(func)(argument)

    def prepare(self, call: Call) -> None:
        if self.legacy and not self.threads:
            # 0.0.4 runs a nested function in each Process: only the fork start method works.
            multiprocessing.set_start_method("fork", force=True)

    def _options(self, call: Call) -> dict[str, object]:
        options: dict[str, object] = {}
        if self.legacy:  # 0.0.4's gathers take no options: one process/thread per task
            return options
        if call.max_workers is not None:
            options["max_workers"] = call.max_workers
        if call.start_method is not None and not self.threads:
            options["mp_context"] = call.start_method
        return options

    def run(self, call: Call) -> list[object]:
        create_task = self.create_task
        start = time.perf_counter()
        tasks = [create_task(call.func)(argument) for argument in call.arguments]
        self.build_seconds = time.perf_counter() - start
        output = self.run_all(*tasks, **self._options(call))
        if self.legacy:  # by key: 0.0.4 iterates in completion order
            return [output[f"task_{i}"] for i in range(1, len(tasks) + 1)]
        return list(output)  # positional order, as documented


class RunnerPeer(Peer):
    """``Runner.gather`` on warm worker processes (this checkout only: 0.0.4 has no Runner)."""

    def __init__(self, start_method: Optional[str], max_workers: Optional[int]) -> None:
        from syncio import Runner, create_task

        self.create_task = create_task
        self.runner = Runner(mp_context=start_method, max_workers=max_workers)  # workers start on first use

    def prepare(self, call: Call) -> None:
        self.run(call)  # warm: the workers started, the task function imported in them

    def run(self, call: Call) -> list[object]:
        return list(self.runner.gather(*[self.create_task(call.func)(argument) for argument in call.arguments]))

    def close(self) -> None:
        self.runner.close()


class ExecutorPeer(Peer):
    """``Executor.submit`` once per task, then every ``result()``; a fresh or reused pool."""

    def __init__(self, threads: bool, reuse: bool) -> None:
        self.threads = threads
        self.reuse = reuse
        self.pool: Optional[Executor] = None

    def _new_pool(self, call: Call) -> Executor:
        if self.threads:
            return ThreadPoolExecutor(call.max_workers)
        return ProcessPoolExecutor(call.max_workers, mp_context=mp_context(call.start_method))

    @staticmethod
    def _submit_all(pool: Executor, call: Call) -> list[object]:
        futures = [pool.submit(call.func, argument) for argument in call.arguments]
        return [future.result() for future in futures]

    def prepare(self, call: Call) -> None:
        if self.reuse:
            self.pool = self._new_pool(call)
            self._submit_all(self.pool, call)  # warm: every worker started

    def run(self, call: Call) -> list[object]:
        if self.pool is not None:
            return self._submit_all(self.pool, call)
        with self._new_pool(call) as pool:  # shutdown(wait=True) is part of the call
            return self._submit_all(pool, call)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


class PoolMapPeer(Peer):
    """``multiprocessing.Pool.map`` on a pool created (and terminated) per call."""

    def run(self, call: Call) -> list[object]:
        context = multiprocessing.get_context(call.start_method)
        with context.Pool(call.max_workers) as pool:
            return pool.map(call.func, call.arguments)


class JoblibPeer(Peer):
    """``joblib.Parallel`` with the loky or threading backend."""

    def __init__(self, backend: str, reuse: bool) -> None:
        self.backend = backend
        self.reuse = reuse
        self.joblib: Any = importlib.import_module("joblib")

    def prepare(self, call: Call) -> None:
        if self.reuse:
            self.run(call)  # loky keeps its executor (and workers) for the next call

    def run(self, call: Call) -> list[object]:
        n_jobs = call.max_workers or -1
        parallel = self.joblib.Parallel(n_jobs=n_jobs, backend=self.backend)
        delayed = self.joblib.delayed
        return list(parallel(delayed(call.func)(argument) for argument in call.arguments))


def make_peer(spec: Spec) -> Peer:
    factories: dict[str, Callable[[], Peer]] = {
        "serial": SerialPeer,
        "syncio": lambda: SyncioPeer(spec.threads, legacy=False),
        "syncio-0.0.4": lambda: SyncioPeer(spec.threads, legacy=True),
        "ppe-fresh": lambda: ExecutorPeer(threads=False, reuse=False),
        "ppe-reused": lambda: ExecutorPeer(threads=False, reuse=True),
        "syncio-runner": lambda: RunnerPeer(spec.start_method, spec.max_workers),
        "tpe-fresh": lambda: ExecutorPeer(threads=True, reuse=False),
        "tpe-reused": lambda: ExecutorPeer(threads=True, reuse=True),
        "pool-fresh": PoolMapPeer,
        "joblib-loky-fresh": lambda: JoblibPeer("loky", reuse=False),
        "joblib-loky-reused": lambda: JoblibPeer("loky", reuse=True),
        "joblib-threading": lambda: JoblibPeer("threading", reuse=False),
    }
    return factories[spec.peer]()


# -- resident memory of the process tree ------------------------------------------------

_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / workloads.MIB


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as file:
                found.extend(int(child) for child in file.read().split())
    except OSError:  # the process (or thread) is gone
        pass
    return found


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as file:
            return int(file.read().split()[1]) * _PAGE_MIB
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_rss_mib(root: int, leave_out: int = 0) -> float:
    """Resident memory of ``root`` and all its descendants but ``leave_out``, summed (shared pages count in each)."""
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid != leave_out:
            total += _rss_mib(pid)
            todo.extend(_children(pid))
    return total


def sample_rss(root: int, interval: float = 0.0002) -> float:
    """Peak RSS of ``root``'s process tree (this process left out), sampled until input arrives.

    A process of its own, not a thread of the measured one: a thread would need that
    process's GIL to run, and miss worker processes that live only while it holds it.
    """
    peak = tree_rss_mib(root, leave_out=os.getpid())
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], interval)[0]:  # a sampling period
        peak = max(peak, tree_rss_mib(root, leave_out=os.getpid()))
    return peak


class TreeRssSampler:
    """This process tree's peak RSS while in the ``with`` block, sampled by a child process."""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        command = [sys.executable, os.path.abspath(__file__), "sample-rss", str(os.getpid())]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> TreeRssSampler:
        assert self._process.stdout is not None
        if self._process.stdout.readline() != "ready\n":  # the first sample is taken
            raise RuntimeError("the RSS sampler did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A line, not just end of input: forked workers still alive hold the pipe open too.
        output, _ = self._process.communicate("stop\n")
        self.peak_mib = json.loads(output.strip().splitlines()[-1])["peak_rss_mib"]


# -- entry points -----------------------------------------------------------------------


def measure(spec: Spec) -> dict[str, object]:
    if spec.calls < 1:
        raise ValueError(f"calls must be at least 1, not {spec.calls}")
    call = build_call(spec)
    peer = make_peer(spec)
    try:
        peer.prepare(call)
        gc.collect()
        baseline = tree_rss_mib(os.getpid())
        sampler = TreeRssSampler() if spec.sample_rss else None
        if sampler is not None:
            sampler.__enter__()
        start = time.perf_counter()
        try:
            every_results = [peer.run(call) for _ in range(spec.calls)]
        finally:
            seconds = time.perf_counter() - start
            if sampler is not None:
                sampler.__exit__()
    finally:
        peer.close()
    for results in every_results:
        check_results(spec, call, results)
    measured: dict[str, object] = {
        "seconds": seconds / spec.calls,
        "calls": spec.calls,
        "baseline_rss_mib": baseline,
    }
    if isinstance(peer, SyncioPeer):
        measured["build_seconds"] = peer.build_seconds
    if sampler is not None:
        measured["peak_rss_mib"] = sampler.peak_mib
    return measured


def versions() -> dict[str, object]:
    from importlib import metadata

    found: dict[str, object] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "default_start_method": multiprocessing.get_start_method(allow_none=True)
        or multiprocessing.get_all_start_methods()[0],
    }
    for package in ("syncio", "joblib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def main(argv: Sequence[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "run" and len(argv) == 3:
        output: dict[str, object] = measure(Spec.from_json(argv[2]))
    elif command == "calibrate" and len(argv) == 3:
        output = {"iterations": workloads.calibrate_spin(float(argv[2]))}
    elif command == "info" and len(argv) == 2:
        output = versions()
    elif command == "sample-rss" and len(argv) == 3:
        output = {"peak_rss_mib": sample_rss(int(argv[2]))}
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
