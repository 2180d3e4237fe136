"""The process pool's queues of task positions (syncio._positions), against a plain deque."""

from __future__ import annotations

import random
from collections import deque

import pytest

from syncio._positions import Positions


def test_runs_are_taken_in_order_up_to_the_size_asked() -> None:
    queue = Positions(range(10))
    assert queue.take_run(4) == range(4)
    queue.append(20)  # not consecutive: a run of its own
    queue.extend(range(21, 25))  # consecutive with it: the same run
    assert (len(queue), list(queue)) == (11, [4, 5, 6, 7, 8, 9, 20, 21, 22, 23, 24])
    assert queue.take_run(100) == range(4, 10)  # never more than one run
    assert queue.take_run(100) == range(20, 25)
    assert not queue
    with pytest.raises(IndexError):
        queue.take_run(1)
    with pytest.raises(IndexError):
        queue.popleft()


def test_drop_moves_to_front_and_appendleft() -> None:
    queue = Positions(range(5))
    queue.extend(range(8, 10))
    queue.drop(6)  # across the end of the first run
    assert list(queue) == [9]
    queue.appendleft(8)
    queue.appendleft(3)
    assert (queue.popleft(), list(queue), len(queue)) == (3, [8, 9], 2)
    other = Positions(range(100, 102))
    queue.move_to_front_of(other)
    assert (list(other), len(other), list(queue), len(queue)) == ([8, 9, 100, 101], 4, [], 0)
    assert repr(other) == "Positions([8, 9, 100, 101])"


def test_random_operations_match_a_deque() -> None:
    rng = random.Random(5)
    queue, model = Positions(), deque[int]()
    for _ in range(5000):
        op = rng.randrange(6)
        if op == 0:
            start = rng.randrange(50)
            run = range(start, start + rng.randrange(4))
            queue.extend(run)
            model.extend(run)
        elif op == 1:
            position = rng.randrange(50)
            queue.append(position)
            model.append(position)
        elif op == 2:
            position = rng.randrange(50)
            queue.appendleft(position)
            model.appendleft(position)
        elif op == 3 and model:
            assert queue.popleft() == model.popleft()
        elif op == 4 and model:
            run = queue.take_run(rng.randrange(1, 5))
            assert len(run) >= 1
            assert list(run) == [model.popleft() for _ in run]
        elif op == 5 and model:
            count = rng.randrange(len(model) + 1)
            queue.drop(count)
            for _ in range(count):
                model.popleft()
        assert (list(queue), len(queue), bool(queue)) == (list(model), len(model), bool(model))
