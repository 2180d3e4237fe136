"""What the benchmark suite measures: the peers, the workload families and their cases."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from typing import Mapping, Optional

MIB = 1 << 20
REFERENCE = "syncio"  # ratios are REFERENCE's median / the peer's median
LEGACY_MAX_TASKS = 1000  # syncio 0.0.4 starts one process per task: not beyond this
PROCESS_SIZES = (1, 10, 100, 1000, 10_000)
CPU_TASKS, CPU_SECONDS = 8, 0.25
SLEEP_TASKS, SLEEP_SECONDS = 200, 0.05
BIG_TASKS, BIG_BYTES = 4, 64 * MIB
CPU_LABEL = f"{CPU_TASKS} x {CPU_SECONDS} s"
BIG_LABEL = f"{BIG_TASKS} x {BIG_BYTES // MIB} MiB"
THREAD_TASKS = 1000
WARM_CALLS = 200  # latency, warm peers: one-task calls timed together in one measurement
WARM_SECONDS_GOAL = 0.0004  # the warm one-task call's target: per-call time at most 0.4 ms
RSS_TASKS = 1000


@dataclass(frozen=True)
class PeerInfo:
    label: str
    venv: str = "main"  # "main": this checkout + joblib; "legacy": syncio 0.0.4
    needs: Optional[str] = None  # a package that must be installed in its venv


PEERS: Mapping[str, PeerInfo] = {
    "syncio": PeerInfo("syncio (this checkout)"),
    "syncio-0.0.4": PeerInfo("syncio 0.0.4", venv="legacy", needs="syncio"),
    "serial": PeerInfo("serial loop, no pool"),
    "ppe-fresh": PeerInfo("ProcessPoolExecutor, fresh"),
    "ppe-reused": PeerInfo("ProcessPoolExecutor, reused"),
    "syncio-runner": PeerInfo("syncio Runner, warm"),
    "pool-fresh": PeerInfo("multiprocessing.Pool.map, fresh"),
    "joblib-loky-fresh": PeerInfo("joblib loky, fresh", needs="joblib"),
    "joblib-loky-reused": PeerInfo("joblib loky, reused", needs="joblib"),
    "tpe-fresh": PeerInfo("ThreadPoolExecutor, fresh"),
    "tpe-reused": PeerInfo("ThreadPoolExecutor, reused"),
    "joblib-threading": PeerInfo("joblib threading", needs="joblib"),
}


@dataclass(frozen=True)
class Family:
    """A workload, selectable with ``--only NAME``; each has one or more cases."""

    name: str
    title: str
    case_header: str  # the table's first column: what varies between its cases
    about: str
    metric: str = "seconds"  # or "peak_rss_mib"
    extra: str = ""  # "speedup" (over the serial peer), "throughput" (MiB/s) or "baseline" (RSS before)
    show_build: bool = False  # add a line on syncio's time spent in create_task
    repeat_factor: int = 1  # runs per measurement = --repeats x this (for short, noisy calls)


FAMILIES: Mapping[str, Family] = {
    f.name: f
    for f in (
        Family(
            "process",
            "Trivial tasks in processes",
            "N",
            "N tasks returning i + 1: the per-call and per-task overhead of a process gather. "
            "Default start method and each library's default worker count. "
            f"syncio 0.0.4 forks one process per task, so it runs only up to N = {LEGACY_MAX_TASKS}.",
            show_build=True,
        ),
        Family(
            "thread",
            "Trivial tasks in threads",
            "N",
            f"{THREAD_TASKS} tasks returning i + 1 in threads; each library's default thread count "
            "(joblib: one per CPU).",
            show_build=True,
        ),
        Family(
            "cpu",
            "CPU-bound tasks",
            "tasks",
            f"{CPU_TASKS} tasks of a pure-Python loop calibrated to ~{CPU_SECONDS} s each; speed-up is the "
            "serial loop's median over the peer's (ideal: the number of CPUs).",
            extra="speedup",
        ),
        Family(
            "sleep",
            "Waiting tasks in threads",
            "tasks",
            f"{SLEEP_TASKS} tasks each sleeping {SLEEP_SECONDS * 1000:.0f} ms, max_workers={SLEEP_TASKS} "
            f"for every peer (ideal: ~{SLEEP_SECONDS * 1000:.0f} ms).",
        ),
        Family(
            "big-results",
            "Large results",
            "tasks",
            f"{BIG_TASKS} tasks each returning {BIG_BYTES // MIB} MiB of bytes; throughput is the MiB "
            "returned per second of the whole call.",
            extra="throughput",
        ),
        Family(
            "big-args",
            "Large arguments",
            "tasks",
            f"{BIG_TASKS} tasks each taking a distinct {BIG_BYTES // MIB} MiB bytes argument made before the "
            "call, returning its length. Under fork, syncio and syncio 0.0.4 hand tasks to forked workers "
            "without pickling them; the pools pickle every argument.",
            extra="throughput",
        ),
        Family(
            "latency",
            "One-task call per start method",
            "start method",
            "One trivial task. Fresh peers: the whole call, workers started and stopped, syncio's gather "
            "against a fresh ProcessPoolExecutor(mp_context=...) submit + result + shutdown; syncio 0.0.4 only "
            "supports fork. Warm peers: a syncio Runner(mp_context=..., max_workers=1) against a "
            "ProcessPoolExecutor(1, mp_context=...), each warmed by one untimed call; then "
            f"{WARM_CALLS} one-task calls (Runner.gather, or submit + result) are timed together in one "
            f"measurement, and their rows show the time per call (loop time ÷ {WARM_CALLS}). On those rows "
            "syncio ÷ peer compares syncio's fresh call with one warm call. These calls are short and noisy, "
            "so they get three times as many runs.",
            repeat_factor=3,
        ),
        Family(
            "rss",
            "Peak memory",
            "N",
            "Peak RSS of the benchmark process and all its descendants (summed, sampled about every 0.2 ms "
            f"from /proc by a separate process) while running {RSS_TASKS} trivial tasks. The last column is the "
            "process's RSS just before the call (its imports included).",
            metric="peak_rss_mib",
            extra="baseline",
        ),
    )
}


@dataclass(frozen=True)
class Case:
    family: str
    label: str
    spec: Mapping[str, object]  # measure.Spec fields, less "peer"
    peers: tuple[str, ...]
    total_mib: float = 0.0  # data moved by the call, for throughput
    # per-peer changes to ``spec``; "calls": N times the call in one measurement, reported per call
    peer_spec: Mapping[str, Mapping[str, object]] = field(default_factory=dict[str, Mapping[str, object]])

    @property
    def key(self) -> str:
        return f"{self.family}/{self.label}"

    def spec_for(self, peer: str) -> dict[str, object]:
        """The measure.Spec fields (as JSON-ready values) for one of this case's peers."""
        return {**self.spec, **self.peer_spec.get(peer, {}), "peer": peer}

    def calls(self, peer: str) -> int:
        """How many calls one measurement of ``peer`` times; its times are per call."""
        calls = self.spec_for(peer).get("calls", 1)
        return calls if isinstance(calls, int) else 1


