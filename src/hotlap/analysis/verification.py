"""Binding verification and the recommendation: the configs verification tries, in order; which
of them held on fresh seeds; the recommendation before and after it; and its fall-back, the search
judged again without the candidates that failed on fresh seeds."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hotlap.analysis.judging import (
    decision_metrics,
    make_target,
)
from hotlap.analysis.reports import DECISION_ORDER, FIDELITY_ORDER, ConfigReport, judge_configs
from hotlap.decisions import Recommendation, Target, Verdict, recommend
from hotlap.spec.schema import SweepSpec
from hotlap.store import ConfigRecord, RunRecord

__all__ = [
    "Judged",
    "bind",
    "candidates_of",
    "failed_verification",
    "order_key",
    "recommended",
    "verification_reports",
]


def candidates_of(
    full: list[ConfigReport], recommendation: Recommendation, spec: SweepSpec
) -> tuple[str, ...]:
    """The configs verification tries, in order: the recommendation, then the other passing
    configs by their mean cost."""
    if recommendation.config is None or spec.target is None:
        return ()
    cost = decision_metrics(spec).cost
    passing = [r for r in full if r.verdict is not None and r.verdict.decision == "pass" and r.n > 0]
    passing.sort(key=lambda r: -cost.sign * (r.mean(cost.name) or 0.0))
    order = [recommendation.config] + [r.config_id for r in passing if r.config_id != recommendation.config]
    return tuple(order)


def failed_verification(spec: SweepSpec, verification: list[ConfigReport]) -> tuple[str, ...]:
    """The candidates whose verification is complete (every fresh seed ran) and did not pass."""
    if spec.verify is None or spec.target is None:
        return ()
    seeds = len(spec.verify_seeds())
    return tuple(
        r.config_id
        for r in verification
        if not r.is_baseline
        and r.n + r.failed >= seeds
        and (r.verdict is None or r.verdict.decision != "pass")
    )


@dataclass(frozen=True)
class Judged:
    """How the search's configs are judged (for judging them again without some)."""

    spec: SweepSpec
    by_id: dict[str, ConfigRecord]
    groups: dict[tuple[str, str, str], list[RunRecord]]
    decide_at: float
    time_alpha: float

    def without(
        self,
        reports: list[ConfigReport],
        failed: tuple[str, ...],
        broken: dict[str, str],
        target: Target | None,
    ) -> tuple[
        list[ConfigReport],
        list[ConfigReport],
        list[ConfigReport],
        Recommendation,
        ConfigReport | None,
        tuple[str, ...],
        tuple[str, ...],
    ]:
        """The full-fidelity search judged without the `failed` candidates (they keep their own
        report, and are never recommended): reports, full, eligible, recommendation, best, the
        candidates (the failed ones first: they were tried) and the configs whose race reopens
        (judged to race on, seeds left)."""
        fidelity = reports[0].fidelity if reports else "full"
        keys = [k for k in self.groups if k[1] == fidelity and k[2] == "search" and k[0] not in failed]
        redone = judge_configs(
            self.spec, self.by_id, self.groups, keys, self.decide_at, False, self.time_alpha
        )
        kept = [r for r in reports if r.fidelity != fidelity or r.config_id in failed]
        metrics = decision_metrics(self.spec)
        merged = sorted(
            kept + redone, key=lambda r: order_key(r, self.spec, target, metrics.cost.name, metrics.cost.sign)
        )
        full = [r for r in merged if r.fidelity == fidelity]
        eligible = [
            r for r in full if r.config_id not in broken and r.config_id not in failed and r.pruned is None
        ]
        recommendation, best = recommended(eligible, target, self.decide_at, self.spec, self.time_alpha)
        fresh = candidates_of(eligible, recommendation, self.spec)
        candidates = failed + tuple(c for c in fresh if c not in failed)
        reopen = tuple(r.config_id for r in eligible if _races_on(r.verdict) and r.n < len(self.spec.seeds))
        return merged, full, eligible, recommendation, best, candidates, reopen


