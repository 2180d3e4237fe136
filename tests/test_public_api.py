"""Guard the public API: __all__ is exactly what syncio exports, and nothing private leaks."""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

import syncio

EXPECTED = {
    "RemoteError",
    "RemoteTraceback",
    "Task",
    "TaskOutput",
    "TaskPicklingError",
    "TaskReturnException",
    "TaskTimeoutError",
    "TaskUnpicklingError",
    "WorkerDiedError",
    "create_task",
    "gather",
    "is_exception",
    "thread_gather",
}


def test_all_lists_every_public_name_once() -> None:
    assert len(syncio.__all__) == len(set(syncio.__all__))
    assert set(syncio.__all__) == EXPECTED


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(syncio).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(syncio.__all__)


def test_public_objects_say_they_come_from_syncio() -> None:
    for name in syncio.__all__:
        obj = getattr(syncio, name)
        assert obj.__module__.startswith("syncio."), name
        assert obj.__doc__, f"{name} has no docstring"


def test_tests_import_the_installed_package() -> None:
    """Under tox the suite must exercise the installed wheel, not the source tree."""
    if os.environ.get("SYNCIO_EXPECT_INSTALLED") != "1":
        pytest.skip("only checked where the package is installed as a wheel (tox)")
    assert "site-packages" in Path(syncio.__file__).parts
