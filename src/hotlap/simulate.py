"""Operating characteristics of the decision rules, by simulation: known true means and times,
many simulated races through hotlap's own `race` and `recommend`.

What a study would see: how often a config truly below the target passes (or is recommended), how
often a truly good one is found, how many runs racing spends, how often two configs are called
tied. `benchmarks/racing.py` prints these for the rules side by side; the tests check the error
rates with fixed random streams. Pure computation: no store, no training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotlap.decisions import Evidence, Target, race, recommend
from hotlap.stats import describe

__all__ = ["SHAPES", "Outcomes", "Rules", "draw_runs", "noise", "simulate"]

# The noise shapes runs really have, each at mean 0 and standard deviation 1 (the simulations
# scale them to the runs' std): `normal`; `heavy` (Student t with 3 degrees of freedom); `left`, a
# smooth long left tail (a mirrored exponential: skewness -2); `few`, 3% of runs 5 std below the
# rest; `collapsed`, 1% of runs collapsed 50 std low (a diverged run), the rest normal (its sd is
# the rest's: a collapse is no spread a bound should be scaled by). A sequence of values instead
# of a name: resampled after standardizing (a real recipe's measured runs).
SHAPES = ("normal", "heavy", "left", "few", "collapsed")


@dataclass(frozen=True)
class Rules:
    """The decision rules of one race: the per-look level, and the fail (futility) level."""

    name: str
    look_alpha: float
    futility: float | None = None
    time_alpha: float = 0.05  # the level "slower" is claimed at, per look


@dataclass(frozen=True)
class Outcomes:
    """Rates over the replications (per config where a list)."""

    passed: list[float]  # how often each config passed
    recommended: list[float]  # how often each config was the recommendation
    runs: float  # mean runs per replication
    wrong_recommendation: float  # the recommendation's true mean misses the target
    no_recommendation: float
    tied: float  # the recommendation was named tied with another config
    replications: int
    warned: float = 0.0  # the rule doubted its assumption on a passing config (the report's warning)
    # how often the recommendation's two-sided 95% t interval over its search runs (the report's,
    # naive after racing and selection) held its true mean, of the sweeps that recommended one
    covered: float = 0.0

    def error(self, rate: float) -> float:
        """The Monte Carlo standard error of a rate over these replications."""
        return float(np.sqrt(max(rate * (1 - rate), 1e-12) / self.replications))


def noise(rng: np.random.Generator, shape: str | Sequence[float], size: tuple[int, ...]) -> np.ndarray:
    """Noise of a shape (SHAPES, or measured values to resample), mean 0 and std 1."""
    if not isinstance(shape, str):
        measured = np.asarray(shape, dtype=np.float64)
        standard = (measured - measured.mean()) / measured.std(ddof=1)
        return rng.choice(standard, size=size)
    if shape == "normal":
        return rng.standard_normal(size)
    if shape == "heavy":
        return rng.standard_t(3, size) / np.sqrt(3.0)
    if shape == "left":
        return 1.0 - rng.exponential(1.0, size)
    if shape in ("few", "collapsed"):
        share, depth = (0.03, 5.0) if shape == "few" else (0.01, 50.0)
        low = rng.random(size) < share
        bulk = np.sqrt(1 - share * (1 - share) * depth**2) if shape == "few" else 1.0
        return bulk * rng.standard_normal(size) - depth * (low - share)
    raise ValueError(f"unknown noise shape {shape!r} (one of {', '.join(SHAPES)})")


def draw_runs(
    rng: np.random.Generator,
    means: Sequence[float],
    std: float,
    size: int,
    *,
    skew: float = 0.0,
    shape: str | Sequence[float] = "normal",
) -> np.ndarray:
    """(size, configs) accuracies with the given true means, noise of `shape` at `std`. `skew` > 0:
    left-skewed, as airbench runs are (that share of runs lands 0.6 points low; the rest is
    shifted so the mean holds)."""
    values = std * noise(rng, shape, (size, len(means)))
    if skew:
        low = rng.random((size, len(means))) < skew
        values = values - 0.006 * low + 0.006 * skew
    return values + np.asarray(means)


def simulate(
    true_means: Sequence[float],
    true_times: Sequence[float],
    target: Target,
    rules: Rules,
    schedule: Sequence[int],
    *,
    replications: int,
    rng: np.random.Generator,
    std: float = 0.0014,
    time_std: float = 0.01,
    skew: float = 0.0,
    shape: str | Sequence[float] = "normal",
) -> Outcomes:
    """Race the configs `replications` times: each starts with schedule[0] seeds; at every look
    the undecided contenders get the next point of the schedule (all configs looked at together,
    as grid and brute race breadth-first); then the recommendation."""
    k = len(true_means)
    passed, recommended = np.zeros(k), np.zeros(k)
    runs = wrong = none = tied = warned = covered = 0.0
    top = schedule[-1]
    times_mean = np.asarray(true_times)
    for _ in range(replications):
        accuracy = draw_runs(rng, true_means, std, top, skew=skew, shape=shape)
        times = rng.normal(times_mean, time_std * times_mean, size=(top, k))
        look = [0] * k
        final = {}
        while True:
            evidence = {  # every config, closed ones too: a passing one still bounds the others' times
                str(i): Evidence(accuracy[: schedule[look[i]], i], times[: schedule[look[i]], i])
                for i in range(k)
            }
            verdicts = race(
                evidence,
                target,
                rules.look_alpha,
                futility=rules.futility,
                time_alpha=rules.time_alpha,
            )
            moved = False
            for key, verdict in verdicts.items():
                if key in final:
                    continue
                i = int(key)
                if verdict.active and look[i] + 1 < len(schedule):
                    look[i] += 1
                    moved = True
                else:
                    final[key] = verdict
            if not moved:
                break
        # The report judges every config once more on all its runs, as the analysis does.
        evidence = {
            str(i): Evidence(accuracy[: schedule[look[i]], i], times[: schedule[look[i]], i])
            for i in range(k)
        }
        final = race(evidence, target, rules.look_alpha, futility=rules.futility, time_alpha=rules.time_alpha)
        costs = {str(i): float(times[: schedule[look[i]], i].mean()) for i in range(k)}
        choice = recommend(final, costs, target, rules.look_alpha, time_alpha=rules.time_alpha)
        passing = [key for key, verdict in final.items() if verdict.decision == "pass"]
        for key in passing:
            passed[int(key)] += 1
        warned += bool(passing and target.rule.doubts({k: e.values for k, e in evidence.items()}, passing))
        runs += sum(schedule[j] for j in look)
        if choice.config is None:
            none += 1
            continue
        i = int(choice.config)
        recommended[i] += 1
        summary = describe(list(accuracy[: schedule[look[i]], i]), 0.95)
        covered += summary.ci_low is not None and summary.ci_low <= true_means[i] <= summary.ci_high
        wrong += true_means[i] < target.threshold if target.maximize else true_means[i] > target.threshold
        tied += bool(choice.tied)
    n = replications
    chosen = max(1.0, n - none)
    return Outcomes(
        list(passed / n),
        list(recommended / n),
        runs / n,
        wrong / n,
        none / n,
        tied / n,
        n,
        warned / n,
        covered / chosen,
    )
