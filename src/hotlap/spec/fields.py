"""The spec's parts: the swept space's entries, strategy, budget, fidelity, objective, racing,
constraints, target, metrics, executor and verification, and the limits every spec keeps."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotlap.decisions import Target
from hotlap.errors import HotlapError

VARIANT_KEY = "variant"
# A config key naming the config's recipe: swept in `space` (`recipe: [airbench94, airbench95]`) or
# set by a variant, so one sweep spans recipes (each config keyed by its own recipe).
RECIPE_KEY = "recipe"
# Limits (docs/reference/errors.md, "Limits"): a study past them is a typo (`seeds=1000000000`), and planning it
# would allocate gigabytes before the first run. Each is checked without building the list.
MAX_SEEDS = 100_000  # seeds per config: a count, a list, racing's max, verify.seeds
# The largest seed: 32 bits, what numpy's legacy seeding and most training scripts take (a larger one
# would pass here and fail every run, or overflow the store's 64-bit integers).
MAX_SEED = 2**31 - 1
MAX_VALUES = 100_000  # values of one swept key (a range's steps, an integer range for brute)
MAX_NAME = 81  # characters of a sweep name
SCORE = "score"  # the metric `score:` defines: the weighted sum of a run's metrics
MAX_CONFIGS = 1_000_000  # configs a finite strategy enumerates, and strategy.trials
DEFAULT_FUTILITY = 0.2  # racing's fail level per look (benchmarks/racing.py measured the choice)
# Fields whose change makes stored results meaningless for the new spec.
IDENTITY_FIELDS = (
    "recipe",
    "dataset",
    "base",
    "space",
    "variants",
    "strategy",
    "seeds",
    "objective",
    "baseline",
    "fidelity",
    "racing",
    "target",
)


class SpecError(HotlapError):
    """A sweep spec that cannot run: one line naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Scalar = bool | int | float | str | None


class RangeSpec(_Strict):
    """A numeric range: ints when low, high (and step) are ints, floats otherwise."""

    low: int | float = Field(description="the smallest value")
    high: int | float = Field(description="the largest value")
    log: bool = Field(False, description="sampled on a log scale (samplers)")
    step: int | float | None = Field(None, description="grid step from low; ints need none for brute")

    @model_validator(mode="after")
    def _check(self) -> RangeSpec:
        if not self.low < self.high:
            raise ValueError(f"empty or inverted range: low {self.low} must be below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low})")
        if self.log and self.step is not None:
            raise ValueError("a range takes log or step, not both")
        if self.step is not None and not 0 < self.step <= self.high - self.low:
            raise ValueError(f"step must be in (0, high - low] (got {self.step})")
        if self.count() is not None and self.count() > MAX_VALUES:  # type: ignore[operator]
            raise ValueError(f"{self.count():,} values, more than the limit of {MAX_VALUES:,}; raise step")
        return self

    def count(self) -> int | None:
        """How many values `values()` lists (None: a continuous range)."""
        if self.step is None:
            return None
        return math.floor((self.high - self.low) / self.step + 1e-9) + 1

    @property
    def is_int(self) -> bool:
        numbers = [self.low, self.high] + ([self.step] if self.step is not None else [])
        return all(isinstance(v, int) and not isinstance(v, bool) for v in numbers)

    @property
    def finite(self) -> bool:
        return self.step is not None

    def values(self) -> list[int | float]:
        """Every value low, low + step, ... <= high (a float step is rounded to 12 significant digits)."""
        if self.step is None:
            raise ValueError("a range without step has no finite list of values")
        count = self.count()
        assert count is not None
        if self.is_int:
            return [int(self.low + i * self.step) for i in range(count)]
        return [float(f"{self.low + i * self.step:.12g}") for i in range(count)]


class ChoicesSpec(_Strict):
    choices: list[Scalar] = Field(min_length=1, description="the values, categorical")


SpaceEntry = list[Scalar] | RangeSpec | ChoicesSpec


