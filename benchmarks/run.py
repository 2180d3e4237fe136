"""Benchmark syncio against its peers and print a markdown report.

    python3 benchmarks/run.py                 # everything, 5 runs per measurement (~3-6 min)
    python3 benchmarks/run.py --quick         # smoke run, 2 runs per measurement (~1-2 min)
    python3 benchmarks/run.py --only process --only latency --json results.json

The script sets up what it needs on first use: ``benchmarks/.venv`` with this checkout
of syncio and joblib, and ``benchmarks/.venv-syncio004`` with ``syncio==0.0.4`` from
PyPI (the same import name, so it is measured in its own interpreter). Later runs
reinstall the checkout so the current code is measured. A peer that cannot be
installed is skipped with a note.

Every measurement runs in a fresh interpreter (``measure.py``), so no peer benefits
from modules, pools or a forkserver that an earlier one left warm; peers take turns
within each round, starting from a different peer every round.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence, cast

from plan import CPU_SECONDS, FAMILIES, PEERS, Case, build_cases
from report import (
    CaseResult,
    busy_warning,
    describe_machine,
    evaluate_targets,
    format_seconds,
    machine_lines,
    tables,
    target_lines,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MEASURE = HERE / "measure.py"
VENVS = {"main": HERE / ".venv", "legacy": HERE / ".venv-syncio004"}
LEGACY_REQUIREMENT = "syncio==0.0.4"
CHILD_TIMEOUT = 600.0  # seconds for one measurement before it is killed


class ChildFailed(Exception):
    """A measurement subprocess exited with an error, printed garbage or timed out."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- subprocesses -----------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of measurement runs: ``workloads`` importable in every worker."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE)
    env.pop("PYTHONHOME", None)
    return env


