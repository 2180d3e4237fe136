"""syncio: asyncio's create_task/gather for synchronous code, in processes or threads.

>>> from syncio import create_task, thread_gather
>>> results = thread_gather(create_task(pow)(2, 10), create_task(divmod)(7, 2))
>>> list(results)
[1024, (3, 1)]
"""

import typing

if typing.TYPE_CHECKING:
    from ._errors import RemoteError as RemoteError
    from ._errors import RemoteTraceback as RemoteTraceback
    from ._errors import TaskPicklingError as TaskPicklingError
    from ._errors import TaskTimeoutError as TaskTimeoutError
    from ._errors import TaskUnpicklingError as TaskUnpicklingError
    from ._errors import WorkerDiedError as WorkerDiedError
    from ._executor import executor_gather as executor_gather
    from ._gather import as_completed as as_completed
    from ._gather import gather as gather
    from ._gather import thread_as_completed as thread_as_completed
    from ._gather import thread_gather as thread_gather
    from ._guard import is_exception as is_exception
    from ._outcome import TaskReturnException as TaskReturnException
    from ._output import TaskOutput as TaskOutput
    from ._progress import ProgressCallback as ProgressCallback
    from ._runner import Runner as Runner
    from ._task import Task as Task
    from ._task import create_task as create_task

__all__ = [
    "ProgressCallback",
    "RemoteError",
    "RemoteTraceback",
    "Runner",
    "Task",
    "TaskOutput",
    "TaskPicklingError",
    "TaskReturnException",
    "TaskTimeoutError",
    "TaskUnpicklingError",
    "WorkerDiedError",
    "as_completed",
    "create_task",
    "executor_gather",
    "gather",
    "is_exception",
    "thread_as_completed",
    "thread_gather",
]

# Public names load on first use (PEP 562), so that importing syncio costs almost
# nothing: a spawn or forkserver worker imports this package before it can run a task,
# and should load only what a worker needs. Type checkers read the imports above.
_EXPORTS = {
    "RemoteError": "._errors",
    "RemoteTraceback": "._errors",
    "TaskPicklingError": "._errors",
    "TaskTimeoutError": "._errors",
    "TaskUnpicklingError": "._errors",
    "WorkerDiedError": "._errors",
    "executor_gather": "._executor",
    "as_completed": "._gather",
    "gather": "._gather",
    "thread_as_completed": "._gather",
    "thread_gather": "._gather",
    "TaskReturnException": "._outcome",
    "is_exception": "._guard",
    "TaskOutput": "._output",
    "ProgressCallback": "._progress",
    "Runner": "._runner",
    "Task": "._task",
    "create_task": "._task",
}

if not typing.TYPE_CHECKING:  # hidden from type checkers, which would then accept any name

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # __import__ rather than importlib.import_module: a worker process imports this
        # package first, and importlib is one module more for it to load.
        value = getattr(__import__(module[1:], globals(), None, [name], 1), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
