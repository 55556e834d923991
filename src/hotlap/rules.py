"""Decision rules: how a config's runs decide whether it reaches a target.

A rule names the quantity it judges (the mean of the metric, the rate of runs reaching the
threshold, ...), gives its one-sided bounds at a level, the per-look level that keeps the chance
of passing a config exactly at the target within alpha over racing's planned looks, and how the
report writes it. `criterion:` in a spec's target names a registered rule; `mean` (the default),
`mean_t` and `success_rate` are hotlap's. A rule also says what its guarantee assumes, and tests
a passing config's runs against it (the report's warning). Racing, verification, the strategies' feedback and the report all
decide through the rule, so a plugin rule registered with `register_rule` is used everywhere.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hotlap.calibration import calibrated_alpha, calibrated_rate_alpha, rate_crossing
from hotlap.registry import Registry
from hotlap.stats import PooledSpread, mean_bounds, pooled_spread, rate_bounds, skew_test, spread_above

__all__ = [
    "RULES",
    "DecisionRule",
    "MeanRule",
    "MeanTRule",
    "SuccessRateRule",
    "Target",
    "get_rule",
    "list_rules",
    "register_rule",
]


@dataclass(frozen=True)
class Target:
    """The metric must reach `threshold`: at least it (`maximize`, an accuracy) or at most it,
    judged by the decision rule `criterion`."""

    metric: str = "tta_accuracy"
    threshold: float = 0.94
    criterion: str = "mean"
    success_rate: float = 0.5  # for criterion success_rate: P(metric reaches threshold) must reach this
    confidence: float = 0.95
    maximize: bool = True
    shown: str | None = None  # the threshold as the report writes it (94.00%); default: as a number
    # The metric's honest floor of run-to-run spread (an accuracy on N test images: its step 1/N
    # over sqrt(12)), and the range it lives in (a fraction: 0 to 1).
    min_std: float = 0.0
    bounds: tuple[float, float] | None = None
    # The judged values are differences from the baseline on the same seeds (`within`): the
    # threshold is a difference (-0.005: at most half a point below the baseline).
    relative: bool = False

    @property
    def alpha(self) -> float:
        return 1 - self.confidence

    @property
    def at_least(self) -> float:  # the threshold (kept for readers of a maximized target)
        return self.threshold

    @property
    def rule(self) -> DecisionRule:
        return get_rule(self.criterion)

    def reached(self, value: float) -> bool:
        return value >= self.threshold if self.maximize else value <= self.threshold

    def relation(self) -> str:
        return ">=" if self.maximize else "<="

    def shown_threshold(self) -> str:
        return self.shown or f"{self.threshold:g}"

    def describe(self) -> str:
        return self.rule.describe(self)


class DecisionRule(ABC):
    """Judges one config's values of the target metric against a target.

    `bounds` gives the judged quantity's lower and upper one-sided bounds: the passing side at
    level `alpha`, the failing side at level `futility`; a rule whose `share` gives what the
    configs judged together have in common (the sweep's pooled spread) gets it as `shared`. A config passes when its passing bound
    reaches `threshold(target)` (from above where `higher_is_better`, else from below) and fails
    when its failing bound cannot reach it. `look_alpha` is the per-look level of racing's planned
    looks (`schedule`: seeds at each look), `calibration_key` names it in the cache of levels.
    """

    relative: ClassVar[bool] = False  # whether it judges a target relative to the baseline (within)
    # What its error guarantee rests on, as the report states it ("" where nothing beyond
    # independent runs), and the level of the check `doubts` makes of it.
    assumes: ClassVar[str] = ""
    doubt_level: ClassVar[float] = 0.01

    @abstractmethod
    def bounds(
        self, values: Sequence[float], target: Target, alpha: float, futility: float
    ) -> tuple[float, float]:
        """(lower, upper) bounds of the judged quantity."""

    @abstractmethod
    def threshold(self, target: Target) -> float:
        """The value the judged quantity must reach."""

    def bounds_many(
        self,
        values: Sequence[Sequence[float]],
        target: Target,
        alpha: float,
        futility: float,
        shared: Any = None,
    ) -> list[tuple[float, float]]:
        """`bounds` of each config's values at one look (`shared`: `share`'s for them all): a rule
        may judge many faster together; config by config the same as `bounds` (the kit checks)."""
        if shared is None:
            return [self.bounds(v, target, alpha, futility) for v in values]
        return [self.bounds(v, target, alpha, futility, shared=shared) for v in values]  # type: ignore[call-arg]

    def doubts(self, values: Mapping[str, Sequence[float]], candidates: Sequence[str]) -> dict[str, str]:
        """The candidates (configs that pass: the recommendation's rivals) whose runs contradict
        `assumes` by a test at `doubt_level`, each with what the test found; a rule without an
        assumption finds none. Only candidates are checked: elsewhere a doubt changes no decision."""
        return {}

    def why_undecided(self, values: Sequence[float], target: Target) -> str | None:
        """Why values cannot be decided however many more there are (None: more runs may decide)."""
        return None

    def plan_notes(self, target: Target, level: float, schedule: tuple[int, ...]) -> list[str]:
        """What the plan should say of this rule at its per-look `level` over the looks
        (`schedule`: seeds at each): the fewest seeds a pass needs, its power (none: nothing)."""
        return []

    def share(self, values: Mapping[str, Sequence[float]], target: Target) -> Any:
        """What every config's bounds at this look rest on besides its own values (None: nothing;
        then `bounds` is called without `shared`)."""
        return None

    def higher_is_better(self, target: Target) -> bool:
        return target.maximize

    @abstractmethod
    def describe(self, target: Target) -> str:
        """The claim as the report writes it: 'mean tta_accuracy >= 94.00%'."""

    def look_alpha(self, alpha: float, schedule: tuple[int, ...], target: Target) -> float:
        """The per-look level (default: Bonferroni over the looks)."""
        return alpha / len(schedule)

    def calibration_key(self, alpha: float, schedule: tuple[int, ...], target: Target) -> str:
        return f"{type(self).__name__} {alpha!r} {schedule}"

    def gap(self, values: Sequence[float], target: Target) -> float:
        """How far the values are from the target (<= 0: they reach it), for the strategies."""
        mean = math.fsum(values) / len(values)
        return target.threshold - mean if target.maximize else mean - target.threshold

    def format_bound(self, value: float, target: Target, bound: Callable[[float], str] | None) -> str:
        """A bound as the recommendation writes it (`bound`: the metric's own format)."""
        return bound(value) if bound is not None else f"{value:.4g}"


class MeanTRule(DecisionRule):
    """The mean passes when its one-sided t bound on the config's own runs (with the metric's
    floor of spread and range) reaches the threshold: exact for normal runs, and holds for heavy
    symmetric tails; on left-skewed runs (a config whose few seeds all missed its long low tail
    looks both high and tight) it passes a config at the target far more often than its level.
    The rule before `mean` (kept for comparison: `benchmarks/racing.py`)."""

    relative = True
    assumes = "roughly normal runs (no long low tail)"

    def doubts(self, values: Mapping[str, Sequence[float]], candidates: Sequence[str]) -> dict[str, str]:
        """Candidates of 8+ runs whose skewness is significantly negative (D'Agostino's test)."""
        found = {}
        for key in candidates:
            runs = values.get(key, ())
            if len(runs) >= 8 and max(runs) > min(runs):
                skew = skew_test(runs)
                if skew.pvalue < self.doubt_level:
                    found[key] = f"skewness test p {skew.pvalue:.2g}"
        return found

    def bounds(
        self, values: Sequence[float], target: Target, alpha: float, futility: float
    ) -> tuple[float, float]:
        if _reproduces_baseline(values, target):
            return 0.0, 0.0
        low, high = mean_bounds(values, alpha, min_std=target.min_std, bounds=target.bounds)
        if futility != alpha:  # the failing side's bound at the futility level
            f_low, f_high = mean_bounds(values, futility, min_std=target.min_std, bounds=target.bounds)
            low, high = (low, f_high) if target.maximize else (f_low, high)
        return low, high

    def bounds_many(
        self,
        values: Sequence[Sequence[float]],
        target: Target,
        alpha: float,
        futility: float,
        shared: Any = None,
    ) -> list[tuple[float, float]]:
        """`bounds` of each; one run bounds its mean by the metric's range alone (`mean_bounds`),
        which 50,000 one-seed configs get without a call each."""
        whole = target.bounds if target.bounds is not None else (-math.inf, math.inf)
        several = [v for v in values if len(v) >= 2]
        made = iter(super().bounds_many(several, target, alpha, futility, shared))
        return [next(made) if len(v) >= 2 else whole for v in values]

    def threshold(self, target: Target) -> float:
        return target.threshold

    def describe(self, target: Target) -> str:
        return f"mean {target.metric} {target.relation()} {target.shown_threshold()}"

    def why_undecided(self, values: Sequence[float], target: Target) -> str | None:
        if len(values) >= 2 and max(values) == min(values) and not target.min_std:
            if _reproduces_baseline(values, target):
                return None
            return (
                f"undecided: every run gave the same {target.metric} and its resolution is unknown, so no "
                "spread is no certainty (declare the metric's resolution: a script's `resolution:`)"
            )
        return None

    def format_bound(self, value: float, target: Target, bound: Callable[[float], str] | None) -> str:
        """A relative target's bound in the target's own terms: "the baseline's - 0.41 points"."""
        if not target.relative or bound is None:
            return super().format_bound(value, target, bound)
        within = bound(abs(value)).replace("%", " points")
        return f"the baseline's {'-' if value < 0 else '+'} {within}"

    def look_alpha(self, alpha: float, schedule: tuple[int, ...], target: Target) -> float:
        return calibrated_alpha(alpha, schedule)

    def calibration_key(self, alpha: float, schedule: tuple[int, ...], target: Target) -> str:
        return f"mean {alpha!r} {schedule}"

    def plan_notes(self, target: Target, level: float, schedule: tuple[int, ...]) -> list[str]:
        """How far above the target (in the runs' own std) a config's mean must be to pass at the
        first look, and the chance that a config 1 or 2 std above it passes at the last look (the
        own t bound's: noncentral t; the pooled bound of `mean` only adds a condition)."""
        from scipy import stats

        first, last = schedule[0], schedule[-1]
        if first < 2:
            return []
        needed = float(stats.t.ppf(1 - level, first - 1)) / math.sqrt(first)
        critical = float(stats.t.ppf(1 - level, last - 1))
        powers = " / ".join(
            f"{float(stats.nct.sf(critical, last - 1, d * math.sqrt(last))):.0%}" for d in (0.5, 1, 2)
        )
        return [
            f"criterion {target.criterion}: at one-sided level {level:.2g} a config passes at its first look "
            f"({first} seeds) only with a mean {needed:.2g} std of its runs beyond the target; at its last look "
            f"({last} seeds, normal runs) a config 0.5 / 1 / 2 std beyond it passes with probability {powers}"
        ]


class MeanRule(MeanTRule):
    """The mean passes when two one-sided bounds at the level both reach the threshold: the t bound
    on the config's own runs (`mean_t`), and the bound with the run-to-run spread pooled over every
    config judged with it (`hotlap.stats.pooled_spread`: a config's few seeds cannot look tight by
    luck). A pass is then wrong with at most the level's probability whenever either bound holds:
    the own t bound for normal or heavy-tailed runs, the pooled one for left-skewed runs and runs
    with a few far below, when the configs near the target share their spread (a config whose own
    spread is far above the others' is left out of the pool and judged on its own). The failing
    side is the own t bound's (futility is non-binding). The per-look levels are the t bound's."""

    assumes = "roughly normal runs, or configs near the target with a common run-to-run spread"

    def doubts(self, values: Mapping[str, Sequence[float]], candidates: Sequence[str]) -> dict[str, str]:
        """Candidates whose runs spread significantly more than the other configs' pooled (a one-
        sided F test): their pass rests on their own t bound alone, which assumes normal runs."""
        found = {}
        for key in candidates:
            runs = values.get(key, ())
            others = pooled_spread(v for k, v in values.items() if k != key)
            if len(runs) < 3 or others is None or others.std == 0:
                continue
            p = spread_above(runs, others)
            if p < self.doubt_level:
                found[key] = (
                    f"sd {statistics.stdev(runs):.3g} against the others' {others.std:.3g}, F test p {p:.2g}"
                )
        return found

    def share(self, values: Mapping[str, Sequence[float]], target: Target) -> PooledSpread | None:
        return pooled_spread(values.values())

    def bounds(
        self,
        values: Sequence[float],
        target: Target,
        alpha: float,
        futility: float,
        shared: PooledSpread | None = None,
    ) -> tuple[float, float]:
        low, high = super().bounds(values, target, alpha, futility)
        if shared is None or len(values) < 2 or _reproduces_baseline(values, target):
            return low, high
        p_low, p_high = shared.bounds(values, alpha, min_std=target.min_std, bounds=target.bounds)
        return (min(low, p_low), high) if target.maximize else (low, max(high, p_high))


class SuccessRateRule(DecisionRule):
    """P(a run reaches the threshold) passes when its exact (Clopper-Pearson) lower bound reaches
    `success_rate`."""

    def bounds(
        self, values: Sequence[float], target: Target, alpha: float, futility: float
    ) -> tuple[float, float]:
        hits = sum(1 for v in values if target.reached(v))
        low, _ = rate_bounds(hits, len(values), alpha)
        _, high = rate_bounds(hits, len(values), futility)
        return low, high

    def threshold(self, target: Target) -> float:
        return target.success_rate

    def higher_is_better(self, target: Target) -> bool:
        return True

    assumes = "independent runs (the rate's bound is exact)"

    def describe(self, target: Target) -> str:
        return (
            f"P({target.metric} {target.relation()} {target.shown_threshold()}) >= {target.success_rate:.0%}"
        )

    def look_alpha(self, alpha: float, schedule: tuple[int, ...], target: Target) -> float:
        return calibrated_rate_alpha(alpha, schedule, target.success_rate)

    def calibration_key(self, alpha: float, schedule: tuple[int, ...], target: Target) -> str:
        return f"rate {alpha!r} {target.success_rate!r} {schedule}"

    def gap(self, values: Sequence[float], target: Target) -> float:
        return target.success_rate - sum(1 for v in values if target.reached(v)) / len(values)

    def plan_notes(self, target: Target, level: float, schedule: tuple[int, ...]) -> list[str]:
        """The fewest seeds a pass needs (every run reaching the threshold), and the chance of a
        pass by the last look for configs whose true rate is above the required one (exact)."""
        rate = target.success_rate
        first = next((n for n in schedule if rate_bounds(n, n, level)[0] >= rate), None)
        if first is None:
            best = rate_bounds(schedule[-1], schedule[-1], level)[0]
            return [
                f"criterion success_rate can never pass: even {schedule[-1]} runs out of {schedule[-1]} reaching "
                f"{target.shown_threshold()} bound the rate only at {best:.0%} (< {rate:.0%}) at the "
                "per-look level; raise seeds.max, or lower success_rate or the number of configs"
            ]
        trues = sorted({round(min(0.99, rate + step), 2) for step in (0.1, 0.2)} - {round(rate, 2)})
        powers = [
            f"{rate_crossing(level, schedule, rate, true):.0%} at a true rate of {true:.0%}" for true in trues
        ]
        return [
            f"criterion success_rate: no config can pass before {first} seeds (all reaching the threshold); "
            f"chance of a pass by {schedule[-1]} seeds: " + ", ".join(powers)
        ]

    def format_bound(self, value: float, target: Target, bound: Callable[[float], str] | None) -> str:
        return f"{value:.0%}"


def _reproduces_baseline(values: Sequence[float], target: Target) -> bool:
    """A relative target's differences all exactly 0: the config computes what the baseline does,
    seed by seed (the baseline itself, or a 32-bit "quantization"), which is certain, unlike any
    other run-to-run spread of 0."""
    return target.relative and len(values) >= 2 and all(v == 0 for v in values)


RULES: Registry[DecisionRule] = Registry("decision rule")


def register_rule(name: str, rule: DecisionRule | None = None) -> DecisionRule | Callable[..., DecisionRule]:
    """Register a DecisionRule (an instance) as criterion `name`; as a class decorator
    (`@register_rule("name")`) it registers an instance of the class."""
    if rule is not None:
        return RULES.register(name, rule)

    def decorate(cls: type[DecisionRule]) -> type[DecisionRule]:
        RULES.register(name, cls())
        return cls

    return decorate


def get_rule(name: str) -> DecisionRule:
    return RULES.get(name)


def list_rules() -> list[str]:
    return RULES.names()


register_rule("mean", MeanRule())
register_rule("mean_t", MeanTRule())
register_rule("success_rate", SuccessRateRule())
