"""Decisions with stated confidence: does a config reach the target, which is fastest, who races on.

A config passes when its decision rule's passing bound reaches the threshold, fails when its
failing bound cannot, and is undecided otherwise; racing gives more seeds only to configs whose
decision is open, and drops a config shown slower (one-sided Welch, Bonferroni over the ordered
pairs of contenders) than the fastest passing one. `race` takes the per-look level the caller
computed (hotlap.analysis.judging). What this guarantees and how it was measured:
docs/explanation/statistics.md."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hotlap.rules import DecisionRule, Target
from hotlap.stats import mean_bounds, welch_greater

__all__ = [
    "Evidence",
    "Recommendation",
    "Target",
    "Verdict",
    "judge",
    "look_schedule",
    "looks",
    "race",
    "recommend",
]

Decision = Literal["pass", "fail", "undecided"]
TIME_ALPHA = 0.05  # "slower": one-sided Welch at this level per look, Bonferroni over ordered pairs


@dataclass(frozen=True)
class Evidence:
    """A config's finished runs: the target (or primary) metric and the time to minimize."""

    values: Sequence[float]
    times: Sequence[float] = ()


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    low: float  # lower bound of the judged quantity (mean or rate), at the per-look alpha
    high: float
    time_low: float
    time_high: float
    eliminated: bool  # out of the race: fails, or cannot be the fastest passing (or the best)
    active: bool  # would take more seeds: undecided, or still tied with a rival
    reason: str
    # p of "slower than the fastest passing config" (one-sided Welch, Bonferroni over the ordered
    # pairs of contenders); None for that config itself, and where there is nothing to compare.
    slower_p: float | None = None


def looks(minimum: int, maximum: int, step: int) -> int:
    """How many times racing looks at the data: after min seeds, then after every step up to max."""
    return 1 + math.ceil(max(0, maximum - minimum) / step)


def look_schedule(minimum: int, maximum: int, step: int) -> tuple[int, ...]:
    """The seeds a config has at each look: min, min + step, ..., max."""
    return tuple(min(maximum, minimum + k * step) for k in range(looks(minimum, maximum, step)))


def judge(
    values: Sequence[float],
    target: Target,
    alpha: float,
    futility: float | None = None,
    shared: Any = None,
) -> tuple[Decision, float, float]:
    """pass / fail / undecided for one config, with the bounds it was decided on (by the target's
    decision rule, `target.criterion`).

    It passes on the bound at level `alpha`; it fails on the opposite bound at level `futility`
    (default alpha). A looser futility level (0.2) gives up sooner on configs that will not pass:
    non-binding, it never makes a wrong pass likelier, it only costs a little power. `shared`:
    what the rule's `share` gave for the configs judged together (None: the config alone)."""
    return _judged(target.rule, values, target, alpha, futility, shared)


def _judged(
    rule: DecisionRule,
    values: Sequence[float],
    target: Target,
    alpha: float,
    futility: float | None,
    shared: Any,
) -> tuple[Decision, float, float]:
    """`judge` by the target's rule (looked up once by a caller judging many configs)."""
    futility = alpha if futility is None else futility
    if shared is None:
        low, high = rule.bounds(values, target, alpha, futility)
    else:
        low, high = rule.bounds(values, target, alpha, futility, shared=shared)
    return _decided(low, high, rule.threshold(target), rule.higher_is_better(target))


def _judged_once(
    rule: DecisionRule,
    evidence: Mapping[str, Evidence],
    target: Target,
    alpha: float,
    futility: float | None,
    shared: Any,
) -> dict[str, tuple[Decision, float, float]]:
    """`_judged` of every config at one look, their bounds made together (`bounds_many`)."""
    futility = alpha if futility is None else futility
    bounds = rule.bounds_many([e.values for e in evidence.values()], target, alpha, futility, shared)
    threshold, higher = rule.threshold(target), rule.higher_is_better(target)
    return {
        key: _decided(low, high, threshold, higher) for key, (low, high) in zip(evidence, bounds, strict=True)
    }


