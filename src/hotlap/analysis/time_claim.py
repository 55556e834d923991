"""The time claim, verified: is the verified config really faster than the baseline on the fresh
seeds both ran on (back to back, seed by seed)? The search found it fastest among the configs that
pass, but screening times can mislead (a machine that drifted, a config that happened to run while
it was quiet); verification measures the advantage the objective is about again, paired.

Pure computation over the verification's config reports: one-sided paired t test of "config minus
baseline" on their shared fresh seeds, at the sweep's alpha (one test, one look), and the
run-to-run spread that makes a time difference meaningless: above `MAX_TIME_CV` (the search's
warning) and larger than the advantage itself (a single run's noise beyond the saving claimed: the
machine, not the config, sets the times). A 20% saving measured with 6% spread stands; a 5% one
with 8% does not. The analysis withholds "Use X" when the claim does not hold."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from hotlap.analysis.reliability import MAX_TIME_CV, named
from hotlap.analysis.reports import ConfigReport
from hotlap.decisions import Recommendation
from hotlap.metrics import Metric

__all__ = ["TimeCheck", "check_time", "with_time_claim"]


@dataclass(frozen=True)
class TimeCheck:
    """The verified config against the baseline on the fresh seeds, in the cost metric."""

    config: str
    baseline: str
    metric: str
    name: str  # the config as the report names it: its id, and its variant where it has one
    pairs: int  # fresh seeds both have a finished run on
    diff: float | None  # mean of config minus baseline over those seeds (in the metric's unit)
    relative: float | None  # diff over the baseline's mean there
    low: float | None  # two-sided confidence interval of diff (None: no spread, or too few pairs)
    high: float | None
    p: float | None  # one-sided p of "not better than the baseline" (None: no test possible)
    spread: float | None  # the larger run-to-run spread (std / mean) of the two, time metrics only
    alpha: float  # the level the claim is tested at
    confidence: float
    holds: bool  # the config is better than the baseline at that level, and the spread allows it
    binding: bool  # the baseline reaches the target on fresh seeds (else the claim decides nothing)
    reason: str  # why it does not hold ("" when it does)

    def describe(self, metric: Metric) -> str:
        """One sentence: the paired difference, its interval and p, and the verdict."""
        if self.diff is None:
            return f"{metric.name} vs baseline {self.baseline} on fresh seeds: {self.reason}."
        shown = f"{'+' if self.diff >= 0 else '-'}{metric.format(abs(self.diff))}"
        if self.relative is not None:
            shown += f" ({self.relative:+.1%})"
        if self.low is not None and self.high is not None:
            shown += (
                f", {self.confidence:.0%} CI {metric.format(self.low, unit=False)} to "
                f"{metric.format(self.high)}"
            )
        if self.p is not None:
            shown += f", one-sided p {self.p:.2g}"
        text = (
            f"{metric.name} of {self.name} minus the baseline's, paired on {self.pairs} fresh seeds: {shown}"
        )
        if self.holds:
            return f"{text}: better than the baseline at level {self.alpha:g}."
        return f"{text}: {self.reason}."


def check_time(
    verification: Sequence[ConfigReport],
    config: str,
    cost: Metric,
    alpha: float,
    confidence: float,
) -> TimeCheck | None:
    """The verified `config` against the baseline on the seeds both ran in verification (None
    when there is no baseline there, or the config is the baseline)."""
    by_id = {r.config_id: r for r in verification}
    baseline = next((r for r in verification if r.is_baseline), None)
    mine = by_id.get(config)
    if baseline is None or mine is None or mine.config_id == baseline.config_id:
        return None
    a, b = mine.values.get(cost.name, {}), baseline.values.get(cost.name, {})
    shared = sorted(set(a) & set(b))
    binding = baseline.verdict is None or baseline.verdict.decision != "fail"
    # Oriented so that lower is better: "config better than the baseline" is a mean below zero.
    diffs = [-cost.sign * (a[s] - b[s]) for s in shared]
    spread = _spread([a[s] for s in shared], [b[s] for s in shared]) if cost.kind == "time" else None
    fields = dict(
        config=config,
        name=named(mine),
        baseline=baseline.config_id,
        metric=cost.name,
        pairs=len(shared),
        spread=spread,
        alpha=alpha,
        confidence=confidence,
        binding=binding,
    )
    if len(shared) < 2:
        why = (
            f"{len(shared)} fresh seed{'s' if len(shared) != 1 else ''} with runs of both: too few to compare"
        )
        return TimeCheck(
            **fields, diff=None, relative=None, low=None, high=None, p=None, holds=False, reason=why
        )
    raw = [a[s] - b[s] for s in shared]
    diff = math.fsum(raw) / len(raw)
    base_mean = math.fsum(b[s] for s in shared) / len(shared)
    relative = diff / abs(base_mean) if base_mean else None
    low, high, p = _paired(diffs, raw, confidence)
    faster = p <= alpha if p is not None else diffs[0] < 0  # no spread: the difference is exact
    advantage = cost.sign * relative if relative is not None else None  # > 0: a saving
    noisy = spread is not None and spread > MAX_TIME_CV and (advantage is None or spread > advantage)
    holds = faster and not noisy
    if not faster and (p is None or p >= 1 - alpha):
        reason = "worse than the baseline on fresh seeds (the search's advantage did not carry over)"
    elif not faster:
        reason = f"not shown better than the baseline at level {alpha:g}"
    elif not holds:
        reason = (
            f"{cost.name} varied by {spread:.1%} of its mean from run to run (above {MAX_TIME_CV:.0%}, and "
            "more than the saving): a difference this size is not measurable on that machine"
        )
    else:
        reason = ""
    return TimeCheck(
        **fields, diff=diff, relative=relative, low=low, high=high, p=p, holds=holds, reason=reason
    )


def _paired(
    oriented: list[float], raw: list[float], confidence: float
) -> tuple[float | None, float | None, float | None]:
    """(low, high) of the raw mean difference and the one-sided p that the oriented mean is not
    below zero (paired t); Nones where the differences have no spread."""
    n = len(raw)
    sd = statistics.stdev(raw)
    if sd == 0:
        return None, None, None
    from scipy import stats

    mean = math.fsum(raw) / n
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    t_value = (math.fsum(oriented) / n) / (sd / math.sqrt(n))
    return mean - half, mean + half, float(stats.t.cdf(t_value, n - 1))


def _spread(a: list[float], b: list[float]) -> float | None:
    """The larger coefficient of variation of the two configs' values (None: fewer than 3 each)."""
    cvs = [
        statistics.stdev(v) / abs(statistics.fmean(v))
        for v in (a, b)
        if len(v) >= 3 and statistics.fmean(v) != 0
    ]
    return max(cvs) if cvs else None


