"""A sweep's results as decisions: per-config statistics, verdicts, the recommendation.

`analyze(spec, configs, runs)` is a pure function of stored records. The report, `hotlap status`
and the engine's `best/` folder all read it, so they always agree.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotlap.analysis.judging import (
    Guarantee,
    decision_metrics,
    guarantee,
    make_target,
    planned_look,
    verdicts,
)
from hotlap.analysis.pareto import non_dominated
from hotlap.analysis.reliability import skewed, time_spread
from hotlap.decisions import Recommendation, Target, Verdict, recommend
from hotlap.metrics import Metric
from hotlap.spec.schema import SweepSpec
from hotlap.stats import Comparison, Rate, Summary, compare_many, describe, holm, success_rate
from hotlap.store import ConfigRecord, RunRecord, without_gc

__all__ = ["Analysis", "ConfigReport", "analyze"]

FIDELITY_ORDER = {"full": 0, "low": 1}
DECISION_ORDER = {"pass": 0, "undecided": 1, "fail": 2}


@dataclass(frozen=True)
class ConfigReport:
    """One config at one fidelity and stage."""

    config_id: str
    params: dict[str, Any]
    config: dict[str, Any]
    is_baseline: bool
    fidelity: str
    stage: str
    failed: int
    seeds: tuple[int, ...]
    metrics: dict[str, Summary]  # every metric
    values: dict[str, dict[int, float]]  # metric -> seed -> value
    success: Rate | None  # against the target (or None without one)
    verdict: Verdict | None
    vs_baseline: Comparison | None  # quality metric, this minus the baseline
    cost_vs_baseline: Comparison | None  # cost metric, this minus the baseline

    @property
    def n(self) -> int:
        return len(self.seeds)

    def label(self) -> str:
        if self.params:
            return ", ".join(f"{k}={short_value(v)}" for k, v in self.params.items())
        return "baseline" if self.is_baseline else "(base config)"


def short_value(value: Any) -> str:
    """A swept value as a reader wants it: floats to 4 significant digits (TPE's 38.59948084 is
    38.6; the config id is exact), everything else as it is."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


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


_BOUNDS = {"fraction": (0.0, 1.0)}  # the range a kind of metric lives in: its intervals stay inside


def _group(runs: Iterable[RunRecord]) -> dict[tuple[str, str, str], list[RunRecord]]:
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for run in runs:
        if run.status in ("done", "failed"):
            groups[(run.config_id, run.fidelity, run.stage)].append(run)
    return groups


def _report(
    config: ConfigRecord,
    fidelity: str,
    stage: str,
    runs: Sequence[RunRecord],
    spec: SweepSpec,
    verdict: Verdict | None,
) -> ConfigReport:
    done = sorted((r for r in runs if r.status == "done"), key=lambda r: r.seed)
    names = spec.metric_names
    values = {m: {r.seed: float(r.values[m]) for r in done if m in r.values} for m in names}
    metrics = {
        m: describe(list(values[m].values()), spec.confidence, _BOUNDS.get(spec.metric(m).kind))
        for m in names
    }
    success = None
    target = make_target(spec)
    if target is not None and not target.relative:  # (a relative one: differences, in `verdict`)
        observed = list(values[target.metric].values())
        hits = [1.0 if target.reached(v) else 0.0 for v in observed]
        success = success_rate(hits, 0.5, spec.confidence)
    return ConfigReport(
        config.config_id,
        config.params,
        config.config,
        config.is_baseline,
        fidelity,
        stage,
        sum(1 for r in runs if r.status == "failed"),
        tuple(r.seed for r in done),
        metrics,
        values,
        success,
        verdict,
        None,
        None,
    )


