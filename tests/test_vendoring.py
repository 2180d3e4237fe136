"""syncio/ copied into another tool's _vendor/ works as is: relative imports, no import-time work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import syncio

SCRIPT = """
import sys
sys.modules["syncio"] = None  # an absolute `import syncio` anywhere in the copy now fails

from tool._vendor.syncio import create_task, gather, thread_gather

if __name__ == "__main__":
    results = gather(create_task(abs)(-3), create_task(divmod)(7, 2), mp_context="{method}")
    print(list(results), list(thread_gather(create_task(pow)(2, 5))))
    print(type(results).__module__)
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_vendored_copy_runs_a_gather(tmp_path: Path, method: str) -> None:
    vendor = tmp_path / "tool" / "_vendor"
    shutil.copytree(Path(syncio.__file__).parent, vendor / "syncio", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tool" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(SCRIPT.format(method=method)))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[3, (3, 1)] [32]", "tool._vendor.syncio._output"]
    assert out.stderr == ""
