"""Racing by simulation (`hotlap.simulate`, through hotlap's own `race` and `recommend`): known
true distributions, fixed random streams, tolerances of three Monte Carlo standard errors.

Accuracies are normal with std 0.14 points around true means below, at and above the 94% target.
A "pass" for a config whose true mean is at or below the target is a wrong decision; its rate
over the whole race, and the rate of a wrong recommendation over the whole sweep, must stay at or
below alpha, and racing must use far fewer runs than giving every config the maximum seeds.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from scipy.stats import t as student

from hotlap.analysis.judging import resolution_std
from hotlap.calibration import calibrated_alpha, calibrated_rate_alpha, rate_crossing
from hotlap.decisions import Evidence, Target, judge, look_schedule, looks, race, recommend
from hotlap.simulate import Rules, simulate

SEEDS_MIN, SEEDS_MAX, STEP = 5, 50, 5
STD = 0.0014
TARGET = 0.94


SCHEDULE = look_schedule(SEEDS_MIN, SEEDS_MAX, STEP)
MIX_MEANS = [0.9300, 0.9340, 0.9380, 0.9395, 0.9400, 0.9400, 0.9405, 0.9420, 0.9430]
MIX_TIMES = [3.70, 3.75, 3.80, 3.85, 3.90, 3.95, 4.00, 4.10, 4.20]


def calibrated(target, family=1, futility=None):
    return Rules("calibrated", calibrated_alpha(target.alpha / family, SCHEDULE), futility)


def test_a_config_exactly_at_the_target_passes_at_most_alpha_but_not_half_of_it():
    """The calibrated looks spend alpha (Bonferroni spent 2.3% of 5%): between 3% and 5%."""
    target = Target(threshold=TARGET)
    out = simulate(
        [TARGET],
        [1.0],
        target,
        calibrated(target),
        SCHEDULE,
        replications=4000,
        rng=np.random.default_rng(11),
    )
    error = 3 * out.error(target.alpha)
    assert 0.03 - error <= out.passed[0] <= target.alpha + error, out.passed[0]


@pytest.mark.parametrize("family", [21, 401])
def test_the_calibrated_level_of_a_large_family_spends_its_alpha(family):
    """At the tiny split alphas of a large family the level is still calibrated (importance
    sampling): checked on 400,000 plain races of t tests exactly at the target, it realises at
    most its alpha, and more than Bonferroni's level (alpha / looks) does."""
    alpha = 0.05 / family
    level = calibrated_alpha(alpha, SCHEDULE)
    assert level > alpha / len(SCHEDULE)
    n = np.asarray(SCHEDULE)
    rng = np.random.default_rng(family)
    smallest = []
    for _ in range(8):
        steps = rng.standard_normal((50_000, SEEDS_MAX))
        sums, squares = np.cumsum(steps, axis=1)[:, n - 1], np.cumsum(steps**2, axis=1)[:, n - 1]
        mean = sums / n
        t = mean / np.sqrt((squares - n * mean**2) / (n - 1) / n)
        smallest.append(student.sf(t, n - 1).min(axis=1))
    p = np.concatenate(smallest)
    realised, bonferroni = float(np.mean(p <= level)), float(np.mean(p <= alpha / len(SCHEDULE)))
    error = 3 * np.sqrt(alpha / len(p))
    assert realised <= alpha + error and realised > bonferroni, (realised, bonferroni, alpha)


def test_wrong_passes_stay_below_alpha_and_racing_saves_runs():
    """The statistics page's test mix: no config at or below the target passes more than alpha; the clear
    pass is found; the futility level saves runs against both fixed seeds and failing late."""
    target = Target(threshold=TARGET)
    rng = np.random.default_rng(2026)
    out = simulate(
        MIX_MEANS, MIX_TIMES, target, calibrated(target, futility=0.2), SCHEDULE, replications=1200, rng=rng
    )
    error = 3 * out.error(target.alpha)
    for i, mean in enumerate(MIX_MEANS):
        if mean <= TARGET:
            assert out.passed[i] <= target.alpha + error, (mean, out.passed[i])
    assert out.passed[7] > 0.9  # 0.2 points above the target: found almost always
    assert out.runs < 0.4 * len(MIX_MEANS) * SEEDS_MAX


