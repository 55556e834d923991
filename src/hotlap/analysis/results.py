"""Pure functions over run records: per-config aggregates and the best config so far."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.judging import make_target
from hotlap.analysis.reports import ConfigReport
from hotlap.rules import Target
from hotlap.spec.fields import ConstraintSpec, Objective
from hotlap.spec.schema import SweepSpec
from hotlap.store import FINISHED, ConfigRecord, RunRecord, SweepRecord

__all__ = [
    "ConfigSummary",
    "SweepResult",
    "best_config",
    "objective_values",
    "strategy_feedback",
    "summarize_configs",
    "weighted_score",
]

FIDELITY_ORDER = {"low": 0, "full": 1}


@dataclass
class ConfigSummary:
    """A config's finished runs at one fidelity: every metric's values, in the order they came."""

    config_id: str
    fidelity: str
    params: dict[str, Any]
    is_baseline: bool
    values: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    n: int = 0  # done runs
    failed: int = 0
    pruned: int = 0  # runs stopped by the pruner: the config is closed, never the best

    def mean(self, metric: str) -> float | None:
        values = self.values.get(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        values = self.values.get(metric) or []
        return statistics.stdev(values) if len(values) > 1 else None

    def add(self, metrics: Mapping[str, float]) -> None:
        self.n += 1
        for metric, value in metrics.items():
            self.values[metric].append(float(value))


def summarize_configs(
    configs: Iterable[ConfigRecord], runs: Iterable[RunRecord]
) -> dict[tuple[str, str], ConfigSummary]:
    """(config_id, fidelity) -> summary of its done and failed runs."""
    by_id = {c.config_id: c for c in configs}
    out: dict[tuple[str, str], ConfigSummary] = {}
    for run in runs:
        if run.status not in FINISHED:
            continue
        key = (run.config_id, run.fidelity)
        if key not in out:
            config = by_id[run.config_id]
            out[key] = ConfigSummary(run.config_id, run.fidelity, config.params, config.is_baseline)
        if run.status == "done":
            out[key].add(run.values)
        elif run.status == "pruned":
            out[key].pruned += 1
        else:
            out[key].failed += 1
    return out


def weighted_score(weights: Mapping[str, float], metrics: Mapping[str, float]) -> float | None:
    """A run's `score`: the sum of weight x value over the weighted metrics (None where the run
    lacks one of them: a missing measure is never counted as 0)."""
    if not weights or any(name not in metrics for name in weights):
        return None
    return math.fsum(weight * float(metrics[name]) for name, weight in weights.items())


def objective_values(summary: ConfigSummary, objective: Sequence[Objective]) -> list[float] | None:
    """The mean of each objective metric; None when no run of the config finished."""
    if summary.n == 0:
        return None
    return [summary.mean(o.metric) for o in objective]  # type: ignore[misc]


_OF_SPEC: Any = object()  # strategy_feedback's target: the spec's own (made from it)


def strategy_feedback(
    summary: ConfigSummary | None,
    spec: SweepSpec,
    baseline: ConfigSummary | None = None,
    target: Target | None = _OF_SPEC,
) -> tuple[list[float] | None, float | None]:
    """What a strategy learns of a config: its objective means, and the constraint (<= 0 when the
    mean, or the success rate, reaches the target, and every `constraints` bound holds). A target
    relative to the baseline takes the difference of the means (`baseline`'s summary; no
    constraint from it while the baseline has no run). `target`: `make_target(spec)` where the
    caller has made it (a resume tells 50,000 configs)."""
    if summary is None or summary.n == 0:
        return None, None
    values = objective_values(summary, spec.objective)
    constraint = None
    if target is _OF_SPEC:
        target = make_target(spec)
    if target is not None and target.relative:
        reference = baseline.mean(target.metric) if baseline is not None and baseline.n else None
        if reference is not None:
            gap = (summary.mean(target.metric) or 0.0) - reference
            constraint = target.threshold - gap if target.maximize else gap - target.threshold
    elif target is not None:
        constraint = target.rule.gap(summary.values[target.metric], target)
    for bound in spec.constraints:  # feasible only where every one is <= 0: Optuna takes the largest
        violation = bound.violation(summary.mean(bound.metric))
        if violation is not None:
            constraint = violation if constraint is None else max(constraint, violation)
    return values, constraint


def best_config(
    summaries: Iterable[ConfigSummary],
    primary: Objective,
    constraints: Sequence[ConstraintSpec] = (),
) -> ConfigSummary | None:
    """The config with the best mean of the primary metric, at the highest fidelity that has one,
    among those whose means keep every constraint."""
    candidates = [s for s in summaries if s.n > 0 and not s.pruned and _keeps(s, constraints)]
    if not candidates:
        return None
    top = max(FIDELITY_ORDER.get(s.fidelity, 0) for s in candidates)
    candidates = [s for s in candidates if FIDELITY_ORDER.get(s.fidelity, 0) == top]
    return max(candidates, key=lambda s: primary.sign * (s.mean(primary.metric) or 0.0))


def _keeps(summary: ConfigSummary, constraints: Sequence[ConstraintSpec]) -> bool:
    return all((b.violation(summary.mean(b.metric)) or 0.0) <= 0 for b in constraints)


@dataclass(frozen=True)
class SweepResult:
    """How a session of a sweep ended."""

    sweep: SweepRecord
    state: str  # done, stopped, failed
    message: str
    best: ConfigReport | None  # the recommended config (or the best by the primary objective)
    ran: int  # runs finished in this session
    analysis: Analysis | None = None
    derived: SweepResult | None = None  # the derived sweep the spec's `reweight` asked for (run_sweep)
