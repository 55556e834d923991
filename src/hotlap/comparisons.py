"""A config against its baseline: the difference of means with its CI, the paired t and Wilcoxon
tests on 5+ shared seeds (else Welch's t), an effect size, and Holm's adjustment over the configs
compared. `compare_many` vectorizes the paired tests over configs with the same number of pairs,
and Welch's over configs with the same numbers of runs (1,000 configs make a few SciPy calls, not
2,000). Pure functions (SciPy); the shared helpers are hotlap.stats'.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hotlap.stats import _special, _sps, _t

__all__ = ["MIN_PAIRS", "Comparison", "compare", "compare_many", "holm", "paired_enough"]

MIN_WILCOXON_PAIRS = 6  # below this the signed-rank test cannot reach 0.05 (two-sided)


@dataclass(frozen=True)
class Comparison:
    """`a` minus `b` (a config minus its baseline)."""

    test: str  # "paired" (shared seeds) or "welch"
    n_a: int
    n_b: int
    n_pairs: int
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # paired t or Welch t, two-sided
    p_wilcoxon: float | None  # Wilcoxon signed-rank on the pairs, two-sided
    effect_size: float | None  # Cohen's d_z (paired) or Hedges' g (Welch)
    confidence: float
    # p_value Holm-adjusted over every config compared with the same baseline on the same metric
    # (set by the analysis; None for a comparison made alone)
    p_holm: float | None = None


MIN_PAIRS = 5  # shared seeds a paired comparison needs


def paired_enough(shared: int, n_a: int, n_b: int) -> bool:
    """Pair on shared seeds whenever there are MIN_PAIRS of them: a seed's data order and
    initialisation, and the machine's state at that moment, are common to both runs, so the
    paired test removes what they share (the baseline races as long as its rivals, so it has their
    seeds). Fewer: Welch's test on all runs."""
    return shared >= MIN_PAIRS


def compare(a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95) -> Comparison:
    """Compare two configs' values keyed by seed: paired on their shared seeds where there are
    enough (`paired_enough`), else Welch's test on all of them."""
    return compare_many([(a, b)], confidence)[0]