def test_the_recommendation_is_wrong_at_most_alpha_over_the_whole_sweep():
    """20 configs, the 8 fastest truly 0.01-0.03 points below the target: per-config decisions
    recommended one of them 6% of the time (10% with calibrated looks alone). With alpha split
    over the configs, a wrong recommendation stays within alpha."""
    target = Target(threshold=TARGET)
    means = list(np.linspace(0.9397, 0.9399, 8)) + list(np.linspace(0.9410, 0.9420, 12))
    times = list(np.linspace(1.00, 1.02, 8)) + list(np.linspace(1.05, 1.15, 12))
    out = simulate(
        means,
        times,
        target,
        calibrated(target, family=20, futility=0.2),
        SCHEDULE,
        replications=300,
        rng=np.random.default_rng(5),
    )
    assert out.wrong_recommendation <= target.alpha + 3 * out.error(target.alpha)
    assert out.no_recommendation < 0.05  # the good configs are still found
    per_config = simulate(
        means, times, target, calibrated(target), SCHEDULE, replications=300, rng=np.random.default_rng(5)
    )
    assert per_config.wrong_recommendation > out.wrong_recommendation  # the split is what does it


@pytest.mark.parametrize("shape", ["left", "few"])
def test_left_skewed_runs_keep_the_recommendation_within_alpha(shape):
    """A smooth long left tail (skewness -2) or 3% of runs far below, at the same mean and std: the
    8 fastest configs truly 0.005 points below the target. The t bound on a config's own runs
    (`mean_t`) recommended one of them in about a quarter (left) or a sixth (few) of sweeps; with
    the spread pooled over the configs (`mean`, the default) the error stays within alpha."""
    means = [0.93995] * 8 + list(np.linspace(0.9410, 0.9420, 12))
    times = list(np.linspace(1.00, 1.02, 8)) + list(np.linspace(1.05, 1.15, 12))
    rules = Rules("default", calibrated_alpha(0.05 / 20, SCHEDULE), 0.2, calibrated_alpha(0.05, SCHEDULE))
    outcomes = {
        criterion: simulate(
            means,
            times,
            Target(threshold=TARGET, criterion=criterion),
            rules,
            SCHEDULE,
            replications=300,
            rng=np.random.default_rng(25),
            shape=shape,
        )
        for criterion in ("mean_t", "mean")
    }
    assert outcomes["mean_t"].wrong_recommendation > 0.10, outcomes["mean_t"]
    out = outcomes["mean"]
    assert out.wrong_recommendation <= 0.05 + 3 * out.error(0.05), out
    assert out.no_recommendation < 0.05  # the good configs are still found


def test_a_config_whose_few_seeds_look_tight_by_luck_is_bounded_by_the_pooled_spread():
    """Five seeds that missed the long low tail look high and tight: the own t bound passes them,
    the spread the other configs show does not; a config with a collapsed run is left out of the
    pool (its spread is its own), so one diverged run does not hold every other config back."""
    from hotlap.stats import pooled_spread

    tight = [0.9412, 0.9410, 0.9411, 0.9413, 0.9411]
    rng = np.random.default_rng(3)
    others = {f"c{i}": list(rng.normal(0.941, 0.0014, 10)) for i in range(10)}
    collapsed = {"diverged": [0.941, 0.940, 0.10, 0.942, 0.941]}
    mean_t, mean = Target(threshold=TARGET, criterion="mean_t"), Target(threshold=TARGET)
    evidence = {key: Evidence(v) for key, v in {"tight": tight, **others, **collapsed}.items()}
    assert race(evidence, mean_t, 0.001)["tight"].decision == "pass"
    assert race(evidence, mean, 0.001)["tight"].decision == "undecided"
    pool = pooled_spread([tight, *others.values(), *collapsed.values()])
    assert pool is not None and pool.df == 4 + 10 * 9 and 0.001 < pool.std < 0.002
    alone = {"tight": Evidence(tight)}  # nothing to pool with: the config's own bound
    assert race(alone, mean, 0.001)["tight"].decision == race(alone, mean_t, 0.001)["tight"].decision