def _decided(low: float, high: float, threshold: float, higher: bool) -> tuple[Decision, float, float]:
    """pass where the passing bound reaches the threshold, fail where the failing one cannot."""
    if higher:
        passes, fails = low >= threshold, high < threshold
    else:
        passes, fails = high <= threshold, low > threshold
    if passes:
        return "pass", low, high
    if fails:
        return "fail", low, high
    return "undecided", low, high


def race(
    evidence: Mapping[str, Evidence],
    target: Target | None,
    alpha: float,
    *,
    maximize: bool = True,
    futility: float | None = None,
    time_alpha: float = TIME_ALPHA,
    only: Collection[str] | None = None,
    memo: dict[Any, Any] | None = None,
) -> dict[str, Verdict]:
    """Verdicts for every config at one look, each bound at level 1 - alpha (the per-look alpha);
    a config fails on its bound at level 1 - `futility` (default: alpha too). A config is slower
    than the fastest passing one when a one-sided Welch test says so at `time_alpha` (Bonferroni over
    the ordered pairs of contenders); passing configs not yet told apart race on.

    `only`: the configs whose verdicts are wanted (all of them decide who is fastest). `memo`: a
    dict kept between calls over evidence that only grows (racing looks again and again): each
    config's bounds and test are computed once per number of runs, not once per call."""
    if target is None:
        return _race_best(evidence, alpha, maximize)

    def remembered(
        kind: str, key: str, extra: tuple[Any, ...], compute: Callable[..., Any], *args: Any
    ) -> Any:
        """compute(*args), once per config and number of its runs (no closure made per call: a
        status of 50,000 configs calls this 100,000 times); without a memo, computed."""
        if memo is None:  # one look (a report): nothing would read a slot again
            return compute(*args)
        e = evidence[key]
        slot = (kind, key, len(e.values), len(e.times), alpha, futility, *extra)
        if slot not in memo:
            memo[slot] = compute(*args)
        return memo[slot]

    rule = target.rule
    # What the configs' bounds share (the mean rule's pooled spread): over every config here.
    shared = rule.share({key: e.values for key, e in evidence.items()}, target)
    if memo is None:  # one look (a report): every config's bounds made together
        judged = _judged_once(rule, evidence, target, alpha, futility, shared)
    else:
        judged = {
            key: remembered("judge", key, (shared,), _judged, rule, e.values, target, alpha, futility, shared)
            for key, e in evidence.items()
        }
    passing = [key for key, (decision, _, _) in judged.items() if decision == "pass"]
    fastest = min(passing, key=lambda k: remembered("mean", k, (), _mean, evidence[k].times), default=None)
    rivals = [k for k in judged if k != fastest and judged[k][0] != "fail"]
    raw = {}
    if fastest is not None:
        best = evidence[fastest]
        for key in rivals:
            extra = (fastest, len(best.times))
            raw[key] = remembered("welch", key, extra, welch_greater, evidence[key].times, best.times)
    # The fastest is chosen by the data: "i is slower than the fastest" is one of the claims "i is
    # slower than j" over every ordered pair of these configs, so each p is multiplied by the
    # number of such pairs (Bonferroni), and no config as fast as another is called slower with
    # probability above time_alpha, however many are tied. Holm over the rivals is not valid
    # against a data-chosen reference: of 10 equally fast configs, one was called slower in 21%
    # of sweeps (benchmarks/drift.py); of 2, in 5.5% at a nominal 5%.
    pairs = len(raw) * (len(raw) + 1)
    slower = {key: min(1.0, p * pairs) for key, p in raw.items()}
    verdicts: dict[str, Verdict] = {}
    # Equal verdicts are one object (immutable): 50,000 one-seed configs share a few.
    made: dict[tuple[Any, ...], Verdict] = {}
    for key in judged if only is None else [k for k in only if k in judged]:
        decision, low, high = judged[key]
        t_low, t_high = remembered("times", key, (), mean_bounds, evidence[key].times, alpha)
        p = slower.get(key)
        if decision == "fail":
            eliminated, active, reason = True, False, "fails the target"
        elif p is not None and p <= time_alpha:
            eliminated, active, reason = True, False, f"slower than {fastest} (p {p:.2g})"
        elif decision == "undecided":
            eliminated, active = False, True
            reason = rule.why_undecided(evidence[key].values, target) or "undecided"
        elif key == fastest:
            tied = [k for k, q in slower.items() if q > time_alpha and judged[k][0] == "pass"]
            eliminated, active = False, bool(tied)  # tied rivals race on until told apart
            reason = "passes, fastest" + (", not yet told apart from " + ", ".join(tied) if tied else "")
        else:
            eliminated, active, reason = False, True, f"passes, not yet told apart from {fastest}"
        fields = (decision, low, high, t_low, t_high, eliminated, active, reason, p)
        verdict = made.get(fields)
        if verdict is None:
            verdict = made[fields] = Verdict(*fields)
        verdicts[key] = verdict
    return verdicts


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if len(values) else math.inf


