"""Statistics against SciPy's own results and known closed forms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as sps

from hotlap.comparisons import Comparison, compare, compare_many, holm
from hotlap.stats import describe, mean_bounds, mean_std, rate_bounds, success_rate

RNG = np.random.default_rng(0)
VALUES = list(RNG.normal(0.94, 0.0014, size=25))


@pytest.mark.parametrize("n", [2, 4, 25, 50])  # even and odd: the median of each
def test_describe_matches_numpy_and_the_t_interval(n):
    values = list(RNG.normal(0.94, 0.0014, size=n))
    s = describe(values)
    assert s.n == n
    assert s.median == pytest.approx(np.median(values)) and (s.min, s.max) == (
        min(values),
        max(values),
    )
    assert s.mean == pytest.approx(np.mean(values)) and s.std == pytest.approx(np.std(values, ddof=1))
    s = describe(VALUES)
    assert s.n == 25
    assert s.mean == pytest.approx(np.mean(VALUES)) and s.std == pytest.approx(np.std(VALUES, ddof=1))
    assert s.median == pytest.approx(np.median(VALUES)) and (s.min, s.max) == (
        min(VALUES),
        max(VALUES),
    )
    low, high = sps.t.interval(0.95, 24, loc=np.mean(VALUES), scale=sps.sem(VALUES))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_describe_handles_tiny_samples():
    assert describe([]).mean is None
    one = describe([0.5])
    assert one.mean == 0.5 and one.std is None and one.ci_low is None


def test_mean_std_is_describes_mean_and_std_to_the_last_bit():
    """The report's columns of further metrics take `mean_std`, its intervals `describe`: one
    config's numbers must not differ between them (all equal values included: no spread)."""
    rng = np.random.default_rng(1)
    sets = [
        [],
        [0.5],
        [0.93] * 4,
        *(list(rng.normal(0.94, 0.01, size=n)) for n in (2, 3, 7, 50) for _ in range(50)),
    ]
    for values in sets:
        shuffled = list(rng.permutation(values)) if values else []
        summary = describe(values)
        assert mean_std(shuffled) == (summary.mean, summary.std), values


def test_one_sided_bounds_are_the_two_sided_interval_at_twice_alpha():
    low, high = mean_bounds(VALUES, alpha=0.05)
    two_low, two_high = sps.t.interval(0.90, 24, loc=np.mean(VALUES), scale=sps.sem(VALUES))
    assert (low, high) == (pytest.approx(two_low), pytest.approx(two_high))
    assert mean_bounds([0.9], alpha=0.05) == (-math.inf, math.inf)


def test_success_rate_has_the_exact_clopper_pearson_interval():
    rate = success_rate([0.95] * 13 + [0.93] * 12, threshold=0.94)
    assert (rate.successes, rate.n, rate.rate) == (13, 25, 13 / 25)
    expected = sps.binomtest(13, 25).proportion_ci(confidence_level=0.95, method="exact")
    assert (rate.ci_low, rate.ci_high) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
    )
    assert rate_bounds(0, 10, 0.05)[0] == 0.0 and rate_bounds(10, 10, 0.05)[1] == 1.0
    assert rate_bounds(10, 10, 0.05)[0] == pytest.approx(0.05 ** (1 / 10))  # closed form for k = n


def test_compare_pairs_shared_seeds():
    base = {seed: v for seed, v in enumerate(VALUES)}
    better = {seed: v + 0.001 + RNG.normal(0, 0.0003) for seed, v in base.items()}
    c = compare(better, base)
    assert c.test == "paired" and c.n_pairs == 25
    diffs = [better[s] - base[s] for s in base]
    assert c.diff == pytest.approx(np.mean(diffs))
    assert c.p_value == pytest.approx(sps.ttest_rel(list(better.values()), list(base.values())).pvalue)
    assert c.p_wilcoxon == pytest.approx(sps.wilcoxon(diffs).pvalue)
    assert c.effect_size == pytest.approx(np.mean(diffs) / np.std(diffs, ddof=1))
    assert c.ci_low > 0  # the improvement is clear once the seed noise is paired away
    unpaired = compare({s + 100: v for s, v in better.items()}, base)
    assert unpaired.test == "welch" and unpaired.p_value > c.p_value