def test_two_passing_configs_2_percent_apart_in_time_are_told_apart():
    """Times compared by a one-sided Welch test at the calibrated level (tied ones race on): the
    faster of two passing configs 2% apart (time std 1%) is named faster, not tied, in at least
    80% of sweeps; two equally fast ones are called different at most about alpha of the time."""
    target = Target(threshold=TARGET)
    rules = Rules(
        "default",
        calibrated_alpha(target.alpha / 2, SCHEDULE),
        0.2,
        calibrated_alpha(target.alpha, SCHEDULE),
    )
    apart = simulate(
        [0.942, 0.942], [1.00, 1.02], target, rules, SCHEDULE, replications=300, rng=np.random.default_rng(8)
    )
    named = apart.recommended[0] - apart.tied  # the faster, and not called tied
    assert named >= 0.8, (apart.recommended, apart.tied)
    same = simulate(
        [0.942, 0.942], [1.00, 1.00], target, rules, SCHEDULE, replications=300, rng=np.random.default_rng(9)
    )
    assert 1 - same.tied <= target.alpha + 3 * same.error(target.alpha)


def test_without_the_look_correction_a_target_on_the_edge_passes_too_often():
    """The correction is needed: at alpha per look, a config exactly at the target passes more often."""
    target = Target(threshold=TARGET)
    out = simulate(
        [TARGET],
        [1.0],
        target,
        Rules("uncorrected", target.alpha),
        SCHEDULE,
        replications=1500,
        rng=np.random.default_rng(7),
    )
    assert out.passed[0] > target.alpha + 3 * out.error(target.alpha)


def test_success_rate_criterion_is_exact_over_the_looks():
    """Exact binomial boundaries: at a true success rate of exactly 0.5 (a normal centred on the
    threshold) a pass is wrong; it happens at most alpha of the time, and more than Bonferroni's
    1%, which is what buys power."""
    from scipy.stats import norm

    target = Target(threshold=TARGET, criterion="success_rate", success_rate=0.5, confidence=0.95)
    level = calibrated_rate_alpha(target.alpha, SCHEDULE, 0.5)
    assert rate_crossing(level, SCHEDULE, 0.5) <= target.alpha  # exact, by the dynamic program
    out = simulate(
        [TARGET],
        [1.0],
        target,
        Rules("exact", level),
        SCHEDULE,
        replications=2000,
        rng=np.random.default_rng(3),
    )
    assert out.passed[0] <= target.alpha + 3 * out.error(target.alpha)
    assert out.passed[0] > 0.02
    shift = STD * norm.ppf(0.6)  # a true success rate of 0.6
    strong = simulate(
        [TARGET + shift],
        [1.0],
        target,
        Rules("exact", level),
        SCHEDULE,
        replications=600,
        rng=np.random.default_rng(4),
    )
    bonferroni = simulate(
        [TARGET + shift],
        [1.0],
        target,
        Rules("bonferroni", target.alpha / len(SCHEDULE)),
        SCHEDULE,
        replications=600,
        rng=np.random.default_rng(4),
    )
    assert strong.passed[0] > bonferroni.passed[0]


