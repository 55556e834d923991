"""One place that judges configs: which metric is judged, which cost is minimized, and the verdicts.

The engine's racing (which config gets more seeds, whose race closes) and the analysis behind the
report and `hotlap status` both call `verdicts`, so they can never judge a config differently.

- With a target: the target's metric is judged (pass / fail / undecided at the stated confidence),
  and the primary objective is the cost to minimize among passing configs.
- Without one: the primary objective is judged by classic racing on the mean (best / tied /
  below the best, in the objective's direction).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotlap.decisions import Evidence, Target, Verdict, race
from hotlap.metrics import Metric
from hotlap.rules import get_rule
from hotlap.spec.schema import SweepSpec

__all__ = [
    "DecisionMetrics",
    "FixedDesign",
    "Guarantee",
    "decision_metrics",
    "family_size",
    "fixed_design",
    "guarantee",
    "make_target",
    "planned_look",
    "verdicts",
]


@dataclass(frozen=True)
class DecisionMetrics:
    quality: Metric  # judged: the target's metric, or the primary objective
    cost: Metric  # minimized among passing configs (shown beside the quality without a target)

    def oriented_costs(self, values: Sequence[float]) -> list[float]:
        """Costs with lower better, whatever the cost metric's direction."""
        sign = -self.cost.sign
        return [sign * v for v in values]

    def cost_from_oriented(self, value: float) -> float:
        return -self.cost.sign * value


def decision_metrics(spec: SweepSpec) -> DecisionMetrics:
    primary = spec.metric(spec.primary.metric)
    if spec.target is not None:
        return DecisionMetrics(spec.metric(spec.target.metric or primary.name), primary)
    others = [spec.metric(o.metric) for o in spec.objective or []][1:]
    defs = spec.metric_defs()
    cost = (
        others[0]
        if others
        else next((m for m in defs if m.kind == "time" and m.name != primary.name), None)
        or next((m for m in defs if m.name != primary.name), primary)
    )
    return DecisionMetrics(primary, cost)


def make_target(spec: SweepSpec) -> Target | None:
    if spec.target is None:
        return None
    metric = spec.metric(spec.target.metric or spec.primary.metric)
    target = spec.target.target(maximize=metric.direction == "maximize")
    fraction = metric.kind == "fraction"
    shown = metric.format(target.threshold)
    bounds = (0.0, 1.0) if fraction else None
    if target.relative:  # a difference of two accuracies on one test set: -1 to 1, the same steps
        within = metric.format(abs(target.threshold)).replace("%", " points")
        shown = f"the baseline's {'-' if target.maximize else '+'} {within} (paired by seed)"
        bounds = (-1.0, 1.0) if fraction else None
    return Target(
        metric.name,
        target.threshold,
        target.criterion,
        target.success_rate,
        target.confidence,
        target.maximize,
        shown,
        min_std=metric.resolution / math.sqrt(12)
        if metric.resolution
        else (resolution_std(spec.dataset) if fraction else 0.0),
        bounds=bounds,
        relative=target.relative,
    )


@functools.lru_cache(maxsize=64)
def resolution_std(dataset: str) -> float:
    """The spread a fraction measured on the dataset's test set cannot honestly go below: it moves
    in steps of 1 / test images, and a uniform rounding error of one step has std step / sqrt(12)
    (0.08 points on digits' 360 images, 0.003 on CIFAR's 10,000). 0 where the size is unknown, and
    for synthetic data (`synthetic:N`, random labels for throughput: its "accuracy" is no measure)."""
    from hotlap.data.base import parse_dataset_name

    try:
        spec, _ = parse_dataset_name(dataset)
    except Exception:  # a dataset this process cannot size: no floor
        return 0.0
    test_size = 0 if spec.sized else spec.test_size
    return 1.0 / (test_size * math.sqrt(12)) if test_size else 0.0


def family_size(spec: SweepSpec, configs: int | None = None) -> int | None:
    """How many configs the recommendation is chosen from, as planned: the alpha is split over
    them, so that a wrong recommendation (a config truly missing the target) has probability at
    most alpha over the whole sweep, not per config. The strategy's configs (a grid's size, or its
    trials; with only `budget.max_runs`, the most configs that budget can start), plus the
    baseline; the promoted ones with a fidelity; a derived sweep's `configs`. None where nothing
    bounds it (an open-ended search with only a time budget): then the guarantee is per config."""
    if spec.derived_from is not None:
        return configs
    planned = _strategy_configs(spec)
    if planned is None and spec.budget.max_runs is not None:
        planned = math.ceil(spec.budget.max_runs / spec.look_schedule()[0])
    if planned is None:
        return None
    if spec.fidelity is not None:
        planned = min(planned, spec.fidelity.promote)
    return max(1, planned + int(spec.baseline is not None))


def _strategy_configs(spec: SweepSpec) -> int | None:
    """The configs the strategy proposes: a grid's (or brute force's) size, else strategy.trials."""
    from hotlap.strategies import get_strategy, is_finite

    return get_strategy(spec).total() if is_finite(spec.strategy.name) else spec.strategy.trials


def planned_configs(spec: SweepSpec) -> int | None:
    """The configs a sweep plans to run: its strategy's and the baseline. None where nothing fixes
    it (a search bounded only by its budget, a derived sweep)."""
    planned = None if spec.derived_from is not None else _strategy_configs(spec)
    return None if planned is None else planned + int(spec.baseline is not None)


