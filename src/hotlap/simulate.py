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

__all__ = ["Outcomes", "Rules", "draw_runs", "simulate"]


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

    def error(self, rate: float) -> float:
        """The Monte Carlo standard error of a rate over these replications."""
        return float(np.sqrt(max(rate * (1 - rate), 1e-12) / self.replications))


def draw_runs(
    rng: np.random.Generator, means: Sequence[float], std: float, size: int, *, skew: float = 0.0
) -> np.ndarray:
    """(size, configs) accuracies with the given true means. `skew` > 0: left-skewed, as airbench
    runs are (that share of runs lands 0.6 points low; the rest is shifted so the mean holds)."""
    values = rng.normal(0.0, std, size=(size, len(means)))
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
) -> Outcomes:
    """Race the configs `replications` times: each starts with schedule[0] seeds; at every look
    the undecided contenders get the next point of the schedule (all configs looked at together,
    as grid and brute race breadth-first); then the recommendation."""
    k = len(true_means)
    passed, recommended = np.zeros(k), np.zeros(k)
    runs = wrong = none = tied = 0.0
    top = schedule[-1]
    times_mean = np.asarray(true_times)
    for _ in range(replications):
        accuracy = draw_runs(rng, true_means, std, top, skew=skew)
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
        for key, verdict in final.items():
            passed[int(key)] += verdict.decision == "pass"
        runs += sum(schedule[j] for j in look)
        if choice.config is None:
            none += 1
            continue
        i = int(choice.config)
        recommended[i] += 1
        wrong += true_means[i] < target.threshold if target.maximize else true_means[i] > target.threshold
        tied += bool(choice.tied)
    n = replications
    return Outcomes(list(passed / n), list(recommended / n), runs / n, wrong / n, none / n, tied / n, n)
