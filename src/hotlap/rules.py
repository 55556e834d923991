"""Decision rules: how a config's runs decide whether it reaches a target.

A rule names the quantity it judges (the mean of the metric, the rate of runs reaching the
threshold, ...), gives its one-sided bounds at a level, the per-look level that keeps the chance
of passing a config exactly at the target within alpha over racing's planned looks, and how the
report writes it. `criterion:` in a spec's target names a registered rule; `mean` and
`success_rate` are hotlap's. Racing, verification, the strategies' feedback and the report all
decide through the rule, so a plugin rule registered with `register_rule` is used everywhere.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from hotlap.calibration import calibrated_alpha, calibrated_rate_alpha
from hotlap.registry import Registry
from hotlap.stats import mean_bounds, rate_bounds

__all__ = [
    "RULES",
    "DecisionRule",
    "MeanRule",
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
    level `alpha`, the failing side at level `futility`. A config passes when its passing bound
    reaches `threshold(target)` (from above where `higher_is_better`, else from below) and fails
    when its failing bound cannot reach it. `look_alpha` is the per-look level of racing's planned
    looks (`schedule`: seeds at each look), `calibration_key` names it in the cache of levels.
    """

    relative: ClassVar[bool] = False  # whether it judges a target relative to the baseline (within)

    @abstractmethod
    def bounds(
        self, values: Sequence[float], target: Target, alpha: float, futility: float
    ) -> tuple[float, float]:
        """(lower, upper) bounds of the judged quantity."""

    @abstractmethod
    def threshold(self, target: Target) -> float:
        """The value the judged quantity must reach."""

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


class MeanRule(DecisionRule):
    """The mean passes when its one-sided t bound (with the metric's floor of spread and range)
    reaches the threshold."""

    relative = True

    def bounds(
        self, values: Sequence[float], target: Target, alpha: float, futility: float
    ) -> tuple[float, float]:
        low, high = mean_bounds(values, alpha, min_std=target.min_std, bounds=target.bounds)
        if futility != alpha:  # the failing side's bound at the futility level
            f_low, f_high = mean_bounds(values, futility, min_std=target.min_std, bounds=target.bounds)
            low, high = (low, f_high) if target.maximize else (f_low, high)
        return low, high

    def threshold(self, target: Target) -> float:
        return target.threshold

    def describe(self, target: Target) -> str:
        return f"mean {target.metric} {target.relation()} {target.shown_threshold()}"

    def look_alpha(self, alpha: float, schedule: tuple[int, ...], target: Target) -> float:
        return calibrated_alpha(alpha, schedule)

    def calibration_key(self, alpha: float, schedule: tuple[int, ...], target: Target) -> str:
        return f"mean {alpha!r} {schedule}"


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

    def format_bound(self, value: float, target: Target, bound: Callable[[float], str] | None) -> str:
        return f"{value:.0%}"


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
register_rule("success_rate", SuccessRateRule())