def _races_on(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.active


def bind(
    spec: SweepSpec,
    full: list[ConfigReport],
    verification: list[ConfigReport],
    candidates: tuple[str, ...],
    searched: Recommendation,
    best: ConfigReport | None,
    *,
    reopen: tuple[str, ...] = (),
) -> tuple[Recommendation, ConfigReport | None, str | None]:
    """Binding verification: the first candidate that passes on fresh seeds (each judged at alpha
    over the candidates) is the recommendation, its verification mean the headline; while the
    candidates are not all verified, the search's recommendation stands, marked unverified; when
    none passed, there is no recommendation, and the advice says what would help (`reopen`: the
    configs the fall-back races on)."""
    assert spec.verify is not None
    by_id = {r.config_id: r for r in verification}
    tried = [c for c in candidates[: spec.verify.candidates] if c in by_id and by_id[c].n > 0]
    passed = next(
        (c for c in tried if by_id[c].verdict is not None and by_id[c].verdict.decision == "pass"),
        None,
    )
    quality = decision_metrics(spec).quality
    cost = decision_metrics(spec).cost
    seeds = len(spec.verify_seeds())
    level = (1 - spec.confidence) / spec.verify.candidates
    if passed is not None:
        mine, search = by_id[passed], next(r for r in full if r.config_id == passed)
        summary, spent = mine.metrics[quality.name], mine.metrics[cost.name]
        target = make_target(spec)
        assert target is not None and mine.verdict is not None  # verification judges a target
        rule = target.rule
        bound = mine.verdict.low if rule.higher_is_better(target) else mine.verdict.high
        shown = rule.format_bound(bound, target, quality.format)
        sentence = (
            f"Use {passed} [{search.label()}]: verified on {mine.n} fresh seeds, mean {quality.name} "
            f"{quality.format(summary.mean)} (one-sided bound {shown} at level {level:.2g}: it "
            f"reaches the target with {spec.confidence:.0%} confidence), {cost.format(spent.mean)} {cost.name} on average."
        )
        if passed != candidates[0]:
            sentence += f" (The search's first choice {candidates[0]} did not pass verification.)"
        return Recommendation(passed, (), sentence), search, passed
    if len(tried) < min(spec.verify.candidates, len(candidates)):
        return (
            Recommendation(searched.config, searched.tied, searched.sentence + " Not yet verified."),
            best,
            None,
        )
    names = ", ".join(tried) or "none"
    failed = f"{names} did not pass on {seeds} fresh seeds (judged at level {level:.2g})"
    if reopen and len(tried) < spec.verify.candidates:
        sentence = (
            f"Not yet verified: {failed}; {', '.join(reopen)} race on in the search (closed before only "
            "as slower than it), and the next that passes is verified."
        )
    elif len(tried) >= spec.verify.candidates:
        sentence = (
            f"No config was verified: {failed}, and verify.candidates ({spec.verify.candidates}) is spent. "
            "Raise it and resume: the next passing config, or the configs the search closed as slower "
            "than the failed ones (they race on first), are then verified."
        )
    else:
        sentence = (
            f"No config was verified: {failed}, and no other config passes the search or can race on. "
            "Raise seeds.max (more seeds for undecided configs) or widen the space, and resume."
        )
    return Recommendation(None, (), sentence), None, None


def order_key(
    report: ConfigReport, spec: SweepSpec, target: Target | None, cost: str, cost_sign: float
) -> tuple[Any, ...]:
    fidelity = FIDELITY_ORDER.get(report.fidelity, 9)
    if report.n == 0 or report.pruned is not None:  # last: nothing judged (pruned: never judged)
        return (fidelity, 9 if report.n == 0 else 8, 0.0)
    if target is not None and report.verdict is not None:
        mean_cost = report.mean(cost)
        oriented = math.inf if mean_cost is None else -cost_sign * mean_cost
        return (fidelity, DECISION_ORDER[report.verdict.decision], oriented)
    mean = report.mean(spec.primary.metric) or 0.0
    return (fidelity, 0, -spec.primary.sign * mean)


class _Names(Mapping[str, str]):
    """Each config's id and swept values as a sentence names it ("3f2a [lr=0.1]"), made for the
    few that one names: the labels of 50,000 configs were a tenth of a status."""

    def __init__(self, reports: list[ConfigReport]) -> None:
        self._reports = reports
        self._by: dict[str, ConfigReport] | None = None

    @property
    def _by_id(self) -> dict[str, ConfigReport]:
        if self._by is None:  # (made where a name is read: a sentence names one or two)
            self._by = {r.config_id: r for r in self._reports}
        return self._by

    def __getitem__(self, config_id: str) -> str:
        report = self._by_id[config_id]
        return f"{config_id} [{report.label()}]"

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


def recommended(
    reports: list[ConfigReport],
    target: Target | None,
    alpha: float,
    spec: SweepSpec,
    time_alpha: float = 0.05,
) -> tuple[Recommendation, ConfigReport | None]:
    reports = [r for r in reports if r.seeds]
    names = _Names(reports)
    metrics = decision_metrics(spec)
    if target is not None:
        passing = [r for r in reports if r.verdict is not None and r.verdict.decision == "pass"]
        judged = {r.config_id: r.verdict for r in passing}  # (`recommend` reads the passing ones)
        costs = {r.config_id: r.mean(metrics.cost.name) for r in passing}
        oriented = {k: math.inf if v is None else -metrics.cost.sign * v for k, v in costs.items()}
        recommendation = recommend(
            judged,
            oriented,
            target,
            alpha,
            names,
            cost=lambda v: f"{metrics.cost.format(metrics.cost_from_oriented(v))} {metrics.cost.name}",
            bound=metrics.quality.format,
            time_alpha=time_alpha,
        )
        best = next((r for r in reports if r.config_id == recommendation.config), None)
        return recommendation, best
    if not reports:
        return Recommendation(None, (), "No config has a finished run yet."), None
    best = reports[0]
    metric = spec.metric(spec.primary.metric)
    summary = best.metrics[metric.name]
    sentence = f"Best mean {metric.name}: {names[best.config_id]} with {metric.format(summary.mean)} over {best.n} seeds."
    tie = _tied_with_baseline(best, metric, 1 - spec.confidence)
    if best.is_baseline and len(reports) > 1:
        sentence = (
            f"No config is shown better than the baseline in {metric.name}: the baseline itself, "
            f"{names[best.config_id]}, has the best mean, {metric.format(summary.mean)} over {best.n} seeds."
        )
    elif tie is not None:
        sentence = (
            f"No config is shown better than the baseline in {metric.name}: the best mean, "
            f"{names[best.config_id]} with {metric.format(summary.mean)} over {best.n} seeds, {tie}."
        )
    if summary.ci_low is not None:
        ci = f"{metric.format(summary.ci_low, unit=False)}-{metric.format(summary.ci_high)}"
        sentence += (
            f" ({spec.confidence:.0%} CI {ci}; set objective.target to decide with stated confidence.)"
        )
    return Recommendation(best.config_id, (), sentence), best


def _tied_with_baseline(best: ConfigReport, metric: Any, alpha: float) -> str | None:
    """How the best config differs from the baseline where that difference is not significant
    (Holm over the configs compared with it; None where it is, or nothing was compared)."""
    vs = best.vs_baseline
    if best.is_baseline or vs is None or vs.diff is None:
        return None
    p = vs.p_holm if vs.p_holm is not None else vs.p_value
    better = metric.sign * vs.diff > 0
    if better and p is not None and p < alpha:
        return None
    if better and p is None and vs.ci_low is None and vs.test == "paired":  # a constant difference
        return None
    diff = f"{100 * vs.diff:+.2f} points" if metric.percent else f"{vs.diff:+.4g}"
    test = "paired" if vs.test == "paired" else "Welch"
    shown = "no test" if p is None else f"{test}, {'Holm ' if vs.p_holm is not None else ''}p {p:.2g}"
    return f"differs from it by {diff} ({shown})"


def verification_reports(
    spec: SweepSpec,
    by_id: dict[str, ConfigRecord],
    groups: dict[tuple[str, str, str], list[RunRecord]],
    recommendation: Recommendation,
    comparisons: bool,
) -> tuple[list[ConfigReport], bool | None]:
    keys = [k for k in groups if k[2] == "verify"]
    if not keys:
        return [], None
    # Verification is one look at fresh seeds: decided at the sweep's alpha split over the
    # candidates it may verify (independent of the search: no correction for the search needed).
    candidates = spec.verify.candidates if spec.verify is not None else 1
    decide = (1 - spec.confidence) / candidates if spec.target is not None else None
    reports = judge_configs(spec, by_id, groups, keys, decide, comparisons)
    held = None
    if recommendation.config is not None and spec.target is not None:
        mine = next((r for r in reports if r.config_id == recommendation.config), None)
        if mine is not None and mine.verdict is not None:
            held = {"pass": True, "fail": False}.get(mine.verdict.decision)  # undecided: inconclusive
    return reports, held