def _judge(
    spec: SweepSpec,
    by_id: dict[str, ConfigRecord],
    groups: dict[tuple[str, str, str], list[RunRecord]],
    keys: list[tuple[str, str, str]],
    alpha: float | None,
    comparisons: bool,
    time_alpha: float = 0.05,
) -> list[ConfigReport]:
    """Reports of one group of configs (a fidelity of the search, or the verification), each with
    its verdict at `alpha` (None: no decisions) and its comparison with the group's baseline (all
    of them at once: `compare_many`)."""
    metrics = decision_metrics(spec)
    quality, cost = metrics.quality.name, metrics.cost.name
    judged: dict[str, Verdict] = {}
    target = make_target(spec)
    if alpha is not None:
        values = {}
        racing = spec.racing is not None and all(stage == "search" for _, _, stage in keys)
        reference = (
            _baseline_values(by_id, groups, keys, quality) if target is not None and target.relative else None
        )
        schedule = spec.look_schedule()
        for key in keys:
            done = [r for r in groups[key] if r.status == "done"]
            if racing:  # judged as racing saw it: at its last planned look (not a partial round)
                look = set(spec.seeds[: planned_look({r.seed for r in groups[key]}, spec.seeds, schedule)])
                done = [r for r in done if r.seed in look]
            values[key[0]] = {m: [r.values[m] for r in done if m in r.values] for m in (quality, cost)}
            if reference is not None:  # judged on the differences from the baseline, seed by seed
                values[key[0]][quality] = [
                    r.values[quality] - reference[r.seed]
                    for r in sorted(done, key=lambda r: r.seed)
                    if quality in r.values and r.seed in reference
                ]
        judged = verdicts(spec, values, alpha, time_alpha)
    reports = [_report(by_id[c], f, s, groups[(c, f, s)], spec, judged.get(c)) for c, f, s in keys]
    baseline = next((r for r in reports if r.is_baseline), None)
    if not comparisons or baseline is None:
        return reports
    compared = [i for i, r in enumerate(reports) if r is not baseline and r.n > 0]
    pairs = [(reports[i].values[m], baseline.values[m]) for i in compared for m in (quality, cost)]
    results = _holm_per_metric(compare_many(pairs, spec.confidence), metrics=2)
    for k, i in enumerate(compared):
        reports[i] = dataclasses.replace(
            reports[i], vs_baseline=results[2 * k], cost_vs_baseline=results[2 * k + 1]
        )
    return reports


def _baseline_values(
    by_id: dict[str, ConfigRecord],
    groups: dict[tuple[str, str, str], list[RunRecord]],
    keys: list[tuple[str, str, str]],
    metric: str,
) -> dict[int, float]:
    """The group's baseline's value of `metric` per seed (done runs): what a relative target
    pairs each config with. Empty where the group has no baseline."""
    key = next((k for k in keys if by_id[k[0]].is_baseline), None)
    if key is None:
        return {}
    return {r.seed: r.values[metric] for r in groups[key] if r.status == "done" and metric in r.values}


def _holm_per_metric(results: list[Comparison], metrics: int) -> list[Comparison]:
    """Each comparison's p-value adjusted (Holm) over the configs compared on the same metric:
    `results` holds `metrics` comparisons per config, in the same order for each."""
    out = list(results)
    for m in range(metrics):
        indices = [i for i in range(m, len(results), metrics) if results[i].p_value is not None]
        adjusted = holm([results[i].p_value for i in indices])  # type: ignore[misc]
        for i, p in zip(indices, adjusted, strict=True):
            out[i] = dataclasses.replace(results[i], p_holm=p)
    return out


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
    groups = _group(runs)
    reports: list[ConfigReport] = []
    runs_used, runs_max = 0, 0
    for fidelity in sorted(
        {f for (_, f, s) in groups if s == "search"}, key=lambda f: FIDELITY_ORDER.get(f, 9)
    ):
        keys = [(c, f, s) for (c, f, s) in groups if f == fidelity and s == "search"]
        decide = alpha if target is not None or spec.racing is not None else None
        reports += _judge(spec, by_id, groups, keys, decide, comparisons, promise.time_alpha)
        runs_used += sum(len(groups[k]) for k in keys)
        runs_max += len(keys) * len(spec.seeds)
    reports.sort(key=lambda r: _order(r, spec, target, metrics.cost.name, metrics.cost.sign))
    full = [r for r in reports if r.fidelity == reports[0].fidelity] if reports else []
    broken = _broken(full, spec)
    eligible = [r for r in full if r.config_id not in broken]
    recommendation, best = _recommend(eligible, target, alpha, spec, promise.time_alpha)
    candidates = _candidates(eligible, recommendation, spec)
    verification, held = _verification(spec, by_id, groups, recommendation, comparisons)
    verified = None
    if spec.verify is not None and target is not None and verification:
        recommendation, best, verified = _bind(spec, eligible, verification, candidates, recommendation, best)
    warnings = time_spread(full, metrics.cost) + skewed(full, metrics.quality)
    if spec.timing == "packed":
        warnings = (
            *warnings,
            "times were measured with several runs sharing a GPU (timing: packed): "
            "they are not comparable with times of runs alone on a GPU",
        )
    if warnings and recommendation.config is not None:
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
        warnings,
        _pareto(eligible, spec),
        broken,
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
    rows = [[r.metrics[m].mean if r.metrics[m].mean is not None else math.nan for m in names] for r in full]
    signs = [1.0 if o.direction == "maximize" else -1.0 for o in objectives]
    return tuple(full[i].config_id for i in sorted(non_dominated(rows, signs)))