def run_child(python: Path, args: Sequence[str], timeout: float = CHILD_TIMEOUT) -> dict[str, object]:
    """Run ``measure.py ARGS`` in ``python``; return the JSON object it prints last."""
    command = [str(python), str(MEASURE), *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=HERE,
        start_new_session=True,  # its own process group: a timeout kills its workers too
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise ChildFailed(f"timed out after {timeout:.0f} s") from None
    if child.returncode != 0:
        tail = stderr.strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        raise ChildFailed(tail[0][:200])
    try:
        parsed = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise ChildFailed(f"unreadable output: {stdout[-200:]!r}") from None
    if not isinstance(parsed, dict):
        raise ChildFailed(f"unexpected output: {stdout[-200:]!r}")
    return cast("dict[str, object]", parsed)


# -- environments -----------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def pip_install(python: Path, *args: str) -> bool:
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    log(f"  $ {' '.join(command[1:])}")
    return subprocess.run(command, check=False).returncode == 0


def create_venv(venv: Path) -> bool:
    """Create ``venv`` if it does not exist; True if it was created now."""
    if venv_python(venv).exists():
        return False
    log(f"creating {venv.relative_to(REPO)}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return True


def setup_main(reinstall: bool) -> Path:
    """``.venv`` with this checkout installed (as a wheel, like a user gets it) and joblib."""
    venv = VENVS["main"]
    created = create_venv(venv)
    python = venv_python(venv)
    if created or reinstall:
        log(f"installing this checkout into {venv.relative_to(REPO)}")
        extra = () if created else ("--force-reinstall", "--no-deps")
        if not pip_install(python, *extra, str(REPO)):
            raise SystemExit("could not install this checkout of syncio; see pip's output above")
    if run_child(python, ["info"]).get("joblib") is None and not pip_install(python, "joblib"):
        log("note: joblib could not be installed; its peers are skipped")
    return python


def setup_legacy() -> Optional[Path]:
    """``.venv-syncio004`` with syncio 0.0.4 from PyPI, or None if it cannot be had."""
    venv = VENVS["legacy"]
    try:
        create_venv(venv)
    except subprocess.CalledProcessError:
        log("note: could not create the syncio 0.0.4 venv; syncio 0.0.4 is skipped")
        return None
    python = venv_python(venv)
    if run_child(python, ["info"]).get("syncio") != "0.0.4":
        log(f"installing {LEGACY_REQUIREMENT} into {venv.relative_to(REPO)}")
        if not pip_install(python, LEGACY_REQUIREMENT):
            log(f"note: {LEGACY_REQUIREMENT} could not be installed; it is skipped")
            return None
    return python


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


# -- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    pythons: Mapping[str, Path]  # venv name -> interpreter
    versions: dict[str, object]

    def supports(self, peer: str) -> bool:
        info = PEERS[peer]
        if info.venv not in self.pythons:
            return False
        return info.needs != "joblib" or self.versions.get("joblib") is not None


def prepare_environment(reinstall: bool) -> Environment:
    pythons = {"main": setup_main(reinstall)}
    legacy = setup_legacy()
    versions = run_child(pythons["main"], ["info"])
    versions["commit"] = git_commit()
    if legacy is not None:
        pythons["legacy"] = legacy
        versions["syncio_legacy"] = run_child(legacy, ["info"]).get("syncio")
    if str(versions.get("syncio", "")).startswith("0.0."):
        raise SystemExit(f"{VENVS['main']} has syncio {versions.get('syncio')}, not this checkout")
    return Environment(pythons, versions)


def available_cases(cases: Sequence[Case], env: Environment) -> tuple[list[Case], list[str]]:
    """The cases without the peers this machine cannot run, and a note for each such peer."""
    missing = sorted({peer for case in cases for peer in case.peers if not env.supports(peer)})
    notes = [f"{PEERS[peer].label} (not installed)" for peer in missing]
    kept = [replace(case, peers=tuple(p for p in case.peers if env.supports(p))) for case in cases]
    return kept, notes


def calibrate(env: Environment) -> int:
    log(f"calibrating the CPU-bound task to ~{CPU_SECONDS} s")
    iterations = run_child(env.pythons["main"], ["calibrate", str(CPU_SECONDS)])["iterations"]
    if not isinstance(iterations, int):
        raise SystemExit(f"calibration returned {iterations!r}")
    return iterations


# -- running ----------------------------------------------------------------------------


def run_case(case: Case, env: Environment, repeats: int) -> CaseResult:
    """``repeats`` rounds; within a round every peer runs once, each round starting further on."""
    result = CaseResult(case)
    peers = list(case.peers)
    for round_number in range(repeats):
        shift = round_number % len(peers)
        done: list[str] = []
        for peer in peers[shift:] + peers[:shift]:
            if peer in result.failures:
                continue  # it failed before: do not spend the time again
            spec = json.dumps(case.spec_for(peer))
            try:
                measured = run_child(env.pythons[PEERS[peer].venv], ["run", spec])
            except ChildFailed as exc:
                result.failures[peer] = str(exc)
                done.append(f"{peer} FAILED ({exc})")
                continue
            sample = {key: float(value) for key, value in measured.items() if isinstance(value, (int, float))}
            result.samples.setdefault(peer, []).append(sample)
            per_call = "/call" if case.calls(peer) > 1 else ""
            done.append(f"{peer} {format_seconds(sample['seconds'])}{per_call}")
        log(f"  {case.key} round {round_number + 1}/{repeats}: {', '.join(done)}")
    return result


# -- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: 2 runs per measurement")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these workloads (repeatable or comma-separated): {', '.join(FAMILIES)}",
    )
    parser.add_argument("--repeats", type=int, help="runs per measurement (default: 5, or 2 with --quick)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also save every raw measurement to PATH")
    parser.add_argument(
        "--no-reinstall",
        action="store_true",
        help="use the venvs as they are instead of reinstalling this checkout (faster; may measure stale code)",
    )
    args = parser.parse_args(argv)
    names = [name.strip() for item in args.only or [",".join(FAMILIES)] for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    args.families = frozenset(names)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def save_json(path: Path, machine: Mapping[str, object], env: Environment, results: Sequence[CaseResult]) -> None:
    raw = {
        "machine": machine,
        "versions": env.versions,
        "cases": [
            {**asdict(result.case), "key": result.case.key, "samples": result.samples, "failures": result.failures}
            for result in results
        ],
        "targets": [asdict(target) for target in evaluate_targets(results)],
    }
    path.write_text(json.dumps(raw, indent=2, default=str) + "\n")
    log(f"raw results saved to {path}")


def render_report(
    machine: Mapping[str, object],
    env: Environment,
    results: Sequence[CaseResult],
    notes: Sequence[str],
    repeats: int,
) -> str:
    lines = ["# syncio benchmarks", "", *machine_lines(machine, env.versions), *busy_warning(machine, env.versions)]
    lines += [
        f"- Each measurement: {repeats} runs (latency: {repeats * FAMILIES['latency'].repeat_factor}), "
        "each in a fresh interpreter; the median is shown. "
        "Ratio = syncio's median ÷ the peer's (below 1: syncio takes less time or memory).",
        *(f"- Skipped: {note}" for note in notes),
        "",
        *tables(results, repeats),
        *target_lines(evaluate_targets(results)),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    machine = describe_machine()
    env = prepare_environment(reinstall=not args.no_reinstall)
    iterations = calibrate(env) if "cpu" in args.families else 0
    cases, notes = available_cases(build_cases(args.families, iterations), env)
    for note in notes:
        log(f"note: skipped {note}")
    results: list[CaseResult] = []
    for case in cases:
        repeats = args.repeats * FAMILIES[case.family].repeat_factor
        log(f"{case.key}: {len(case.peers)} peers x {repeats} runs")
        results.append(run_case(case, env, repeats))
    env.versions["load_average_end"] = os.getloadavg()
    print(render_report(machine, env, results, notes, args.repeats))
    if args.json:
        save_json(args.json, machine, env, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