def test_all_equal_runs_are_not_a_certain_pass_and_intervals_stay_in_range():
    """Digits accuracies move in steps of 1/360: five equal runs at the target must not pass on a
    zero spread (their bound was the mean itself); where no step is known (a script's own metric,
    synthetic data), equal runs never pass, and the verdict says why; a fraction's interval never
    leaves [0, 1]."""
    from hotlap.stats import describe, mean_bounds

    floor = resolution_std("digits")
    target = Target(threshold=TARGET, min_std=floor, bounds=(0.0, 1.0))
    equal = [TARGET] * 5
    assert judge(equal, Target(threshold=TARGET), 0.01)[0] == "undecided"  # it was a certain pass
    unknown = race({"a": Evidence([0.95] * 40)}, Target(threshold=TARGET), 0.01)["a"]
    assert unknown.decision == "undecided" and "resolution is unknown" in unknown.reason
    assert judge(equal, target, 0.01)[0] == "undecided"
    near_one = [1.0, 0.99, 1.0, 0.985]
    summary = describe(near_one, 0.95, bounds=(0.0, 1.0))
    assert summary.ci_high == 1.0 and 0 <= summary.ci_low <= 1
    assert mean_bounds(near_one, 0.01, bounds=(0.0, 1.0))[1] == 1.0


def test_a_failing_config_and_a_slow_one_are_dropped():
    target = Target(threshold=0.94, shown="94.00%")
    good = np.full(10, 0.945) + np.linspace(-1e-4, 1e-4, 10)
    evidence = {
        "fast": Evidence(good, np.full(10, 3.0) + np.linspace(-0.01, 0.01, 10)),
        "slow": Evidence(good, np.full(10, 4.0) + np.linspace(-0.01, 0.01, 10)),
        "bad": Evidence(good - 0.02, np.full(10, 2.0) + np.linspace(-0.01, 0.01, 10)),
        "unsure": Evidence(np.linspace(0.935, 0.945, 10), np.full(10, 2.5) + np.linspace(-0.01, 0.01, 10)),
    }
    verdicts = race(evidence, target, 0.01)
    assert verdicts["bad"].decision == "fail" and verdicts["bad"].eliminated
    assert verdicts["slow"].decision == "pass" and verdicts["slow"].eliminated
    assert verdicts["unsure"].decision == "undecided" and verdicts["unsure"].active
    assert verdicts["fast"].decision == "pass" and not verdicts["fast"].eliminated
    rec = recommend(verdicts, {k: float(np.mean(e.times)) for k, e in evidence.items()}, target, 0.01)
    assert rec.config == "fast" and rec.tied == ()
    assert rec.sentence.startswith("Use fast: it reaches mean tta_accuracy >= 94.00% with 95% confidence")


@pytest.mark.parametrize("criterion", ["mean", "mean_t", "success_rate"])
def test_one_look_judges_every_config_as_the_looks_that_remember_do(criterion):
    """A report's one look judges all configs together (`bounds_many`, equal verdicts shared);
    racing's remembered looks judge each alone: the same verdicts, to the bit."""
    rng = np.random.default_rng(3)
    target = Target(threshold=0.94, criterion=criterion, success_rate=0.6, bounds=(0.0, 1.0), min_std=0.001)
    evidence = {}
    for i in range(60):
        n = (0, 1, 1, 2, 5, 12)[i % 6]  # one-seed configs among ones with several
        center = 0.93 + 0.0005 * i
        evidence[f"c{i}"] = Evidence(
            list(center + rng.normal(0, 0.002, n)), list(3.0 + rng.normal(0, 0.05, n))
        )
    once = race(evidence, target, 0.01, futility=0.2)
    remembered = race(evidence, target, 0.01, futility=0.2, memo={})
    assert once == remembered
    assert {v.decision for v in once.values()} == {"pass", "fail", "undecided"}


def test_racing_without_a_target_drops_configs_below_the_best():
    evidence = {
        "best": Evidence(np.full(8, 0.95) + np.linspace(-1e-4, 1e-4, 8)),
        "worse": Evidence(np.full(8, 0.93) + np.linspace(-1e-4, 1e-4, 8)),
        "close": Evidence(np.full(8, 0.9499) + np.linspace(-2e-3, 2e-3, 8)),
    }
    verdicts = race(evidence, None, 0.01)
    assert verdicts["worse"].eliminated and not verdicts["worse"].active
    assert verdicts["best"].active and verdicts["close"].active