def _candidates(full: list[ConfigReport], recommendation: Recommendation, spec: SweepSpec) -> tuple[str, ...]:
    """The configs verification tries, in order: the recommendation, then the other passing
    configs by their mean cost."""
    if recommendation.config is None or spec.target is None:
        return ()
    cost = decision_metrics(spec).cost
    passing = [r for r in full if r.verdict is not None and r.verdict.decision == "pass" and r.n > 0]
    passing.sort(key=lambda r: -cost.sign * (r.metrics[cost.name].mean or 0.0))
    order = [recommendation.config] + [r.config_id for r in passing if r.config_id != recommendation.config]
    return tuple(order)


def _bind(
    spec: SweepSpec,
    full: list[ConfigReport],
    verification: list[ConfigReport],
    candidates: tuple[str, ...],
    searched: Recommendation,
    best: ConfigReport | None,
) -> tuple[Recommendation, ConfigReport | None, str | None]:
    """Binding verification: the first candidate that passes on fresh seeds (each judged at alpha
    over the candidates) is the recommendation, its verification mean the headline; while the
    candidates are not all verified, the search's recommendation stands, marked unverified; when
    none passed, there is no recommendation."""
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
        if passed != searched.config:
            sentence += f" (The search's first choice {searched.config} did not pass verification.)"
        return Recommendation(passed, (), sentence), search, passed
    if len(tried) < min(spec.verify.candidates, len(candidates)):
        return (
            Recommendation(searched.config, searched.tied, searched.sentence + " Not yet verified."),
            best,
            None,
        )
    names = ", ".join(tried) or "none"
    sentence = (
        f"No config was verified: {names} did not pass on {seeds} fresh seeds (judged at level {level:.2g}); "
        "the search's choice is not recommended. Raise verify.seeds or verify.candidates and resume."
    )
    return Recommendation(None, (), sentence), None, None


def _order(
    report: ConfigReport, spec: SweepSpec, target: Target | None, cost: str, cost_sign: float
) -> tuple[Any, ...]:
    fidelity = FIDELITY_ORDER.get(report.fidelity, 9)
    if report.n == 0:
        return (fidelity, 9, 0.0)
    if target is not None and report.verdict is not None:
        mean_cost = report.metrics[cost].mean
        oriented = math.inf if mean_cost is None else -cost_sign * mean_cost
        return (fidelity, DECISION_ORDER[report.verdict.decision], oriented)
    mean = report.metrics[spec.primary.metric].mean or 0.0
    return (fidelity, 0, -spec.primary.sign * mean)


def _recommend(
    reports: list[ConfigReport],
    target: Target | None,
    alpha: float,
    spec: SweepSpec,
    time_alpha: float = 0.05,
) -> tuple[Recommendation, ConfigReport | None]:
    reports = [r for r in reports if r.n > 0]
    names = {r.config_id: f"{r.config_id} [{r.label()}]" for r in reports}
    metrics = decision_metrics(spec)
    if target is not None:
        judged = {r.config_id: r.verdict for r in reports if r.verdict is not None}
        costs = {r.config_id: r.metrics[metrics.cost.name].mean for r in reports}
        oriented = {k: math.inf if v is None else -metrics.cost.sign * v for k, v in costs.items()}
        recommendation = recommend(
            judged,
            oriented,
            target,
            alpha,
            names,  # type: ignore[arg-type]
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
    if summary.ci_low is not None:
        ci = f"{metric.format(summary.ci_low, unit=False)}-{metric.format(summary.ci_high)}"
        sentence += (
            f" ({spec.confidence:.0%} CI {ci}; set objective.target to decide with stated confidence.)"
        )
    return Recommendation(best.config_id, (), sentence), best


def _verification(
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
    reports = _judge(spec, by_id, groups, keys, decide, comparisons)
    held = None
    if recommendation.config is not None and spec.target is not None:
        mine = next((r for r in reports if r.config_id == recommendation.config), None)
        if mine is not None and mine.verdict is not None:
            held = {"pass": True, "fail": False}.get(mine.verdict.decision)  # undecided: inconclusive
    return reports, held