def _process_cases() -> list[Case]:
    cases: list[Case] = []
    for n in PROCESS_SIZES:
        peers = ["syncio", "syncio-0.0.4", "ppe-fresh", "ppe-reused", "pool-fresh"]
        peers += ["joblib-loky-fresh", "joblib-loky-reused"]
        if n > LEGACY_MAX_TASKS:
            peers.remove("syncio-0.0.4")
        cases.append(Case("process", f"{n}", {"kind": "trivial", "n": n}, tuple(peers)))
    return cases


LATENCY_METHODS = ("fork", "spawn", "forkserver")


def _latency_cases() -> list[Case]:
    warm: Mapping[str, object] = {"calls": WARM_CALLS, "max_workers": 1}
    cases: list[Case] = []
    for method in LATENCY_METHODS:
        if method not in multiprocessing.get_all_start_methods():
            continue
        fresh = ("syncio", "ppe-fresh", "syncio-0.0.4") if method == "fork" else ("syncio", "ppe-fresh")
        cases.append(
            Case(
                "latency",
                method,
                {"kind": "trivial", "n": 1, "start_method": method},
                (*fresh, "syncio-runner", "ppe-reused"),
                peer_spec={"syncio-runner": warm, "ppe-reused": warm},
            )
        )
    return cases