def _race_best(evidence: Mapping[str, Evidence], alpha: float, maximize: bool) -> dict[str, Verdict]:
    sign = 1.0 if maximize else -1.0
    bounds = {}
    for key, e in evidence.items():
        low, high = mean_bounds([sign * v for v in e.values], alpha)
        bounds[key] = (low, high)
    best_low = max((low for low, _ in bounds.values()), default=-math.inf)
    verdicts = {}
    for key, (low, high) in bounds.items():
        eliminated = high < best_low
        rivals = [
            o for o, (o_low, o_high) in bounds.items() if o != key and not o_high < low and not eliminated
        ]
        active = not eliminated and bool(rivals)
        real_low, real_high = (low, high) if maximize else (-high, -low)
        reason = "below the best" if eliminated else ("tied with " + ", ".join(rivals) if rivals else "best")
        verdicts[key] = Verdict(
            "undecided", real_low, real_high, -math.inf, math.inf, eliminated, active, reason
        )
    return verdicts


@dataclass(frozen=True)
class Recommendation:
    config: str | None  # None: no config passes
    tied: tuple[str, ...]  # passing configs whose times cannot be told apart from it
    sentence: str


def recommend(
    verdicts: Mapping[str, Verdict],
    mean_costs: Mapping[str, float],
    target: Target,
    alpha: float,
    names: Mapping[str, str] | None = None,
    cost: Callable[[float], str] | None = None,
    bound: Callable[[float], str] | None = None,
    time_alpha: float = TIME_ALPHA,
) -> Recommendation:
    """The passing config with the lowest mean cost (time), and the passing configs tied with it.

    `cost` formats a mean cost (default `3.830 s`), `bound` the judged bound (default a number).
    """
    names = names or {}
    cost = cost or (lambda value: f"{value:.3f} s")
    passing = [key for key, v in verdicts.items() if v.decision == "pass"]
    if not passing:
        return Recommendation(
            None,
            (),
            f"No config reaches {target.describe()} with {target.confidence:.0%} confidence.",
        )
    best = min(passing, key=lambda key: mean_costs[key])
    tied = tuple(
        key
        for key in sorted(passing, key=lambda k: mean_costs[k])
        if key != best and (verdicts[key].slower_p is None or verdicts[key].slower_p > time_alpha)
    )
    name = names.get(best, best)
    verdict = verdicts[best]
    rule = target.rule
    side = "lower" if rule.higher_is_better(target) else "upper"
    value = verdict.low if side == "lower" else verdict.high
    shown = rule.format_bound(value, target, bound)
    sentence = (
        f"Use {name}: it reaches {target.describe()} with {target.confidence:.0%} confidence "
        f"(one-sided {side} bound {shown}) in {cost(mean_costs[best])} on average, "
        f"the fastest of {len(passing)} passing config{'s' if len(passing) > 1 else ''}."
    )
    if tied:
        sentence += " Its time cannot be told apart from " + ", ".join(names.get(k, k) for k in tied) + "."
    return Recommendation(best, tied, sentence)
