"""A sweep's results as decisions: per-config statistics, verdicts, the recommendation.

`analyze(spec, configs, runs)` is a pure function of stored records. The report, `hotlap status`
and the engine's `best/` folder all read it, so they always agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotlap.decisions import Evidence, Recommendation, Target, Verdict, race, recommend
from hotlap.stats import Comparison, Rate, Summary, compare, describe, success_rate
from hotlap.store import ConfigRecord, RunRecord
from hotlap.sweep.spec import METRICS, SweepSpec

__all__ = ["Analysis", "ConfigReport", "analyze"]

FIDELITY_ORDER = {"full": 0, "low": 1}
DECISION_ORDER = {"pass": 0, "undecided": 1, "fail": 2}


@dataclass(frozen=True)
class ConfigReport:
    """One config at one fidelity and stage."""

    config_id: str
    params: dict[str, Any]
    config: dict[str, Any]
    is_baseline: bool
    fidelity: str
    stage: str
    failed: int
    seeds: tuple[int, ...]
    metrics: dict[str, Summary]  # every metric
    values: dict[str, dict[int, float]]  # metric -> seed -> value
    success: Rate | None  # against the target (or None without one)
    verdict: Verdict | None
    vs_baseline: Comparison | None  # accuracy metric, this minus the baseline
    time_vs_baseline: Comparison | None  # time metric, this minus the baseline

    @property
    def n(self) -> int:
        return len(self.seeds)

    def label(self) -> str:
        if self.params:
            return ", ".join(f"{k}={v}" for k, v in self.params.items())
        return "baseline" if self.is_baseline else "(base config)"


@dataclass(frozen=True)
class Analysis:
    spec: SweepSpec
    accuracy_metric: str
    time_metric: str
    target: Target | None
    alpha: float  # the per-look alpha decisions were made at
    configs: list[ConfigReport]  # search stage, full fidelity first, sorted by the objective
    recommendation: Recommendation
    best: ConfigReport | None
    runs_used: int
    runs_max: int | None  # what fixed max seeds would have cost (racing only)
    verification: list[ConfigReport] = field(default_factory=list)
    verification_held: bool | None = None

    @property
    def runs_saved(self) -> int | None:
        return None if self.runs_max is None else self.runs_max - self.runs_used

    def report_for(self, config_id: str) -> ConfigReport | None:
        return next(
            (c for c in self.configs if c.config_id == config_id and c.fidelity == "full"), None
        )


def _metrics(spec: SweepSpec) -> tuple[str, str]:
    """(the accuracy metric the decisions are about, the time metric to minimize)."""
    accuracy = spec.target.metric if spec.target else next(
        (o.metric for o in spec.objective if "accuracy" in o.metric), "tta_accuracy"
    )  # fmt: skip
    time = next(
        (o.metric for o in spec.objective if o.direction == "minimize" and "time" in o.metric),
        "total_time",
    )
    return accuracy, time


def _group(runs: Iterable[RunRecord]) -> dict[tuple[str, str, str], list[RunRecord]]:
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for run in runs:
        if run.status in ("done", "failed"):
            groups[(run.config_id, run.fidelity, run.stage)].append(run)
    return groups


def _report(
    config: ConfigRecord, fidelity: str, stage: str, runs: Sequence[RunRecord], spec: SweepSpec,
    verdict: Verdict | None, baseline: ConfigReport | None, accuracy: str, time: str,
) -> ConfigReport:  # fmt: skip
    done = sorted((r for r in runs if r.status == "done"), key=lambda r: r.seed)
    values = {m: {r.seed: float(r.value(m)) for r in done} for m in METRICS}  # type: ignore[arg-type]
    metrics = {m: describe(list(values[m].values()), spec.confidence) for m in METRICS}
    success = None
    if spec.target is not None:
        success = success_rate(
            list(values[spec.target.metric].values()), spec.target.at_least, spec.confidence
        )
    vs = time_vs = None
    if baseline is not None and baseline.config_id != config.config_id and done:
        vs = compare(values[accuracy], baseline.values[accuracy], spec.confidence)
        time_vs = compare(values[time], baseline.values[time], spec.confidence)
    return ConfigReport(
        config.config_id, config.params, config.config, config.is_baseline, fidelity, stage,
        sum(1 for r in runs if r.status == "failed"), tuple(r.seed for r in done), metrics, values, success,
        verdict, vs, time_vs,
    )  # fmt: skip


def _judge(
    spec: SweepSpec, by_id: dict[str, ConfigRecord], groups: dict[tuple[str, str, str], list[RunRecord]],
    keys: list[tuple[str, str, str]], target: Target | None, alpha: float | None, accuracy: str, time: str,
) -> list[ConfigReport]:  # fmt: skip
    """Reports of one group of configs (a fidelity of the search, or the verification), each with
    its verdict at `alpha` (None: no decisions) and its comparison with the group's baseline."""
    verdicts: dict[str, Verdict] = {}
    if alpha is not None:
        evidence = {}
        for key in keys:
            done = [r for r in groups[key] if r.status == "done"]
            evidence[key[0]] = Evidence(
                [r.value(accuracy) for r in done], [r.value(time) for r in done]
            )  # type: ignore[misc]
        maximize = spec.primary.direction == "maximize" if target is None else True
        verdicts = race(evidence, target, alpha, maximize=maximize)
    base_key = next((k for k in keys if by_id[k[0]].is_baseline), None)
    baseline = None
    if base_key is not None:
        c, fidelity, stage = base_key
        baseline = _report(
            by_id[c], fidelity, stage, groups[base_key], spec, verdicts.get(c), None, accuracy, time
        )
    return [
        baseline if baseline is not None and key == base_key
        else _report(by_id[key[0]], key[1], key[2], groups[key], spec, verdicts.get(key[0]), baseline, accuracy, time)
        for key in keys
    ]  # fmt: skip