@dataclass(frozen=True)
class Guarantee:
    """What the decisions of a sweep guarantee, and the levels they are made at."""

    alpha: float  # the sweep's error: 1 - confidence
    family: int | None  # configs alpha is split over (None: per config)
    looks: int
    look_alpha: float  # the one-sided level of each look
    futility: float | None  # the level a config fails at (None: the look's)
    time_alpha: float = 0.05  # the level of "slower than the fastest passing config", per look
    assumes: str = ""  # what the decision rule's guarantee rests on ("": independent runs only)

    def describe(self) -> str:
        scope = (
            f"family-wise over {self.family:,} config{'s' if self.family != 1 else ''}"
            if self.family is not None
            else "per config (no planned number of configs to split it over)"
        )
        looks = f"{self.looks} planned looks" if self.looks > 1 else "one look"
        text = f"error at most {self.alpha:g} {scope}; {looks}, each at one-sided level {self.look_alpha:.2g}"
        if self.futility is not None and self.looks > 1:
            text += f"; a config fails at level {self.futility:g} (non-binding)"
        text += f'; "slower" is one-sided Welch at {self.time_alpha:.2g} per look, Bonferroni over the ordered pairs'
        text += f"; assumes {self.assumes}" if self.assumes else ""
        if self.looks > 1:
            text += (
                ". The confidence intervals shown are naive after racing: a raced config's seed count "
                "depends on its runs, and the fastest is chosen by them (verification's are free of both)"
            )
        return text


# The cache file of calibrated levels, named for the method: v2, importance-sampled calibration.
LEVELS = "levels-v2"
_TIMES = Target(criterion="mean")  # the mean rule's level without a target, and for times


def guarantee(spec: SweepSpec, configs: int | None = None) -> Guarantee:
    """The levels the sweep decides at: alpha split over the family of configs, then calibrated
    over the planned looks by the target's decision rule (`hotlap.rules`; cached in `$HOTLAP_CACHE`)."""
    from hotlap.cache import remembered

    alpha = 1 - spec.confidence
    family = family_size(spec, configs)
    split = alpha / family if family else alpha
    schedule = spec.look_schedule() if spec.racing is not None else (len(spec.seeds),)
    level, time_level = split, alpha
    assumes = make_target(spec).rule.assumes if spec.target is not None else ""  # type: ignore[union-attr]
    if len(schedule) > 1:
        mean = get_rule("mean")  # "slower" is a test of mean times
        time_level = remembered(
            LEVELS,
            mean.calibration_key(alpha, schedule, _TIMES),
            lambda: mean.look_alpha(alpha, schedule, _TIMES),
        )
        target = make_target(spec) if spec.target is not None else _TIMES
        rule = target.rule
        level = remembered(
            LEVELS,
            rule.calibration_key(split, schedule, target),
            lambda: rule.look_alpha(split, schedule, target),
        )
    return Guarantee(alpha, family, len(schedule), level, spec.futility_alpha(), time_level, assumes)


@dataclass(frozen=True)
class FixedDesign:
    """The fixed design of equal power: `seeds` for every config, one look at the split alpha,
    passing a config `delta` standard deviations above the target as often (POWER) as racing."""

    seeds: int
    delta: float
    power: float


def fixed_design(spec: SweepSpec, promise: Guarantee) -> FixedDesign | None:
    """What racing's decisions would cost without racing, at the same error and power (cached in
    `$HOTLAP_CACHE` like the levels). None without racing's looks, or for a rule other than the
    mean's (whose t bound the comparison simulates)."""
    from hotlap.cache import remembered
    from hotlap.calibration import POWER, fixed_equivalent

    if spec.racing is None or spec.target is None or spec.target.criterion not in ("mean", "mean_t"):
        return None
    schedule = spec.look_schedule()
    if len(schedule) < 2:
        return None
    split = promise.alpha / promise.family if promise.family else promise.alpha
    args = (promise.look_alpha, promise.futility, split, schedule)
    key = f"fixed {args!r}"
    delta = remembered(LEVELS, key + " delta", lambda: fixed_equivalent(*args)[0])
    seeds = remembered(LEVELS, key + " seeds", lambda: float(fixed_equivalent(*args)[1]))
    return FixedDesign(int(seeds), delta, POWER)


def planned_look(finished: Collection[int], seeds: Sequence[int], schedule: Sequence[int]) -> int:
    """How many seeds a config's last planned look has: the largest point of the look schedule
    whose seeds (`seeds[:point]`) all finished (done or failed); 0 before its first. Decisions
    rest on those runs only, never on a partial round (a look the calibration did not plan)."""
    reached, start = 0, 0
    for point in schedule:
        if not all(seed in finished for seed in seeds[start:point]):
            break
        reached, start = point, point
    return reached


def verdicts(
    spec: SweepSpec,
    values: Mapping[str, Mapping[str, Sequence[float]]],
    alpha: float,
    time_alpha: float = 0.05,
    *,
    only: Collection[str] | None = None,
    memo: dict[Any, Any] | None = None,
) -> dict[str, Verdict]:
    """The verdict of each config (config id -> metric -> its values) at per-look `alpha`, times
    compared at `time_alpha`; `only` and `memo` as for `hotlap.decisions.race` (values that only
    grow between calls sharing a memo)."""
    metrics = decision_metrics(spec)
    evidence = {}
    for key, v in values.items():
        quality, cost = v.get(metrics.quality.name, ()), v.get(metrics.cost.name, ())
        if memo is None:  # one look: made once anyway
            evidence[key] = Evidence(list(quality), metrics.oriented_costs(cost))
            continue
        slot = ("evidence", key, len(quality), len(cost))
        if slot not in memo:
            memo[slot] = Evidence(list(quality), metrics.oriented_costs(cost))
        evidence[key] = memo[slot]
    target = make_target(spec)
    maximize = metrics.quality.direction == "maximize"
    return race(
        evidence,
        target,
        alpha,
        maximize=maximize,
        futility=spec.futility_alpha(),
        time_alpha=time_alpha,
        only=only,
        memo=memo,
    )
