"""The benchmark report: machine description, one markdown table per workload, targets."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, cast

from plan import FAMILIES, PEERS, REFERENCE, TARGETS, Case, Family, Target

Measurement = Mapping[str, float]


@dataclass
class CaseResult:
    """Every measurement of one case, by peer, and the peers whose runs failed."""

    case: Case
    samples: dict[str, list[Measurement]] = field(default_factory=dict[str, list[Measurement]])
    failures: dict[str, str] = field(default_factory=dict[str, str])

    def values(self, peer: str, metric: str) -> list[float]:
        return [sample[metric] for sample in self.samples.get(peer, []) if metric in sample]

    def median(self, peer: str, metric: str) -> Optional[float]:
        values = self.values(peer, metric)
        return statistics.median(values) if values else None


# -- machine ----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> Optional[float]:
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return None


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def describe_machine() -> dict[str, object]:
    """What the numbers depend on, gathered in the process that runs the suite."""
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "memory_gib": _memory_gib(),
        "kernel": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }


def machine_lines(machine: Mapping[str, object], versions: Mapping[str, object]) -> list[str]:
    memory = machine.get("memory_gib")
    memory_text = f", {memory:.0f} GiB RAM" if isinstance(memory, float) else ""
    return [
        f"- Machine: {machine['cpu_model']}, {machine['cpus']} CPUs ({machine['usable_cpus']} usable)"
        f"{memory_text}, {machine['kernel']}",
        f"- Python {versions.get('python')} ({versions.get('implementation')}), "
        f"default start method {versions.get('default_start_method')}",
        f"- syncio under test: {versions.get('syncio')} (commit {versions.get('commit', 'unknown')}); "
        f"syncio 0.0.4: {versions.get('syncio_legacy') or 'not installed'}; "
        f"joblib: {versions.get('joblib') or 'not installed'}",
        f"- Date: {machine['date']}; load average at start {_load(machine.get('load_average'))}, "
        f"at end {_load(versions.get('load_average_end'))}",
    ]


def busy_warning(machine: Mapping[str, object], versions: Mapping[str, object]) -> list[str]:
    """A warning when other work kept the CPUs busy during the run (load average >= half the CPUs)."""
    cpus = machine.get("usable_cpus")
    loads = _loads(machine.get("load_average"))[:1] + _loads(versions.get("load_average_end"))[:1]
    peak = max(loads, default=0.0)
    if not isinstance(cpus, int) or peak < cpus / 2:
        return []
    return [f"- **Busy machine**: 1-minute load average up to {peak:.1f} on {cpus} CPUs; timings are noisy."]


def _loads(value: object) -> list[float]:
    """The 1-, 5- and 15-minute load averages from a (JSON-safe) sequence, or []."""
    if isinstance(value, (tuple, list)):
        return [float(v) for v in cast("Sequence[float]", value)]
    return []


def _load(value: object) -> str:
    return " / ".join(f"{v:.2f}" for v in _loads(value)) or "unknown"


# -- tables -----------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.0f} ms"
    if seconds >= 0.001:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.3f} ms"


def format_metric(value: float, metric: str) -> str:
    return f"{value:.0f} MiB" if metric == "peak_rss_mib" else format_seconds(value)


def _extra_header(family: Family) -> list[str]:
    headers = {"speedup": "speed-up vs serial", "throughput": "throughput", "baseline": "RSS before the call"}
    return [headers[family.extra]] if family.extra else []


def _extra_cell(family: Family, result: CaseResult, peer: str, median: float) -> list[str]:
    if family.extra == "speedup":
        serial = result.median("serial", family.metric)
        return [f"{serial / median:.2f}x" if serial else "n/a"]
    if family.extra == "throughput":
        return [f"{result.case.total_mib / median:.0f} MiB/s"]
    if family.extra == "baseline":
        baseline = result.median(peer, "baseline_rss_mib")
        return [f"{baseline:.1f} MiB" if baseline is not None else "n/a"]
    return []


def _peer_label(case: Case, peer: str) -> str:
    calls = case.calls(peer)
    return PEERS[peer].label + (f" (per call, {calls} calls timed together)" if calls > 1 else "")


def _peer_row(family: Family, result: CaseResult, peer: str) -> list[str]:
    label = [result.case.label, _peer_label(result.case, peer)]
    median = result.median(peer, family.metric)
    if median is None:
        reason = result.failures.get(peer, "no measurement")
        return [*label, f"failed: {reason}", "", "", *([""] * len(_extra_header(family)))]
    values = result.values(peer, family.metric)
    spread = f"{format_metric(min(values), family.metric)} to {format_metric(max(values), family.metric)}"
    reference = result.median(REFERENCE, family.metric)
    ratio = f"{reference / median:.2f}" if reference is not None and median > 0 else "n/a"
    row = [*label, format_metric(median, family.metric), spread, ratio]
    return row + _extra_cell(family, result, peer, median)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]


def family_section(family: Family, results: Sequence[CaseResult], repeats: int) -> list[str]:
    what = "peak RSS" if family.metric == "peak_rss_mib" else "time"
    header = [
        family.case_header,
        "peer",
        f"median {what}",
        f"min to max ({repeats * family.repeat_factor} runs)",
        "syncio ÷ peer",
    ]
    rows = [_peer_row(family, result, peer) for result in results for peer in result.case.peers]
    table = markdown_table(header + _extra_header(family), rows)
    return [f"## {family.title} (`--only {family.name}`)", "", family.about, "", *table, ""] + (
        _build_note(results) if family.show_build else []
    )


def _build_note(results: Sequence[CaseResult]) -> list[str]:
    """How much of syncio's time went into building its tasks, which the pools do not need."""
    parts: list[str] = []
    for result in results:
        build = result.median(REFERENCE, "build_seconds")
        total = result.median(REFERENCE, "seconds")
        if build is not None and total:
            parts.append(f"{result.case.label}: {format_seconds(build)} ({build / total:.0%})")
    if not parts:
        return []
    return [f"Of syncio's time, building the tasks with `create_task(f)(x)`: {'; '.join(parts)}.", ""]


