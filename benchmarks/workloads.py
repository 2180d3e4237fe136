"""Task functions for the benchmarks.

They live in this importable module (never in ``__main__``) so that every peer can send
them to its workers by reference: ``spawn``, ``forkserver`` and loky workers import
``workloads`` by name (``measure.py`` puts this folder on ``PYTHONPATH``). Every task
takes exactly one argument, so ``Pool.map``, ``Executor.submit`` and ``create_task``
all call it the same way.
"""

from __future__ import annotations

import time

MIB = 1 << 20


def trivial(i: int) -> int:
    """Almost no work: measures the per-task overhead of a gather."""
    return i + 1


def spin(iterations: int) -> int:
    """Pure-Python CPU work holding the GIL; ``calibrate_spin`` sizes it."""
    total = 0
    for i in range(iterations):
        total += i & 7
    return total


def nap(seconds: float) -> float:
    """Wait without using the CPU, like a network call."""
    time.sleep(seconds)
    return seconds


def make_blob(size: int) -> bytes:
    """Return ``size`` bytes (every page touched): a large result to ship back."""
    return b"\xab" * size


def blob_size(blob: bytes) -> int:
    """Take a large argument and return only its length."""
    return len(blob)


def make_argument_blob(index: int, size: int) -> bytes:
    """A distinct large argument per task, so no pickler can share one copy between tasks."""
    return bytes([index & 0xFF]) * size


def spin_result(iterations: int) -> int:
    """What ``spin(iterations)`` returns, in closed form (to check results cheaply)."""
    full, rest = divmod(iterations, 8)
    return full * 28 + rest * (rest - 1) // 2


def time_spin(iterations: int) -> float:
    start = time.perf_counter()
    spin(iterations)
    return time.perf_counter() - start


def calibrate_spin(target_seconds: float) -> int:
    """Iterations of ``spin`` that take about ``target_seconds`` in this interpreter.

    Doubles a probe until it runs for a measurable time, then scales it and takes the
    fastest of three timings of the scaled loop (the least disturbed by other load).
    """
    iterations = 10_000
    while time_spin(iterations) < 0.05:
        iterations *= 2
    estimate = int(iterations * target_seconds / time_spin(iterations))
    best = min(time_spin(estimate) for _ in range(3))
    return max(1, int(estimate * target_seconds / best))
