"""Check what `python -m build` made: run by `tox -e package` after building.

    python tests/check_dist.py DIST_DIR

The wheel must carry the package with its typing markers (py.typed, the .pyi view of
TaskOutput) and nothing else; the sdist must carry what a rebuild needs.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(dist: Path) -> int:
    (wheel,) = dist.glob("syncio-*.whl")
    (sdist,) = dist.glob("syncio-*.tar.gz")
    modules = {f"syncio/{path.name}" for path in (ROOT / "syncio").iterdir() if path.suffix in {".py", ".pyi"}}
    expected = modules | {"syncio/py.typed"}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packaged = {name for name in names if not name.startswith("syncio-")}
    problems = [f"wheel lacks {name}" for name in sorted(expected - packaged)]
    problems += [f"wheel has stray {name}" for name in sorted(packaged - expected)]
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE", "syncio/py.typed", "syncio/_output.pyi"):
        if needed not in members:
            problems.append(f"sdist lacks {needed}")
    for problem in problems:
        print(problem)
    print(f"{wheel.name}: {len(packaged)} files; {sdist.name}: {len(members)} files; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