@pytest.mark.parametrize(("lo", "hi", "step", "expected"), [(5, 50, 5, 10), (5, 5, 5, 1), (3, 10, 4, 3)])
def test_looks_counts_every_planned_look(lo, hi, step, expected):
    assert looks(lo, hi, step) == expected


def test_a_time_spread_beyond_five_percent_is_a_warning():
    """On a loaded machine one config's time std reached 80% of its mean and nothing warned."""
    from types import SimpleNamespace

    from hotlap.analysis.reliability import time_spread as _time_spread
    from hotlap.metrics import get_metric
    from hotlap.stats import describe

    def report(config_id, times):
        return SimpleNamespace(
            config_id=config_id,
            metrics={"train_time": describe(times)},
            values={"train_time": dict(enumerate(times))},
        )

    quiet = [report("a", [3.0, 3.02, 2.99, 3.01]), report("b", [3.1, 3.12, 3.09])]
    assert _time_spread(quiet, get_metric("train_time")) == ()
    noisy = [*quiet, report("c", [3.0, 5.5, 2.9, 3.1])]
    (warning,) = _time_spread(noisy, get_metric("train_time"))
    assert "c;" in warning and "1 of 3 configs" in warning and "not" not in warning.split(":")[0]
    assert _time_spread(noisy, get_metric("tta_accuracy")) == ()  # only times are checked
    named = SimpleNamespace(**vars(report("d", [3.0, 5.5, 2.9, 3.1])), params={"variant": "narrow_block2"})
    (warning,) = _time_spread([*quiet, named], get_metric("train_time"))
    spread = statistics.stdev([3.0, 5.5, 2.9, 3.1]) / statistics.mean([3.0, 5.5, 2.9, 3.1])
    assert "d (narrow_block2);" in warning and f"up to {spread:.1%} of its mean" in warning


def test_a_passing_config_whose_runs_contradict_the_rules_assumption_is_a_warning():
    """The warning speaks only of passing configs, only when their runs contradict what the rule
    assumes (a test at 1%): a spread far above the other configs' for `mean`, a significant left
    skew for `mean_t`; the success-rate rule assumes nothing more than independent runs."""
    from types import SimpleNamespace

    from hotlap.analysis.reliability import doubted
    from hotlap.metrics import get_metric
    from hotlap.rules import get_rule

    rng = np.random.default_rng(12)

    def report(key, values, decision="pass"):
        return SimpleNamespace(
            config_id=key,
            values={"tta_accuracy": dict(enumerate(values))},
            verdict=SimpleNamespace(decision=decision),
        )

    quality = get_metric("tta_accuracy")
    common = [report(f"c{i}", rng.normal(0.942, 0.0014, 10)) for i in range(8)]
    wide = rng.normal(0.942, 0.006, 10)
    assert doubted(common, quality, get_rule("mean")) == ()
    (warning,) = doubted([*common, report("w", wide)], quality, get_rule("mean"))
    assert "w: sd" in warning and "common run-to-run spread" in warning and "c1" not in warning
    assert doubted([*common, report("w", wide, "undecided")], quality, get_rule("mean")) == ()
    skewed = 0.943 - rng.exponential(0.002, 40)
    (warning,) = doubted([*common, report("s", skewed)], quality, get_rule("mean_t"))
    assert "s: skewness test p" in warning and "roughly normal runs" in warning
    assert doubted([*common, report("s", skewed)], quality, get_rule("success_rate")) == ()


