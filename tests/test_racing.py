"""Racing by simulation: known true distributions, many replications.

Accuracies are normal with std 0.14 points around true means below, at and above the 94% target.
A "pass" for a config whose true mean is at or below the target is a wrong decision; its rate
over the whole race must stay at or below alpha (within simulation error), and racing must use
far fewer runs than giving every config the maximum number of seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotlap.decisions import Evidence, Target, judge, looks, race, recommend

SEEDS_MIN, SEEDS_MAX, STEP = 5, 50, 5
STD = 0.0014
TARGET = 0.94


def simulate(true_means, true_times, target, replications, rng, time_std=0.02):
    alpha = target.alpha / looks(SEEDS_MIN, SEEDS_MAX, STEP)
    wrong = np.zeros(len(true_means))
    passes = np.zeros(len(true_means))
    runs = 0
    for _ in range(replications):
        acc = rng.normal(true_means, STD, size=(SEEDS_MAX, len(true_means)))
        times = rng.normal(true_times, time_std, size=(SEEDS_MAX, len(true_means)))
        allotted = [SEEDS_MIN] * len(true_means)
        closed: dict[int, str] = {}
        while True:
            evidence = {
                str(i): Evidence(acc[: allotted[i], i], times[: allotted[i], i])
                for i in range(len(true_means))
            }
            verdicts = race(evidence, target, alpha)
            extended = False
            for i in range(len(true_means)):
                if i in closed:
                    continue
                v = verdicts[str(i)]
                if v.active and allotted[i] < SEEDS_MAX:
                    allotted[i] += STEP
                    extended = True
                else:
                    closed[i] = v.decision
            if not extended:
                break
        for i, decision in closed.items():
            if decision == "pass":
                passes[i] += 1
                if true_means[i] <= TARGET if target.criterion == "mean" else False:
                    wrong[i] += 1
        runs += sum(allotted)
    return wrong / replications, passes / replications, runs / replications


def test_wrong_passes_stay_below_alpha_and_racing_saves_runs():
    rng = np.random.default_rng(2026)
    # A grid's usual mix: clear misses, configs on the edge of the target, and clear passes.
    true_means = [0.9300, 0.9340, 0.9380, 0.9395, 0.9400, 0.9400, 0.9405, 0.9420, 0.9430]
    true_times = [3.70, 3.75, 3.80, 3.85, 3.90, 3.95, 4.00, 4.10, 4.20]
    target = Target(metric="tta_accuracy", threshold=TARGET, criterion="mean", confidence=0.95)
    replications = 1500
    wrong, passes, runs = simulate(true_means, true_times, target, replications, rng)
    at_or_below = [i for i, m in enumerate(true_means) if m <= TARGET]
    error = 3 * math.sqrt(target.alpha * (1 - target.alpha) / replications)
    for i in at_or_below:
        assert wrong[i] <= target.alpha + error, (
            f"config {i} (true mean {true_means[i]}) passed {wrong[i]:.3f}"
        )
    assert passes[7] > 0.9  # 0.2 points above the target: found almost always
    assert runs < 0.6 * len(true_means) * SEEDS_MAX  # versus every config at the max


def test_without_the_look_correction_a_target_on_the_edge_passes_too_often():
    """The correction is needed: at alpha per look, a config exactly at the target passes more often."""
    rng = np.random.default_rng(7)
    target = Target(threshold=TARGET, confidence=0.95)
    passes = 0
    replications = 1500
    for _ in range(replications):
        acc = rng.normal(TARGET, STD, size=SEEDS_MAX)
        for n in range(SEEDS_MIN, SEEDS_MAX + 1, STEP):
            decision, _, _ = judge(acc[:n], target, target.alpha)  # uncorrected
            if decision != "undecided":
                passes += decision == "pass"
                break
    assert passes / replications > target.alpha


def test_success_rate_criterion_is_exact_and_conservative():
    rng = np.random.default_rng(3)
    target = Target(threshold=TARGET, criterion="success_rate", success_rate=0.5, confidence=0.95)
    alpha = target.alpha / looks(SEEDS_MIN, SEEDS_MAX, STEP)
    wrong = 0
    replications = 1500
    for _ in range(replications):  # true P(acc >= 0.94) = 0.5 exactly: a pass is wrong
        acc = rng.normal(TARGET, STD, size=SEEDS_MAX)
        for n in range(SEEDS_MIN, SEEDS_MAX + 1, STEP):
            decision, _, _ = judge(acc[:n], target, alpha)
            if decision != "undecided":
                wrong += decision == "pass"
                break
    assert wrong / replications <= target.alpha


def test_a_failing_config_and_a_slow_one_are_dropped():
    target = Target(threshold=0.94, shown="94.00%")
    good = np.full(10, 0.945) + np.linspace(-1e-4, 1e-4, 10)
    evidence = {
        "fast": Evidence(good, np.full(10, 3.0) + np.linspace(-0.01, 0.01, 10)),
        "slow": Evidence(good, np.full(10, 4.0) + np.linspace(-0.01, 0.01, 10)),
        "bad": Evidence(good - 0.02, np.full(10, 2.0) + np.linspace(-0.01, 0.01, 10)),
        "unsure": Evidence(
            np.linspace(0.935, 0.945, 10), np.full(10, 2.5) + np.linspace(-0.01, 0.01, 10)
        ),
    }
    verdicts = race(evidence, target, 0.01)
    assert verdicts["bad"].decision == "fail" and verdicts["bad"].eliminated
    assert verdicts["slow"].decision == "pass" and verdicts["slow"].eliminated
    assert verdicts["unsure"].decision == "undecided" and verdicts["unsure"].active
    assert verdicts["fast"].decision == "pass" and not verdicts["fast"].eliminated
    rec = recommend(
        verdicts, {k: float(np.mean(e.times)) for k, e in evidence.items()}, target, 0.01
    )
    assert rec.config == "fast" and rec.tied == ()
    assert rec.sentence.startswith(
        "Use fast: it reaches mean tta_accuracy >= 94.00% with 95% confidence"
    )


def test_racing_without_a_target_drops_configs_below_the_best():
    evidence = {
        "best": Evidence(np.full(8, 0.95) + np.linspace(-1e-4, 1e-4, 8)),
        "worse": Evidence(np.full(8, 0.93) + np.linspace(-1e-4, 1e-4, 8)),
        "close": Evidence(np.full(8, 0.9499) + np.linspace(-2e-3, 2e-3, 8)),
    }
    verdicts = race(evidence, None, 0.01)
    assert verdicts["worse"].eliminated and not verdicts["worse"].active
    assert verdicts["best"].active and verdicts["close"].active


@pytest.mark.parametrize(
    ("lo", "hi", "step", "expected"), [(5, 50, 5, 10), (5, 5, 5, 1), (3, 10, 4, 3)]
)
def test_looks_counts_every_planned_look(lo, hi, step, expected):
    assert looks(lo, hi, step) == expected
