from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_prints_results_by_key_then_by_iteration() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines() == [
        "output task_1: hello 1",
        "output task_2: hello 2",
        "output task_3: hello 3",
        "hello 1",
        "hello 2",
        "hello 3",
    ]
    assert out.stderr == ""