class StrategySpec(BaseModel):
    """`strategy: tpe` or `{name: tpe, seed: 0, trials: 40, n_startup_trials: 10}`: a registered
    strategy (hotlap.strategies), the keys every strategy takes, and its own options (checked by
    the strategy's `options` model when the spec is validated)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    name: str = Field(description="a registered strategy (reference: registries)")
    seed: int = Field(0, description="sampler seed (random order for brute)")
    trials: int | None = Field(None, ge=1, le=MAX_CONFIGS, description="configs to try (samplers)")

    @model_validator(mode="before")
    @classmethod
    def _unset_options(cls, data: Any) -> Any:
        """An option stored as null (specs stored before strategies owned their options) is unset."""
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None or k in cls.model_fields}
        return data

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class BudgetSpec(_Strict):
    max_runs: int | None = Field(None, ge=1, description="stop after this many runs of this sweep")
    max_time: float | None = Field(None, gt=0, description="stop after this many seconds of runs")


class FidelitySpec(_Strict):
    key: str = Field(description="the config key that sets the fidelity (epochs)")
    low: Scalar = Field(description="its value in the screening stage")
    promote: int = Field(ge=1, description="how many of the best configs then run at the full value")


class Objective(_Strict):
    metric: str = Field(description="a metric the recipe declares")
    direction: Literal["maximize", "minimize"] = Field(description="maximize or minimize")

    @property
    def sign(self) -> float:
        """+1 when larger is better: `max(key=sign * value)` picks the best."""
        return 1.0 if self.direction == "maximize" else -1.0


class RacingSpec(_Strict):
    """Adaptive seeds, written `seeds: {min, max, step, futility}`: every config starts with `min`,
    undecided contenders get `step` more, up to `max` (stored as the seed list 0..max-1)."""

    min: int = Field(ge=2, description="seeds every config starts with")
    step: int = Field(ge=1, description="seeds an open contender gets at each look")
    # A config fails once its opposite bound at this one-sided level misses the target: looser than
    # the pass level, so configs that will not pass stop sooner (non-binding: a wrong pass gets no
    # likelier). null: the pass level.
    futility: float | None = Field(
        DEFAULT_FUTILITY, gt=0, lt=0.5, description="one-sided level a config fails at (null: the pass level)"
    )


class ConstraintSpec(_Strict):
    """A bound every recommended config must keep on a metric's mean: `at_most` or `at_least`."""

    metric: str = Field(description="a metric of the sweep")
    at_most: float | None = Field(None, description="the mean's upper bound")
    at_least: float | None = Field(None, description="the mean's lower bound")

    @model_validator(mode="after")
    def _one_bound(self) -> ConstraintSpec:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give at_most or at_least")
        return self

    def violation(self, mean: float | None) -> float | None:
        """How far the mean is outside the bound (<= 0: kept; None: no mean yet)."""
        if mean is None:
            return None
        return mean - self.at_most if self.at_most is not None else self.at_least - mean  # type: ignore[operator]

    def describe(self) -> str:
        return (
            f"{self.metric} <= {self.at_most:g}"
            if self.at_most is not None
            else f"{self.metric} >= {self.at_least:g}"
        )


class TargetSpec(_Strict):
    """The value a config's metric must reach, and how sure hotlap must be.

    `at_least` for a maximized metric (an accuracy), `at_most` for a minimized one (a loss, a
    latency). `within`: relative to the baseline instead, paired by seed: a config's mean
    difference from the baseline on the same seeds may be at most this much worse (a quantized
    network within 0.005 of full precision). `metric` defaults to the recipe's first declared
    metric.
    """

    metric: str | None = Field(None, description="the judged metric; default: the recipe's first")
    at_least: float | None = Field(None, description="the threshold of a maximized metric")
    at_most: float | None = Field(None, description="the threshold of a minimized metric")
    within: float | None = Field(None, gt=0, description="at most this much worse than the baseline")
    criterion: str = Field(
        "mean", description="a registered decision rule (hotlap.rules): mean, mean_t, success_rate, ..."
    )
    success_rate: float = Field(
        0.5, gt=0, lt=1, description="criterion success_rate: P(metric reaches the threshold)"
    )
    confidence: float = Field(0.95, ge=0.5, lt=1, description="1 - the sweep's family-wise error")

    @model_validator(mode="after")
    def _one_threshold(self) -> TargetSpec:
        given = [v for v in (self.at_least, self.at_most, self.within) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give at_least (a maximized metric), at_most (a minimized one) or within (of the baseline)"
            )
        return self

    @property
    def threshold(self) -> float:
        """The bound the judged quantity must reach: the metric's own, or with `within` the
        difference from the baseline (minus `within` for a maximized metric: `target()`)."""
        if self.within is not None:
            return self.within
        return self.at_least if self.at_least is not None else self.at_most  # type: ignore[return-value]

    def target(self, maximize: bool | None = None) -> Target:
        """The decision rule's target; `maximize`: the metric's direction (needed with `within`)."""
        assert self.metric is not None, "resolved by validation"
        if self.within is not None:
            assert maximize is not None, "a relative target needs the metric's direction"
            return Target(
                self.metric,
                -self.within if maximize else self.within,
                self.criterion,
                self.success_rate,
                self.confidence,
                maximize=maximize,
                relative=True,
            )
        return Target(
            self.metric,
            self.threshold,
            self.criterion,
            self.success_rate,
            self.confidence,
            maximize=self.at_least is not None,
        )