def with_time_claim(recommendation: Recommendation, check: TimeCheck | None, cost: Metric) -> Recommendation:
    """The verified recommendation with its time claim: confirmed, or withheld with the reason
    (the baseline is kept) when the config is not shown better than a baseline that reaches the
    target too."""
    if check is None or recommendation.config is None:
        return recommendation
    said = check.describe(cost)
    if check.holds:
        return dataclasses.replace(recommendation, sentence=f"{recommendation.sentence} {said}")
    if not check.binding:
        sentence = (
            f"{recommendation.sentence} {said} (The baseline does not reach the target on the fresh seeds.)"
        )
        return dataclasses.replace(recommendation, sentence=sentence)
    if (
        check.spread is not None
        and check.spread > MAX_TIME_CV
        and check.p is not None
        and check.p <= check.alpha
    ):
        advice = " Rerun the verification on a quiet machine."
    elif check.p is not None and check.alpha < check.p < 1 - check.alpha:
        advice = " More fresh seeds (verify.seeds) can show a smaller advantage."
    else:
        advice = ""
    sentence = (
        f"Keep the baseline {check.baseline}: {check.name} reaches the target on fresh seeds, but its "
        f"{check.metric} advantage did not hold there, so no config is recommended over the baseline. "
        f"{said}{advice}"
    )
    return Recommendation(None, (), sentence)
