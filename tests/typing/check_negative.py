"""Lines that must be rejected. Each ignore must suppress a real error, or the run fails."""

from __future__ import annotations

from syncio import Runner, TaskOutput, as_completed, create_task, gather, thread_gather


def add(a: int, b: int) -> int:
    return a + b


def needs_key(a: int, *, key: str) -> bytes:
    return key.encode() * a


ready = create_task(add)(1, 2)

# The call form is checked like a call of the function.
create_task(add)("1", 2)  # type: ignore[arg-type]
create_task(add)(1)  # type: ignore[call-arg]
create_task(add)(1, 2, 3)  # type: ignore[call-arg]
create_task(add)(1, c=2)  # type: ignore[call-arg]
create_task(needs_key)(1)  # type: ignore[call-arg]

# The args= form checks positional arguments; no unchecked fallback swallows these.
create_task(add, args=("1", 2))  # type: ignore[arg-type]
create_task(add, args=(1,))  # type: ignore[arg-type]
create_task(add, args=(1, 2, 3))  # type: ignore[arg-type]
create_task(needs_key, args=(1,))  # type: ignore[arg-type]
create_task(add, args=[1, 2])  # type: ignore[call-overload]

# Non-callables are rejected.
create_task(42)  # type: ignore[call-overload]

# Only ready tasks can be gathered.
gather(create_task(add))  # type: ignore[arg-type]
thread_gather(create_task(add))  # type: ignore[arg-type]
gather(add)  # type: ignore[call-overload]
ready(3)  # type: ignore[call-arg]

# Options are typed.
gather(ready, timeout="1")  # type: ignore[call-overload]
gather(ready, max_workers=1.5)  # type: ignore[call-overload]
gather(ready, mp_context=3)  # type: ignore[call-overload]
thread_gather(ready, mp_context="spawn")  # type: ignore[call-overload]

# Results keep their types: no silent Any.
results = gather(ready)
text: str = results["task_1"]  # type: ignore[assignment]
number: int = results[ready]  # type: ignore[assignment]
wrong_view: TaskOutput[str] = results  # type: ignore[assignment]
results[3]  # type: ignore[call-overload]
keys_are_not_values: list[str] = list(results)  # type: ignore[arg-type]

# Tasks are immutable.
ready.func = add  # type: ignore[misc]

# A Runner fixes its start method and bounds when made; its gathers take only tasks and timeout.
with Runner() as runner:
    runner.gather(ready, mp_context="spawn")  # type: ignore[call-overload]
    runner.gather(create_task(add))  # type: ignore[arg-type]
    runner.thread_gather(ready, timeout="soon")  # type: ignore[call-overload]
Runner(max_workers="2")  # type: ignore[arg-type]


# Progress callbacks must take (key, done, total).
def wrong_progress(done: int) -> None: ...


gather(ready, progress=wrong_progress)  # type: ignore[arg-type]
thread_gather(ready, progress="yes")  # type: ignore[call-overload]
as_completed(ready, progress=True)  # type: ignore[call-overload]

# Names load lazily at run time, but type checkers still reject unknown ones.
import syncio  # noqa: E402

syncio.gahter  # type: ignore[attr-defined]
