"""The best config a search had found after each evaluation: how strategies compare by cost.

A study that asks "does TPE reach brute force's best with fewer evaluations?" compares, per
sweep, the best objective value found so far against the evaluations spent. Configs are taken in
the order the strategy proposed them (the store's order); after config k the sweep had spent every
full-fidelity search run of configs 1..k, and its best is the best mean of the first objective
among those configs that keep the spec's constraints (and, where the spec has a target, pass it:
then the objective is the cost minimized among passing configs, e.g. the fewest bits within half a
point of full precision). Pure: a function of an `Analysis` and the proposal order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotlap.analysis.configs import Analysis
from hotlap.errors import HotlapError

__all__ = ["Curve", "CurvePoint", "best_so_far"]


@dataclass(frozen=True)
class CurvePoint:
    configs: int  # configs evaluated so far (in proposal order)
    runs: int  # their full-fidelity search runs
    best: float | None  # the best mean of the objective so far (None: no config kept yet)
    best_config: str | None


@dataclass(frozen=True)
class Curve:
    sweep: str
    strategy: str
    metric: str
    maximize: bool
    points: tuple[CurvePoint, ...]

    @property
    def final(self) -> CurvePoint | None:
        return self.points[-1] if self.points else None

    def found_at(self) -> CurvePoint | None:
        """The point at which the final best was first found."""
        final = self.final
        if final is None or final.best is None:
            return None
        return next(p for p in self.points if p.best_config == final.best_config)

    def reached(self, value: float) -> CurvePoint | None:
        """The first point whose best is at least as good as `value` (None: never)."""
        for point in self.points:
            if point.best is not None and (point.best >= value if self.maximize else point.best <= value):
                return point
        return None


def best_so_far(analysis: Analysis, order: Sequence[str], sweep: str) -> Curve:
    """The sweep's best-so-far curve over `order` (config ids, proposal order). A sweep with two
    or more objectives has no single best: a HotlapError (compare its Pareto fronts instead)."""
    spec = analysis.spec
    objectives = spec.objective or []
    if len(objectives) > 1:
        raise HotlapError(
            f"sweep {sweep} has {len(objectives)} objectives: best-so-far needs one (its report "
            "shows the Pareto front)"
        )
    metric = objectives[0].metric if objectives else analysis.quality_metric
    maximize = (objectives[0].direction if objectives else analysis.quality.direction) == "maximize"
    reports = {r.config_id: r for r in analysis.configs if r.fidelity == "full" and r.stage == "search"}
    points: list[CurvePoint] = []
    runs = 0
    best: float | None = None
    best_config: str | None = None
    for config_id in order:
        report = reports.get(config_id)
        if report is None or report.n == 0:
            continue
        runs += report.n
        summary = report.metrics.get(metric)
        mean = summary.mean if summary is not None else None
        passes = analysis.target is None or (report.verdict is not None and report.verdict.decision == "pass")
        kept = config_id not in analysis.broken and passes
        if kept and mean is not None and (best is None or (mean > best if maximize else mean < best)):
            best, best_config = mean, config_id
        points.append(CurvePoint(len(points) + 1, runs, best, best_config))
    return Curve(sweep, spec.strategy.name, metric, maximize, tuple(points))