def test_compare_welch_matches_scipy():
    a = {i: v for i, v in enumerate(RNG.normal(4.0, 0.05, size=12))}
    b = {100 + i: v for i, v in enumerate(RNG.normal(4.1, 0.08, size=20))}
    c = compare(a, b)
    result = sps.ttest_ind(list(a.values()), list(b.values()), equal_var=False)
    assert c.test == "welch" and c.p_value == pytest.approx(result.pvalue)
    ci = result.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert c.diff < 0 and c.effect_size < 0


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # SciPy's, on sides without spread
def test_compare_many_equals_scipy_pair_by_pair():
    """The vectorized comparisons (one SciPy call per group of equal pair counts) give what
    ttest_rel and wilcoxon give on each pair alone: with ties, zero differences, no spread at all,
    groups of different sizes and pairs that share no seeds (Welch)."""
    rng = np.random.default_rng(7)
    baseline = {seed: float(v) for seed, v in enumerate(np.round(rng.normal(0.94, 0.002, 30), 3))}
    pairs = []
    for k in range(40):
        n = (5, 10, 30)[k % 3]
        values = {s: baseline[s] + float(np.round(rng.normal(0.0005, 0.002), 3)) for s in range(n)}
        if k % 7 == 0:
            values = {s: baseline[s] for s in range(n)}  # no difference at all
        if k % 11 == 0:
            values = {s: baseline[s] + 0.001 for s in range(n)}  # a constant difference
        pairs.append((values, baseline))
    pairs.append(({100 + s: 0.95 + s / 1000 for s in range(6)}, baseline))  # no shared seed
    for k in range(30):  # fewer than 5 shared seeds: Welch, vectorized per pair of sizes
        n_a, n_b = 1 + k % 4, 1 + k % 3 * 4
        a = {200 + s: float(v) for s, v in enumerate(np.round(rng.normal(0.941, 0.002, n_a), 3))}
        b = {s: float(v) for s, v in enumerate(np.round(rng.normal(0.94, 0.002, n_b), 3))}
        pairs.append(({s: 0.94 for s in a}, {s: 0.93 for s in b}) if k % 9 == 0 else (a, b))
    # a side without runs: no difference; one run on a side: the difference, untested (each field
    # as the dataclass's own constructor sets it)
    untested = compare_many([({}, baseline), ({0: 0.94}, {}), ({3: 0.94}, {3: 0.935})], confidence=0.9)
    assert untested == [
        Comparison("welch", 0, 30, 0, None, None, None, None, None, None, 0.9),
        Comparison("welch", 1, 0, 0, None, None, None, None, None, None, 0.9),
        Comparison("welch", 1, 1, 0, 0.94 - 0.935, None, None, None, None, None, 0.9),
    ]
    assert dataclasses.replace(untested[2], p_holm=0.5).p_holm == 0.5 and untested[2].p_holm is None
    for (a, b), got in zip(pairs, compare_many(pairs), strict=True):
        shared = sorted(set(a) & set(b))
        if len(shared) < 5:  # fewer than 5 shared seeds: Welch on all
            x, y = list(a.values()), list(b.values())
            assert (got.test, got.n_a, got.n_b) == ("welch", len(x), len(y))
            assert got.diff == pytest.approx(np.mean(x) - np.mean(y), abs=1e-12)
            if min(len(x), len(y)) < 2 or np.ptp(x) == np.ptp(y) == 0:  # no test
                assert got.p_value is None and got.ci_low is None
            else:
                welch = sps.ttest_ind(x, y, equal_var=False)
                assert got.p_value == pytest.approx(welch.pvalue, rel=1e-12)
                ci = welch.confidence_interval(0.95)
                assert (got.ci_low, got.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
            assert got == compare(a, b)
            continue
        x, y = [a[s] for s in shared], [b[s] for s in shared]
        diffs = np.subtract(x, y)
        assert (got.test, got.n_pairs) == ("paired", len(shared))
        assert got.diff == pytest.approx(diffs.mean(), abs=1e-12)
        if np.ptp(diffs) == 0:
            assert got.p_value is None and got.effect_size is None and got.ci_low is None  # no test
        else:
            assert got.p_value == pytest.approx(sps.ttest_rel(x, y).pvalue, rel=1e-9)
        if not diffs.any() or len(shared) < 6:  # 5 pairs: Wilcoxon's p can never reach 0.05
            assert got.p_wilcoxon is None
        else:
            assert got.p_wilcoxon == pytest.approx(sps.wilcoxon(diffs).pvalue, rel=1e-9)
        assert got == compare(a, b)


def test_no_spread_is_exactly_zero_whatever_the_rounding():
    s = describe([0.1] * 3 + [0.1] * 4)
    assert s.std == 0.0 and s.mean == 0.1 and s.ci_low == s.ci_high == 0.1


def test_welch_greater_is_scipys_one_sided_welch():
    from hotlap.stats import welch_greater

    rng = np.random.default_rng(21)
    for n_a, n_b in ((2, 2), (5, 50), (12, 7)):
        a, b = list(rng.normal(1.02, 0.01, n_a)), list(rng.normal(1.0, 0.02, n_b))
        assert welch_greater(a, b) == pytest.approx(
            sps.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue, rel=1e-9
        )
    # no spread on either side is no evidence (it was p = 0): times that never vary claim nothing
    assert welch_greater([1.0, 1.0], [0.5, 0.5]) == 1.0 and welch_greater([1.0], [0.5, 0.6]) == 1.0


def test_holm_is_the_step_down_adjustment():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1, each at least the one before
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == [] and holm([0.2]) == [0.2]
    rng = np.random.default_rng(0)  # family-wise error under the null: at most alpha
    rejections = sum(min(holm(list(rng.random(10)))) <= 0.05 for _ in range(4000))
    assert rejections / 4000 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000)


def test_a_time_interval_never_goes_below_zero():
    """A time's CI stays in its range (0 up), as an accuracy's stays within 0 and 1: two runs of
    1 s and 3 s gave [-10.7, 14.7] s."""
    from hotlap.metrics import get_metric

    assert describe([1.0, 3.0]).ci_low < 0  # the bare t interval
    clipped = describe([1.0, 3.0], bounds=get_metric("train_time").bounds)
    assert clipped.ci_low == 0.0 and clipped.ci_high == describe([1.0, 3.0]).ci_high
    assert get_metric("tta_accuracy").bounds == (0.0, 1.0)
