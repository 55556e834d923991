"""One place that judges configs: which metric is judged, which cost is minimized, and the verdicts.

The engine's racing (which config gets more seeds, whose race closes) and the analysis behind the
report and `hotlap status` both call `verdicts`, so they can never judge a config differently.

- With a target: the target's metric is judged (pass / fail / undecided at the stated confidence),
  and the primary objective is the cost to minimize among passing configs.
- Without one: the primary objective is judged by classic racing on the mean (best / tied /
  below the best, in the objective's direction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hotlap.decisions import Evidence, Target, Verdict, race
from hotlap.metrics import Metric
from hotlap.sweep.spec import SweepSpec

__all__ = ["DecisionMetrics", "decision_metrics", "make_target", "verdicts"]


@dataclass(frozen=True)
class DecisionMetrics:
    quality: Metric  # judged: the target's metric, or the primary objective
    cost: Metric  # minimized among passing configs (shown beside the quality without a target)

    def oriented_costs(self, values: Sequence[float]) -> list[float]:
        """Costs with lower better, whatever the cost metric's direction."""
        return [-self.cost.sign * v for v in values]

    def cost_from_oriented(self, value: float) -> float:
        return -self.cost.sign * value


def decision_metrics(spec: SweepSpec) -> DecisionMetrics:
    primary = spec.metric(spec.primary.metric)
    if spec.target is not None:
        return DecisionMetrics(spec.metric(spec.target.metric or primary.name), primary)
    others = [spec.metric(o.metric) for o in spec.objective or []][1:]
    defs = spec.metric_defs()
    cost = (
        others[0] if others
        else next((m for m in defs if m.kind == "time" and m.name != primary.name), None)
        or next((m for m in defs if m.name != primary.name), primary)
    )  # fmt: skip
    return DecisionMetrics(primary, cost)


def make_target(spec: SweepSpec) -> Target | None:
    if spec.target is None:
        return None
    metric = spec.metric(spec.target.metric or spec.primary.metric)
    target = spec.target.target()
    return Target(
        metric.name, target.threshold, target.criterion, target.success_rate, target.confidence,
        target.maximize, metric.format(target.threshold),
    )  # fmt: skip


def verdicts(
    spec: SweepSpec, values: Mapping[str, Mapping[str, Sequence[float]]], alpha: float
) -> dict[str, Verdict]:
    """The verdict of each config (config id -> metric -> its values) at per-look `alpha`."""
    metrics = decision_metrics(spec)
    evidence = {
        key: Evidence(list(v.get(metrics.quality.name, ())), metrics.oriented_costs(v.get(metrics.cost.name, ())))
        for key, v in values.items()
    }  # fmt: skip
    target = make_target(spec)
    maximize = metrics.quality.direction == "maximize"
    return race(evidence, target, alpha, maximize=maximize)
