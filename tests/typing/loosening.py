"""Prove the typing suite catches looser library types.

Each mutation loosens one annotation in a scratch copy of the repository; mypy and
pyright must then both fail on the typing suite. Run by `tox -e typing`:

    python tests/typing/loosening.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (file, exact text, looser text, what the suite must notice)
MUTATIONS = [
    (
        "syncio/_task.py",
        "def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Task[[], R_co]:",
        "def __call__(self, *args: Any, **kwargs: Any) -> Task[[], R_co]:",
        "task arguments no longer checked",
    ),
    (
        "syncio/_task.py",
        "def create_task(func: Callable[[Unpack[Ts]], T], /, args: tuple[Unpack[Ts]]) -> Task[[], T]: ...",
        "def create_task(func: Callable[..., T], /, args: tuple[Unpack[Ts]]) -> Task[[], T]: ...",
        "args= no longer checked against the function",
    ),
    (
        "syncio/_output.pyi",
        "def __getitem__(self, key: Task[[], _R], /) -> _R | TaskReturnException: ...",
        "def __getitem__(self, key: Task[[], _R], /) -> Any: ...",
        "lookup by task returns Any",
    ),
    (
        "syncio/_gather.py",
        ") -> TaskOutput[R1 | R2]: ...",
        ") -> TaskOutput[Any]: ...",
        "two-task gather loses its result types",
    ),
    (
        "syncio/_outcome.py",
        "def __bool__(self) -> Literal[False]:",
        "def __bool__(self) -> bool:",
        "truthiness no longer narrows away failures",
    ),
]


def _checks_fail(workdir: Path) -> dict[str, bool]:
    commands = {
        "mypy": [sys.executable, "-m", "mypy", "--no-incremental"],
        "pyright": [sys.executable, "-m", "pyright"],
    }
    return {
        name: subprocess.run(command, cwd=workdir, capture_output=True, check=False).returncode != 0
        for name, command in commands.items()
    }


def main() -> int:
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        for name in ("syncio", "tests", "examples", "stubs"):
            shutil.copytree(ROOT / name, workdir / name)
        for name in ("mypy.ini", "pyproject.toml"):
            shutil.copy(ROOT / name, workdir / name)
        for path, exact, looser, what in MUTATIONS:
            target = workdir / path
            original = target.read_text()
            assert original.count(exact) >= 1, f"mutation target not found in {path}: {exact}"
            target.write_text(original.replace(exact, looser, 1))
            failed = _checks_fail(workdir)
            target.write_text(original)
            verdict = ", ".join(f"{checker} {'caught it' if hit else 'MISSED it'}" for checker, hit in failed.items())
            print(f"{what}: {verdict}")
            missed += [f"{checker}: {what}" for checker, hit in failed.items() if not hit]
    if missed:
        print("the typing suite did not notice:", *missed, sep="\n  ")
        return 1
    print(f"all {len(MUTATIONS)} loosenings caught by both checkers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
