"""Guard the public API: __all__ is exactly what syncio exports, and nothing private leaks."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

import syncio

EXPECTED = {
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
}


def test_all_lists_every_public_name_once() -> None:
    assert len(syncio.__all__) == len(set(syncio.__all__))
    assert set(syncio.__all__) == EXPECTED


def test_every_public_attribute_is_in_all() -> None:
    for name in syncio.__all__:  # names load on first use: load them all
        getattr(syncio, name)
    public = {
        name
        for name, value in vars(syncio).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(syncio.__all__)
    assert set(syncio.__all__) <= set(dir(syncio))
    with pytest.raises(AttributeError, match="module 'syncio' has no attribute 'gahter'"):
        getattr(syncio, "gahter")  # noqa: B009


def test_importing_syncio_loads_only_what_a_worker_needs() -> None:
    code = (
        "import sys, syncio._worker\n"
        "heavy = ['concurrent.futures', 'syncio._executor', 'syncio._gather', 'syncio._runner', 'uuid']\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_public_objects_say_they_come_from_syncio() -> None:
    for name in syncio.__all__:
        obj = getattr(syncio, name)
        if name == "ProgressCallback":  # a type alias: typing objects name no module of ours
            continue
        assert obj.__module__.startswith("syncio."), name
        assert obj.__doc__, f"{name} has no docstring"


def test_tests_import_the_installed_package() -> None:
    """Under tox the suite must exercise the installed wheel, not the source tree."""
    if os.environ.get("SYNCIO_EXPECT_INSTALLED") != "1":
        pytest.skip("only checked where the package is installed as a wheel (tox)")
    assert "site-packages" in Path(syncio.__file__).parts


def _public_callables() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in syncio.__all__:
        obj = getattr(syncio, name)
        if name == "ProgressCallback":
            continue
        found.append((name, obj))
        if isinstance(obj, type):
            found += [(f"{name}.{attr}", value) for attr, value in vars(obj).items() if inspect.isfunction(value)]
    return found


@pytest.mark.parametrize(("name", "obj"), _public_callables())
def test_annotations_evaluate_at_run_time(name: str, obj: object) -> None:
    """typing.get_type_hints works on every public object, Python 3.9 included.

    The one exception is Python 3.9's own: its typing cannot evaluate ``P.args`` of a
    ParamSpec (from typing_extensions) in any library, so ``Task.__call__`` is checked
    to fail in exactly that way there.
    """
    if name == "Task.__call__" and sys.version_info < (3, 10):
        with pytest.raises(TypeError, match=r"Got P\.args"):
            typing.get_type_hints(obj)
        return
    typing.get_type_hints(obj)


def test_task_subscripts_at_run_time() -> None:
    alias = syncio.Task[[int, str], float]
    assert typing.get_origin(alias) is syncio.Task
    assert typing.get_args(syncio.Task[[], int])[-1] is int
    assert typing.get_origin(syncio.TaskOutput[int]) is syncio.TaskOutput


def test_overload_ladders_are_up_to_date() -> None:
    script = Path(__file__).parent / "typing" / "generate_overloads.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout
