"""syncio: asyncio's create_task/gather for synchronous code, in processes or threads.

>>> from syncio import create_task, thread_gather
>>> results = thread_gather(create_task(pow)(2, 10), create_task(divmod)(7, 2))
>>> list(results)
[1024, (3, 1)]
"""

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
from ._outcome import TaskReturnException as TaskReturnException
from ._outcome import is_exception as is_exception
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
