"""Progress reporting for the gathers: a callback, or a tqdm bar with ``progress=True``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator, Optional, Protocol, Sequence, Tuple, Union

if TYPE_CHECKING:
    from tqdm import tqdm

from ._outcome import key_of
from ._output import OutputDraft, TaskOutput
from ._task import Task

__all__ = ["Outcomes", "Progress", "ProgressCallback", "check_progress", "collect", "keyed", "watched"]


class OutcomeBatch(Protocol):
    """Some ``(position, outcome)`` pairs: a list of them, or a process pool's ``Batch``."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Tuple[int, object]]: ...


# No string (forward reference) in here: typing would compile it at import, which
# costs about 200 KiB of memory in every process (forked workers included).
Outcomes = Generator[OutcomeBatch, None, None]
"""What the pools' ``stream`` yields: batches of ``(position, outcome)`` as tasks finish."""

ProgressCallback = Callable[[str, int, int], object]
"""Called in the caller's thread as each task finishes: ``(key, done, total)``."""

Progress = Union[bool, ProgressCallback, None]

_MISSING = object()


def _tqdm() -> type[tqdm]:
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError(
            "progress=True shows a tqdm progress bar, and tqdm is not installed: "
            "`pip install tqdm`, or pass progress=callback(key, done, total)"
        ) from None
    return tqdm


def check_progress(progress: object) -> None:
    """Reject a bad ``progress`` before any work starts (tqdm missing for ``True``)."""
    if progress is True:
        _tqdm()
    elif progress is not None and progress is not False and not callable(progress):
        raise TypeError(f"progress must be True, False, None or a callable, not {type(progress).__name__}")


def watched(progress: Progress) -> bool:
    """True when ``progress`` reports each task as it finishes (so outcomes should not wait)."""
    return progress is not None and progress is not False


def _reporter(progress: Progress, total: int) -> tuple[Optional[ProgressCallback], Callable[[], None]]:
    """The callback to call per finished task, and what to do at the end."""
    if progress is True:
        bar = _tqdm()(total=total, unit="task")
        return (lambda _key, _done, _total: bar.update(1)), bar.close
    if progress is None or progress is False:
        return None, lambda: None
    return progress, lambda: None


def collect(tasks: Sequence[Task[[], object]], outcomes: Outcomes, progress: Progress) -> TaskOutput[Any]:
    """The :class:`TaskOutput` of ``tasks`` from their streamed ``(position, outcome)`` pairs, reporting progress.

    The output is made as outcomes come in (see ``OutputDraft``) and built as soon as
    the last one is in, before ``outcomes`` winds its pool down: a one-shot pool's
    workers exit meanwhile. An exception raised by the
    progress callback propagates, which stops the gather.
    """
    total = len(tasks)
    report, finish = _reporter(progress, total)
    results: list[object] = [_MISSING] * total
    left, done = total, 0
    draft = OutputDraft(tasks)
    output: Optional[TaskOutput[Any]] = None
    try:
        for batch in outcomes:
            if report is None:
                for index, value in batch:
                    results[index] = value
            else:
                for index, value in batch:
                    results[index] = value
                    done += 1
                    report(key_of(index), done, total)
            draft.add(len(batch))
            left -= len(batch)
            if not left:
                output = draft.build(results)
    finally:
        finish()
        outcomes.close()  # at once, also when a callback raised: stops the workers
    return draft.build(results) if output is None else output


def keyed(outcomes: Outcomes) -> Generator[tuple[str, object], None, None]:
    """``(position, outcome)`` pairs as ``("task_N", outcome)``; closing it stops the work."""
    try:
        for batch in outcomes:
            for index, value in batch:
                yield key_of(index), value
    finally:
        outcomes.close()