class MetricSpec(_Strict):
    """A metric's definition as the sweep stores it (from the recipe's declaration)."""

    name: str = Field(description="the metric's name")
    unit: str = Field("", description="its unit (s, B, J, ...)")
    direction: Literal["maximize", "minimize"] = Field("maximize", description="which way is better")
    kind: Literal["fraction", "time", "cost", "count", "score"] = Field(
        "fraction", description="how it is shown"
    )
    scope: Literal["run", "config"] = Field("run", description="per run, or the same for every seed")
    description: str = Field("", description="one line")
    resolution: float = Field(0.0, ge=0, description="the step its values move in (0: unknown)")


class ExecutorSpec(BaseModel):
    """`executor: inprocess` or `{name: inprocess, warmup: false}`: the name and its options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field("inprocess", description="a registered executor (reference: registries)")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class VerifySpec(_Strict):
    """Re-run the recommended config and the baseline on this many fresh seeds. Binding: only a
    config that passes there is recommended; if the first candidate does not, the next passing
    one is verified, up to `candidates` (the sweep's alpha split over them)."""

    seeds: int = Field(ge=2, le=MAX_SEEDS, description="fresh seeds, after the largest search seed")
    candidates: int = Field(1, ge=1, le=10, description="passing configs verified at most, in order")


class PruningSpec(_Strict):
    """Per-epoch pruning across configs: each run's epoch records are reported to one of Optuna's
    pruners, and a run that falls behind is stopped, recorded `pruned`, and its config closed (its
    other seeds do not run; it is never judged or recommended: its finished seeds alone would be a
    biased sample). The search stage only: verification runs are never pruned."""

    rule: Literal["asha", "median", "hyperband"] = Field(
        "asha",
        description="`asha` (asynchronous successive halving), `median` (below the median of earlier "
        "runs at the same epoch) or `hyperband`: Optuna's SuccessiveHalving, Median and Hyperband pruners",
    )
    metric: str = Field("val_acc", description="the key of the epoch records judged (the recipe's `val_acc`)")
    direction: Literal["maximize", "minimize"] | None = Field(
        None,
        description="default: the metric's own where the sweep declares it, else `maximize` (`minimize` "
        "for a name ending in `loss`)",
    )
    min_epochs: int = Field(
        1, ge=1, description="no run is pruned before this epoch (asha, hyperband: the first rung)"
    )
    reduction_factor: int = Field(
        3, ge=2, le=100, description="asha, hyperband: one run in this many goes on at each rung"
    )
    max_epochs: int | None = Field(
        None, ge=1, description="hyperband: the epochs of a whole run (default: found from the runs)"
    )
    startup_runs: int = Field(5, ge=0, description="median: runs that finish before any run is pruned")

    def judged_direction(self, declared: str | None) -> str:
        """The direction the metric is judged in: given, the sweep's declaration (`maximize` or
        `minimize`), or by its name."""
        if self.direction is not None:
            return self.direction
        if declared is not None:
            return declared
        return "minimize" if self.metric.endswith("loss") else "maximize"


def space_size(entry: Any) -> int:
    """How many values a finite space entry has, without listing them."""
    if isinstance(entry, RangeSpec):
        count = entry.count()
        return count if count is not None else int(entry.high) - int(entry.low) + 1  # brute, int
    if isinstance(entry, ChoicesSpec):
        return len(entry.choices)
    return len(entry)