def build_cases(families: frozenset[str], spin_iterations: int) -> list[Case]:
    """Every case of the selected families, in the order they are run and reported."""
    big_peers = ("syncio", "syncio-0.0.4", "ppe-fresh", "pool-fresh", "joblib-loky-fresh")
    thread_peers = ("syncio", "syncio-0.0.4", "tpe-fresh", "tpe-reused", "joblib-threading")
    big_mib = BIG_TASKS * BIG_BYTES / MIB
    by_family: dict[str, list[Case]] = {
        "process": _process_cases(),
        "thread": [
            Case("thread", f"{THREAD_TASKS}", {"kind": "trivial", "n": THREAD_TASKS, "threads": True}, thread_peers)
        ],
        "cpu": [
            Case(
                "cpu",
                CPU_LABEL,
                {"kind": "cpu", "n": CPU_TASKS, "size": spin_iterations},
                ("serial", "syncio", "syncio-0.0.4", "ppe-fresh", "pool-fresh", "joblib-loky-fresh"),
            )
        ],
        "sleep": [
            Case(
                "sleep",
                f"{SLEEP_TASKS} x {SLEEP_SECONDS * 1000:.0f} ms",
                {
                    "kind": "sleep",
                    "n": SLEEP_TASKS,
                    "seconds": SLEEP_SECONDS,
                    "threads": True,
                    "max_workers": SLEEP_TASKS,
                },
                thread_peers,
            )
        ],
        "big-results": [
            Case(
                "big-results", BIG_LABEL, {"kind": "big-results", "n": BIG_TASKS, "size": BIG_BYTES}, big_peers, big_mib
            )
        ],
        "big-args": [
            Case("big-args", BIG_LABEL, {"kind": "big-args", "n": BIG_TASKS, "size": BIG_BYTES}, big_peers, big_mib)
        ],
        "latency": _latency_cases(),
        "rss": [
            Case(
                "rss",
                f"{RSS_TASKS}",
                {"kind": "trivial", "n": RSS_TASKS, "sample_rss": True},
                ("syncio", "ppe-fresh", "pool-fresh"),
            )
        ],
    }
    return [case for name in FAMILIES if name in families for case in by_family[name]]


@dataclass(frozen=True)
class Target:
    """A goal from the project's issue: ``median(numerator) / median(denominator) <op> bound``.

    Without a denominator the goal is on ``median(numerator)`` itself, in the family's
    metric (seconds: per call for peers timed over a loop of calls); ``compare_to`` then
    names a peer whose median is shown next to it as a ratio, for information.
    """

    title: str
    case_key: str
    numerator: str
    denominator: Optional[str]
    op: str  # "<=" or ">="
    bound: float
    compare_to: Optional[str] = None

    def met(self, value: float) -> bool:
        return value <= self.bound if self.op == "<=" else value >= self.bound


TARGETS: tuple[Target, ...] = (
    Target(
        "10,000 trivial process tasks: syncio ÷ Pool.map (fresh)", "process/10000", "syncio", "pool-fresh", "<=", 2.0
    ),
    Target(
        "10,000 trivial process tasks: syncio ÷ ProcessPoolExecutor submit-per-task (fresh)",
        "process/10000",
        "syncio",
        "ppe-fresh",
        "<=",
        0.1,
    ),
    Target(
        "1,000 trivial thread tasks: syncio ÷ reused ThreadPoolExecutor",
        "thread/1000",
        "syncio",
        "tpe-reused",
        "<=",
        1.0,
    ),
    Target("8 CPU-bound tasks: speed-up over the serial loop", f"cpu/{CPU_LABEL}", "serial", "syncio", ">=", 1.90),
    Target(
        "4 x 64 MiB results: syncio throughput ÷ ProcessPoolExecutor's",
        f"big-results/{BIG_LABEL}",
        "ppe-fresh",
        "syncio",
        ">=",
        1.5,
    ),
    Target("one-task call, fork: syncio ÷ fresh ProcessPoolExecutor", "latency/fork", "syncio", "ppe-fresh", "<=", 1.0),
    Target(
        "one-task call, spawn: syncio ÷ fresh ProcessPoolExecutor", "latency/spawn", "syncio", "ppe-fresh", "<=", 1.0
    ),
    Target(
        "one-task call, forkserver: syncio ÷ fresh ProcessPoolExecutor",
        "latency/forkserver",
        "syncio",
        "ppe-fresh",
        "<=",
        1.0,
    ),
    *(
        Target(
            f"one-task call on warm workers (syncio Runner), {method}: per-call time",
            f"latency/{method}",
            "syncio-runner",
            None,
            "<=",
            WARM_SECONDS_GOAL,
            compare_to="ppe-reused",
        )
        for method in LATENCY_METHODS
    ),
    Target("peak RSS at 1,000 tasks: syncio ÷ fresh ProcessPoolExecutor", "rss/1000", "syncio", "ppe-fresh", "<=", 1.0),
)