def tables(results: Sequence[CaseResult], repeats: int) -> list[str]:
    lines: list[str] = []
    for family in FAMILIES.values():
        mine = [result for result in results if result.case.family == family.name]
        if mine:
            lines += family_section(family, mine, repeats)
    return lines


# -- targets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetResult:
    title: str
    goal: str
    value: Optional[float]  # the ratio, or the median itself for a target without a denominator; None: not measured
    met: Optional[bool]
    measured: str  # value as shown, with the comparison ratio if the target has one
    comparison: Optional[float] = None  # median(numerator) / median(compare_to), for information


def _ratio(top: Optional[float], bottom: Optional[float]) -> Optional[float]:
    return top / bottom if top is not None and bottom else None


def evaluate_target(target: Target, result: Optional[CaseResult]) -> TargetResult:
    """One target with its measured value (a ratio, or a median) and whether it is met."""
    metric = FAMILIES[target.case_key.split("/", 1)[0]].metric
    top = result.median(target.numerator, metric) if result else None
    if target.denominator is None:
        value = top
        goal = f"{target.op} {format_metric(target.bound, metric)}"
        shown = format_metric(value, metric) if value is not None else ""
    else:
        value = _ratio(top, result.median(target.denominator, metric) if result else None)
        goal = f"{target.op} {target.bound}"
        shown = f"{value:.3f}" if value is not None else ""
    comparison = None
    if target.compare_to is not None and result is not None:
        other = result.median(target.compare_to, metric)
        comparison = _ratio(top, other)
        if comparison is not None and other is not None:
            shown += f"; ÷ {PEERS[target.compare_to].label} ({format_metric(other, metric)}): {comparison:.2f}"
    met = target.met(value) if value is not None else None
    return TargetResult(target.title, goal, value, met, shown or "not measured", comparison)


def evaluate_targets(results: Sequence[CaseResult]) -> list[TargetResult]:
    """Each target with its measured value and whether it is met."""
    by_key = {result.case.key: result for result in results}
    return [evaluate_target(target, by_key.get(target.case_key)) for target in TARGETS]


def target_lines(evaluated: Sequence[TargetResult]) -> list[str]:
    rows: list[list[str]] = []
    for item in evaluated:
        met = "-" if item.met is None else ("yes" if item.met else "**NO**")
        rows.append([item.title, item.measured, item.goal, met])
    checked = [item for item in evaluated if item.met is not None]
    met_count = sum(1 for item in checked if item.met)
    return [
        "## Targets",
        "",
        *markdown_table(["target", "measured", "goal", "met"], rows),
        "",
        f"{met_count} of {len(checked)} measured targets met.",
    ]