def compare_many(
    pairs: Sequence[tuple[Mapping[int, float], Mapping[int, float]]], confidence: float = 0.95
) -> list[Comparison]:
    """`[compare(a, b, confidence) for a, b in pairs]`, with the paired tests of every group of
    pairs with the same number of shared seeds done in one vectorized SciPy call each."""
    results: list[Comparison | None] = [None] * len(pairs)
    groups: dict[int, list[tuple[int, list[float], list[float], int, int]]] = defaultdict(list)
    unpaired: dict[tuple[int, int], list[tuple[int, list[float], list[float]]]] = defaultdict(list)
    for index, (a, b) in enumerate(pairs):
        n_a, n_b = len(a), len(b)
        if n_a < 2 or n_b < 2:  # too few to pair or test (50,000 configs of one seed each)
            diff = math.fsum(a.values()) / n_a - math.fsum(b.values()) / n_b if n_a and n_b else None
            results[index] = _untested(n_a, n_b, diff, confidence)
            continue
        shared = sorted(set(a) & set(b))
        if paired_enough(len(shared), len(a), len(b)):
            groups[len(shared)].append(
                (index, [a[s] for s in shared], [b[s] for s in shared], len(a), len(b))
            )
        else:
            unpaired[len(a), len(b)].append((index, list(a.values()), list(b.values())))
    for members in unpaired.values():
        for index, comparison in _welch_many(members, confidence):
            results[index] = comparison
    for n, members in groups.items():
        a_rows = np.array([m[1] for m in members], dtype=np.float64)
        b_rows = np.array([m[2] for m in members], dtype=np.float64)
        diffs = a_rows - b_rows
        flat = diffs.max(axis=1) == diffs.min(axis=1)  # no spread, exactly
        means = np.where(flat, diffs[:, 0], diffs.mean(axis=1))
        sds = np.where(flat, 0.0, diffs.std(axis=1, ddof=1))
        halves = _t(0.5 + confidence / 2, n - 1) * sds / math.sqrt(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_values = means / (sds / math.sqrt(n))
        p_t = 2 * _sps().t.sf(np.abs(t_values), n - 1)  # ttest_rel, two-sided
        # Wilcoxon's p can never fall below 0.0625 with 5 pairs: it says nothing there.
        nonzero = (diffs != 0).any(axis=1) & (n >= MIN_WILCOXON_PAIRS)
        p_w = np.full(len(members), np.nan)
        if nonzero.any():
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                p_w[nonzero] = _sps().wilcoxon(diffs[nonzero], axis=1).pvalue
        for row, (index, _a, _b, n_a, n_b) in enumerate(members):
            mean, sd = float(means[row]), float(sds[row])
            if sd == 0:  # no spread: no test (a rounded metric or a constant difference)
                p_value, effect = None, None
            else:
                p_value, effect = float(p_t[row]), mean / sd
            results[index] = Comparison(
                "paired",
                n_a,
                n_b,
                n,
                mean,
                None if sd == 0 else mean - float(halves[row]),
                None if sd == 0 else mean + float(halves[row]),
                p_value,
                float(p_w[row]) if nonzero[row] else None,
                effect,
                confidence,
            )
    return results  # type: ignore[return-value]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: each p-value such that rejecting where it is at most alpha
    keeps the family-wise error of the whole set at alpha (`multipletests(method="holm")`)."""
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _welch_many(
    members: list[tuple[int, list[float], list[float]]], confidence: float
) -> list[tuple[int, Comparison]]:
    """Welch's test for pairs of the same sizes (n_a, n_b): the means, variances and degrees of
    freedom pair by pair, the t quantiles and `ttest_ind` in one SciPy call for all of them (a
    call per pair cost 1.5 ms: a report of 2,000 configs raced to 3 seeds spent 3 s there)."""
    done: list[tuple[int, Comparison]] = []
    tested: list[tuple[int, list[float], list[float], float, float, float, float | None]] = []
    for index, a, b in members:  # (each side has two values or more: `compare_many`)
        n_a, n_b = len(a), len(b)
        var_a, var_b = statistics.variance(a), statistics.variance(b)
        se2 = var_a / n_a + var_b / n_b
        diff = statistics.fmean(a) - statistics.fmean(b)
        if se2 == 0:  # no spread on either side: no test
            done.append((index, _untested(n_a, n_b, diff, confidence)))
            continue
        df = se2**2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
        pooled = math.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
        correction = 1 - 3 / (4 * (n_a + n_b) - 9)  # Hedges' small-sample correction
        effect = diff / pooled * correction if pooled > 0 else None
        tested.append((index, a, b, diff, se2, df, effect))
    if not tested:
        return done
    quantiles = _special().stdtrit(np.array([m[5] for m in tested]), 0.5 + confidence / 2)
    with warnings.catch_warnings():  # a side without spread loses no precision that matters here
        warnings.simplefilter("ignore", RuntimeWarning)
        p_values = (
            _sps().ttest_ind([m[1] for m in tested], [m[2] for m in tested], axis=1, equal_var=False).pvalue
        )
    for row, (index, a, b, diff, se2, _df, effect) in enumerate(tested):
        half = float(quantiles[row]) * math.sqrt(se2)
        p_value = float(p_values[row])
        comparison = Comparison(
            "welch", len(a), len(b), 0, diff, diff - half, diff + half, p_value, None, effect, confidence
        )
        done.append((index, comparison))
    return done


def _untested(n_a: int, n_b: int, diff: float | None, confidence: float) -> Comparison:
    """`Comparison("welch", n_a, n_b, 0, diff, None, ..., confidence)`, made as unpickling makes
    it (its fields set at once: a frozen dataclass's __init__ sets 12 one by one, and a report of
    50,000 one-seed configs makes 100,000 of these)."""
    made = _new(Comparison)
    fields = made.__dict__
    fields.update(_UNTESTED)
    fields["n_a"], fields["n_b"], fields["diff"], fields["confidence"] = n_a, n_b, diff, confidence
    return made


_new = object.__new__
_UNTESTED = {f.name: None for f in dataclasses.fields(Comparison)} | {"test": "welch", "n_pairs": 0}
