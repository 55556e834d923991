"""A sweep's results as decisions: per-config statistics, verdicts, the recommendation.

`analyze(spec, configs, runs)` is a pure function of stored records. The report, `hotlap status`
and the engine's `best/` folder all read it, so they always agree. Each config's report is built in
hotlap.analysis.reports, the recommendation and its verification in hotlap.analysis.verification.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from hotlap.analysis.judging import (
    FixedDesign,
    Guarantee,
    decision_metrics,
    fixed_design,
    guarantee,
    make_target,
)
from hotlap.analysis.pareto import non_dominated
from hotlap.analysis.reliability import doubted, time_spread
from hotlap.analysis.reports import FIDELITY_ORDER, ConfigReport, group_runs, judge_configs
from hotlap.analysis.time_claim import TimeCheck, check_time, with_time_claim
from hotlap.analysis.verification import (
    Judged,
    bind,
    candidates_of,
    failed_verification,
    order_key,
    recommended,
    verification_reports,
)
from hotlap.decisions import Recommendation, Target
from hotlap.memory import without_gc
from hotlap.metrics import Metric
from hotlap.spec.schema import SweepSpec
from hotlap.store import ConfigRecord, RunRecord

__all__ = ["Analysis", "analyze"]


@dataclass(frozen=True)
class Analysis:
    spec: SweepSpec
    quality_metric: str  # judged: the target's metric, or the primary objective
    cost_metric: str  # minimized among configs that pass (shown beside the quality)
    target: Target | None
    alpha: float  # the per-look alpha decisions were made at
    configs: list[ConfigReport]  # search stage, full fidelity first, sorted by the objective
    recommendation: Recommendation
    best: ConfigReport | None
    runs_used: int
    runs_max: int | None  # what fixed max seeds would have cost (racing only)
    verification: list[ConfigReport] = field(default_factory=list)
    verification_held: bool | None = None
    devices: dict[str, int] = field(default_factory=dict)  # device -> finished runs, when several
    guarantee: Guarantee | None = None  # what the decisions guarantee, at which levels
    # Binding verification: the passing configs in the search's order (the candidates, best
    # first), and the one that passed on fresh seeds (None: none did, or none was verified yet).
    candidates: tuple[str, ...] = ()
    verified: str | None = None
    # Verification's fall-back: the candidates that did not pass on fresh seeds (the search is
    # judged without them), and the configs whose races that reopens (they race on in the search).
    failed_verification: tuple[str, ...] = ()
    reopen: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what makes a number unreliable, said in the report
    # With two or more objectives: the full-fidelity configs no other beats on every objective's
    # mean (hotlap.analysis.pareto), in the report's order.
    pareto: tuple[str, ...] = ()
    # Configs whose means break a `constraints` bound (config id -> what it broke): never
    # recommended, never on the Pareto front.
    broken: dict[str, str] = field(default_factory=dict)
    # Configs never run: they break a bound on a per-config metric, known before a run
    # (hotlap.engine.exclusion; config id -> what it broke). Recorded by the engine.
    excluded: dict[str, str] = field(default_factory=dict)
    # With racing and a target: the fixed design of equal power (every config `fixed.seeds` seeds,
    # one look; hotlap.analysis.judging.fixed_design) and what it would have cost.
    fixed: FixedDesign | None = None
    runs_fixed: int | None = None
    # The verified config against the baseline in the cost metric on the fresh seeds (None: no
    # baseline there, or nothing verified): "Use X" is withheld when it does not hold.
    time_check: TimeCheck | None = None

    @property
    def quality(self) -> Metric:
        return self.spec.metric(self.quality_metric)

    @property
    def cost(self) -> Metric:
        return self.spec.metric(self.cost_metric)

    @property
    def mixes_devices(self) -> bool:
        return len(self.devices) > 1

    @property
    def runs_saved(self) -> int | None:
        return None if self.runs_max is None else self.runs_max - self.runs_used

    def report_for(self, config_id: str) -> ConfigReport | None:
        return next((c for c in self.configs if c.config_id == config_id and c.fidelity == "full"), None)


def analyze(
    spec: SweepSpec,
    configs: Sequence[ConfigRecord],
    runs: Sequence[RunRecord],
    *,
    comparisons: bool = True,
    devices: dict[str, int] | None = None,
    excluded: dict[str, str] | None = None,
) -> Analysis:
    """The sweep's decisions. `comparisons=False` skips the tests against the baseline (what
    `hotlap status` and the engine do not show). `excluded`: the configs the engine never ran
    (`Store.excluded`), said in the report."""
    with without_gc():
        analysis = _analyze(spec, configs, runs, comparisons, devices)
    return dataclasses.replace(analysis, excluded=dict(excluded)) if excluded else analysis


def _analyze(
    spec: SweepSpec,
    configs: Sequence[ConfigRecord],
    runs: Sequence[RunRecord],
    comparisons: bool,
    devices: dict[str, int] | None,
) -> Analysis:
    by_id = {c.config_id: c for c in configs}
    metrics = decision_metrics(spec)
    target = make_target(spec)
    promise = guarantee(spec, len(configs) if spec.derived_from is not None else None)
    alpha = promise.look_alpha
    groups = group_runs(runs)
    reports: list[ConfigReport] = []
    runs_used, runs_max, searched = 0, 0, 0
    for fidelity in sorted(
        {f for (_, f, s) in groups if s == "search"}, key=lambda f: FIDELITY_ORDER.get(f, 9)
    ):
        keys = [(c, f, s) for (c, f, s) in groups if f == fidelity and s == "search"]
        decide = alpha if target is not None or spec.racing is not None else None
        reports += judge_configs(spec, by_id, groups, keys, decide, comparisons, promise.time_alpha)
        runs_used += sum(len(groups[k]) for k in keys)
        runs_max += len(keys) * len(spec.seeds)
        searched += len(keys)
    reports.sort(key=lambda r: order_key(r, spec, target, metrics.cost.name, metrics.cost.sign))
    full = [r for r in reports if r.fidelity == reports[0].fidelity] if reports else []
    broken = _broken(full, spec)
    eligible = [r for r in full if r.config_id not in broken and r.pruned is None]
    recommendation, best = recommended(eligible, target, alpha, spec, promise.time_alpha)
    candidates = candidates_of(eligible, recommendation, spec)
    verification, held = verification_reports(spec, by_id, groups, recommendation, comparisons)
    verified, failed, reopen = None, failed_verification(spec, verification), ()
    if failed:  # judged again without them: a config closed only as slower than one races on
        judged = Judged(spec, by_id, groups, decide_at=alpha, time_alpha=promise.time_alpha)
        reports, full, eligible, recommendation, best, candidates, reopen = judged.without(
            reports, failed, broken, target
        )
    if spec.verify is not None and target is not None and verification:
        recommendation, best, verified = bind(
            spec, eligible, verification, candidates, recommendation, best, reopen=reopen
        )
    elif spec.verify is not None and target is not None and recommendation.config is not None:
        # the search's answer, before its verification on fresh seeds has run
        recommendation = dataclasses.replace(
            recommendation,
            sentence=f"{recommendation.sentence} Not yet verified: {spec.verify.seeds} fresh seeds follow the search.",
        )
    time_check = None
    if verified is not None:
        time_check = check_time(verification, verified, metrics.cost, 1 - spec.confidence, spec.confidence)
        recommendation = with_time_claim(recommendation, time_check, metrics.cost)
        best = best if recommendation.config is not None else None
    timing = time_spread(full, metrics.cost)
    doubts = doubted(full, metrics.quality, target.rule) if target is not None else ()
    warnings = timing + doubts
    if spec.timing == "packed":
        warnings = (
            *warnings,
            "times were measured with several runs sharing a GPU (timing: packed): "
            "they are not comparable with times of runs alone on a GPU",
        )
    if timing and recommendation.config is not None:
        recommendation = dataclasses.replace(
            recommendation,
            sentence=recommendation.sentence + " Its time ranking is not reliable (see the warning).",
        )
    return Analysis(
        spec,
        metrics.quality.name,
        metrics.cost.name,
        target,
        alpha,
        reports,
        recommendation,
        best,
        runs_used,
        runs_max if spec.racing is not None else None,
        verification,
        held,
        dict(devices) if devices and len(devices) > 1 else {},
        promise,
        candidates,
        verified,
        failed,
        reopen,
        warnings,
        _pareto(eligible, spec),
        broken,
        fixed=(design := fixed_design(spec, promise) if target is not None else None),
        runs_fixed=design.seeds * searched if design is not None else None,
        time_check=time_check,
    )


def _broken(full: list[ConfigReport], spec: SweepSpec) -> dict[str, str]:
    """The configs whose mean breaks a `constraints` bound, with what they broke."""
    out = {}
    for report in full:
        broken = []
        for bound in spec.constraints:
            summary = report.metrics.get(bound.metric)
            mean = summary.mean if summary is not None else None
            violation = bound.violation(mean)
            if violation is not None and violation > 0:
                broken.append(f"{bound.metric} {spec.metric(bound.metric).format(mean)}")
        if broken:
            out[report.config_id] = ", ".join(broken)
    return out


def _pareto(full: list[ConfigReport], spec: SweepSpec) -> tuple[str, ...]:
    """The non-dominated configs on the objectives' means (two or more objectives only)."""
    objectives = spec.objective or []
    if len(objectives) < 2:
        return ()
    names = [o.metric for o in objectives]
    rows = [[math.nan if (mean := r.mean(m)) is None else mean for m in names] for r in full]
    signs = [1.0 if o.direction == "maximize" else -1.0 for o in objectives]
    return tuple(full[i].config_id for i in sorted(non_dominated(rows, signs)))