def test_the_plan_says_when_the_success_rate_rule_cannot_pass_and_its_power():
    """A success-rate target of 80% over 20 configs cannot pass before 30 seeds (even with every
    run reaching the threshold), and passes a config truly at 90% by 50 seeds in few sweeps: the
    plan says both (the power checked against simulated races); with 25 seeds at most it can
    never pass, and the plan says that."""
    from hotlap.rules import get_rule
    from hotlap.stats import rate_bounds

    target = Target(threshold=TARGET, criterion="success_rate", success_rate=0.8)
    level = calibrated_rate_alpha(0.05 / 20, SCHEDULE, 0.8)
    (note,) = get_rule("success_rate").plan_notes(target, level, SCHEDULE)
    first = int(note.split("before ")[1].split(" seeds")[0])
    assert rate_bounds(first, first, level)[0] >= 0.8 > rate_bounds(first - STEP, first - STEP, level)[0]
    power = int(note.split("by 50 seeds: ")[1].split("%")[0]) / 100
    rng = np.random.default_rng(9)
    hits = np.cumsum(rng.random((4000, SEEDS_MAX)) < 0.9, axis=1)[:, np.asarray(SCHEDULE) - 1]
    lows = np.vectorize(lambda h, n: rate_bounds(int(h), int(n), level)[0])(hits, np.asarray(SCHEDULE))
    simulated = float(np.mean((lows >= 0.8).any(axis=1)))
    assert abs(simulated - power) <= 0.005 + 3 * np.sqrt(power * (1 - power) / 4000), (simulated, power)
    short = look_schedule(SEEDS_MIN, 25, STEP)
    (never,) = get_rule("success_rate").plan_notes(
        target, calibrated_rate_alpha(0.05 / 20, short, 0.8), short
    )
    assert "can never pass" in never and "25 runs out of 25" in never


def test_the_plan_says_how_far_above_the_target_a_mean_must_be_and_its_power():
    """The mean rule's plan note: the margin a pass needs at the first look (in std of the runs),
    and the chance a config 1 std beyond the target passes at the last look, checked against the
    rule's own bound on simulated normal runs."""
    from hotlap.rules import get_rule

    target = Target(threshold=TARGET, criterion="mean_t")
    schedule, level = (3, 6), 0.005
    (note,) = get_rule("mean_t").plan_notes(target, level, schedule)
    needed = float(note.split("only with a mean ")[1].split(" std")[0])
    powers = note.split("passes with probability ")[1].split(" / ")
    power = int(powers[1].rstrip("%")) / 100
    rng = np.random.default_rng(4)
    sd = 0.0014
    runs = rng.normal(TARGET + sd, sd, size=(4000, 6))
    passed = np.mean([get_rule("mean_t").bounds(list(r), target, level, level)[0] >= TARGET for r in runs])
    assert abs(passed - power) <= 0.005 + 3 * np.sqrt(power * (1 - power) / 4000), (passed, power)
    # a first look of 3 runs whose mean is just past the needed margin (and spread as assumed) passes
    exact = [TARGET + needed * sd * 1.01 + d for d in (-sd, 0.0, sd)]
    assert get_rule("mean_t").bounds(exact, target, level, level)[0] >= TARGET


def test_the_fixed_design_of_equal_power_is_what_racing_is_measured_against():
    """Racing passes a config `delta` std above the target in 80% of sweeps (checked through
    hotlap's own race on 3,000 simulated ones); a single look at the family's split alpha needs
    `seeds` seeds for that power, and one fewer is not enough (exact, noncentral t). The report
    says what racing saved against that design, not against every config at max seeds."""
    from scipy.stats import nct

    from hotlap.calibration import fixed_equivalent

    family = 20
    level = calibrated_alpha(0.05 / family, SCHEDULE)
    delta, seeds = fixed_equivalent(level, 0.2, 0.05 / family, SCHEDULE)
    out = simulate(
        [TARGET + delta * STD],
        [1.0],
        Target(threshold=TARGET),
        Rules("default", level, 0.2),
        SCHEDULE,
        replications=3000,
        rng=np.random.default_rng(8),
    )
    assert abs(out.passed[0] - 0.8) <= 3 * out.error(0.8), out.passed[0]

    def power(n):
        return nct.sf(student.isf(0.05 / family, n - 1), n - 1, delta * np.sqrt(n))

    assert power(seeds) >= 0.8 > power(seeds - 1)
    assert out.runs < seeds  # racing decides it in fewer runs than the fixed design
