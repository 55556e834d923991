"""Per-config reports: each config's runs at one fidelity and stage summarized (means, spreads,
intervals, success rates), judged at a level, and compared with the baseline on shared seeds."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotlap.analysis.judging import (
    decision_metrics,
    make_target,
    planned_look,
    verdicts,
)
from hotlap.decisions import Verdict
from hotlap.rules import Target
from hotlap.spec.schema import SweepSpec
from hotlap.stats import Comparison, Rate, Summary, compare_many, describe, holm, success_rate
from hotlap.store import FINISHED, ConfigRecord, RunRecord

__all__ = [
    "DECISION_ORDER",
    "FIDELITY_ORDER",
    "ConfigReport",
    "Summaries",
    "group_runs",
    "judge_configs",
    "short_value",
]

FIDELITY_ORDER = {"full": 0, "low": 1}
DECISION_ORDER = {"pass": 0, "undecided": 1, "fail": 2}


@dataclass(frozen=True)
class ConfigReport:
    """One config at one fidelity and stage."""

    config_id: str
    params: dict[str, Any]
    source: ConfigRecord | dict[str, Any]  # its stored record (its config parsed where read), or the config
    is_baseline: bool
    fidelity: str
    stage: str
    failed: int
    seeds: tuple[int, ...]
    metrics: Mapping[str, Summary]  # every metric (`Summaries`: each made where first read)
    values: dict[str, dict[int, float]]  # metric -> seed -> value
    success: Rate | None  # against the target (or None without one)
    verdict: Verdict | None
    vs_baseline: Comparison | None  # quality metric, this minus the baseline
    cost_vs_baseline: Comparison | None  # cost metric, this minus the baseline
    pruned: str | None = None  # why the pruner stopped one of its runs: closed, never judged

    @property
    def config(self) -> dict[str, Any]:
        """The fully resolved config (parsed from the store on first use: a status of 50,000
        configs reads none)."""
        return self.source.config if isinstance(self.source, ConfigRecord) else self.source

    @property
    def n(self) -> int:
        return len(self.seeds)

    def value(self, key: str) -> Any:
        """A swept key's value: its own where it was swept, else its resolved config's (read only
        then: parsing 50,000 configs costs seconds)."""
        return self.params[key] if key in self.params else self.config.get(key)

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


def group_runs(runs: Iterable[RunRecord]) -> dict[tuple[str, str, str], list[RunRecord]]:
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for run in runs:
        if run.status in FINISHED:
            groups[(run.config_id, run.fidelity, run.stage)].append(run)
    return groups


class Summaries(Mapping[str, Summary]):
    """A config's summary of each metric (`hotlap.stats.describe` of its values), made where
    first read: `status` over 50,000 configs reads one metric of each, a report all."""

    def __init__(
        self,
        values: dict[str, dict[int, float]],
        confidence: float,
        bounds: dict[str, tuple[float, float] | None],
    ) -> None:
        self._values, self._confidence, self._bounds = values, confidence, bounds
        self._made: dict[str, Summary] = {}

    def __getitem__(self, metric: str) -> Summary:
        made = self._made.get(metric)
        if made is None:
            if metric not in self._values:
                raise KeyError(metric)
            values = list(self._values[metric].values())
            made = self._made[metric] = describe(values, self._confidence, self._bounds[metric])
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _config_report(
    config: ConfigRecord,
    fidelity: str,
    stage: str,
    runs: Sequence[RunRecord],
    spec: SweepSpec,
    verdict: Verdict | None,
    target: Target | None,
    bounds: dict[str, tuple[float, float] | None],
) -> ConfigReport:
    done = sorted((r for r in runs if r.status == "done"), key=lambda r: r.seed)
    values: dict[str, dict[int, float]] = {m: {} for m in bounds}
    for run in done:  # one pass over the runs, every metric at once
        for name, value in run.values.items():
            if name in values:
                values[name][run.seed] = float(value)
    success = None
    if target is not None and not target.relative:  # (a relative one: differences, in `verdict`)
        observed = values[target.metric].values()
        hits = [1.0 if target.reached(v) else 0.0 for v in observed]
        success = success_rate(hits, 0.5, spec.confidence)
    return ConfigReport(
        config.config_id,
        config.params,
        config,
        config.is_baseline,
        fidelity,
        stage,
        sum(1 for r in runs if r.status == "failed"),
        tuple(r.seed for r in done),
        Summaries(values, spec.confidence, bounds),
        values,
        success,
        verdict,
        None,
        None,
        next((r.error or "pruned" for r in runs if r.status == "pruned"), None),
    )


def judge_configs(
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
        # Judged as the engine saw each config: at its last planned look (racing), or once every
        # seed finished (fixed seeds); never on a partial round. (A derived sweep's configs run on
        # the seeds their source has, which may be fewer.)
        racing = spec.derived_from is None and all(stage == "search" for _, _, stage in keys)
        reference = (
            _baseline_values(by_id, groups, keys, quality) if target is not None and target.relative else None
        )
        schedule = spec.look_schedule()
        for key in keys:
            if any(r.status == "pruned" for r in groups[key]):
                continue  # closed by the pruner: its finished seeds alone are a biased sample
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
    bounds = {m: spec.metric(m).bounds for m in spec.metric_names}
    reports = [
        _config_report(by_id[c], f, s, groups[(c, f, s)], spec, judged.get(c), target, bounds)
        for c, f, s in keys
    ]
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