def analyze(
    spec: SweepSpec, configs: Sequence[ConfigRecord], runs: Sequence[RunRecord]
) -> Analysis:
    by_id = {c.config_id: c for c in configs}
    accuracy, time = _metrics(spec)
    target = spec.target.target() if spec.target else None
    alpha = spec.look_alpha()
    groups = _group(runs)
    reports: list[ConfigReport] = []
    runs_used, runs_max = 0, 0
    for fidelity in sorted(
        {f for (_, f, s) in groups if s == "search"}, key=lambda f: FIDELITY_ORDER.get(f, 9)
    ):
        keys = [(c, f, s) for (c, f, s) in groups if f == fidelity and s == "search"]
        decide = alpha if target is not None or spec.racing is not None else None
        reports += _judge(spec, by_id, groups, keys, target, decide, accuracy, time)
        runs_used += sum(len(groups[k]) for k in keys)
        runs_max += len(keys) * len(spec.seeds)
    reports.sort(key=lambda r: _order(r, spec, target, time))
    full = [r for r in reports if r.fidelity == reports[0].fidelity] if reports else []
    recommendation, best = _recommend(full, target, alpha, spec, time)
    verification, held = _verification(spec, by_id, groups, recommendation, accuracy, time)
    return Analysis(
        spec, accuracy, time, target, alpha, reports, recommendation, best, runs_used,
        runs_max if spec.racing is not None else None, verification, held,
    )  # fmt: skip


def _order(
    report: ConfigReport, spec: SweepSpec, target: Target | None, time: str
) -> tuple[Any, ...]:
    fidelity = FIDELITY_ORDER.get(report.fidelity, 9)
    if report.n == 0:
        return (fidelity, 9, 0.0)
    if target is not None and report.verdict is not None:
        mean_time = report.metrics[time].mean or math.inf
        return (fidelity, DECISION_ORDER[report.verdict.decision], mean_time)
    mean = report.metrics[spec.primary.metric].mean or 0.0
    return (fidelity, 0, -spec.primary.sign * mean)


def _recommend(
    reports: list[ConfigReport], target: Target | None, alpha: float, spec: SweepSpec, time: str
) -> tuple[Recommendation, ConfigReport | None]:
    reports = [r for r in reports if r.n > 0]
    names = {r.config_id: f"{r.config_id} [{r.label()}]" for r in reports}
    if target is not None:
        verdicts = {r.config_id: r.verdict for r in reports if r.verdict is not None}
        mean_times = {r.config_id: r.metrics[time].mean or math.inf for r in reports}
        recommendation = recommend(verdicts, mean_times, target, alpha, names)  # type: ignore[arg-type]
        best = next((r for r in reports if r.config_id == recommendation.config), None)
        return recommendation, best
    if not reports:
        return Recommendation(None, (), "No config has a finished run yet."), None
    best = reports[0]
    metric = spec.primary.metric
    summary = best.metrics[metric]
    shown = f"{100 * summary.mean:.2f}%" if "accuracy" in metric else f"{summary.mean:.3f} s"  # type: ignore[operator]
    sentence = f"Best mean {metric}: {names[best.config_id]} with {shown} over {best.n} seeds."
    if summary.ci_low is not None:
        ci = (f"{100 * summary.ci_low:.2f}-{100 * summary.ci_high:.2f}%" if "accuracy" in metric  # type: ignore[operator]
              else f"{summary.ci_low:.3f}-{summary.ci_high:.3f} s")  # fmt: skip
        sentence += f" ({spec.confidence:.0%} CI {ci}; set objective.target to decide with stated confidence.)"
    return Recommendation(best.config_id, (), sentence), best


def _verification(
    spec: SweepSpec, by_id: dict[str, ConfigRecord], groups: dict[tuple[str, str, str], list[RunRecord]],
    recommendation: Recommendation, accuracy: str, time: str,
) -> tuple[list[ConfigReport], bool | None]:  # fmt: skip
    keys = [k for k in groups if k[2] == "verify"]
    if not keys:
        return [], None
    target = spec.target.target() if spec.target else None
    # Verification is one look at fresh seeds: decided at the sweep's alpha, no correction needed.
    decide = 1 - spec.confidence if target is not None else None
    reports = _judge(spec, by_id, groups, keys, target, decide, accuracy, time)
    held = None
    if recommendation.config is not None and target is not None:
        mine = next((r for r in reports if r.config_id == recommendation.config), None)
        if mine is not None and mine.verdict is not None:
            held = {"pass": True, "fail": False}.get(
                mine.verdict.decision
            )  # undecided: inconclusive
    return reports, held
