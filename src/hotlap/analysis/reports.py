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
from hotlap.comparisons import Comparison, compare_many, holm
from hotlap.decisions import Verdict
from hotlap.rules import Target
from hotlap.spec.schema import SweepSpec
from hotlap.stats import Rate, Summary, describe, mean_of, mean_std, success_count
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

    def mean(self, metric: str) -> float | None:
        """The metric's mean over the config's done runs (`metrics[metric].mean`, made alone)."""
        if isinstance(self.metrics, Summaries):
            return self.metrics.mean(metric)
        return self.metrics[metric].mean

    def mean_std(self, metric: str) -> tuple[float | None, float | None]:
        """The metric's mean and std (`metrics[metric]`'s; None, None: the config has no such
        metric), without the rest of the summary where it is not made yet."""
        if isinstance(self.metrics, Summaries):
            return self.metrics.mean_std(metric)
        summary = self.metrics.get(metric)
        return (summary.mean, summary.std) if summary is not None else (None, None)

    def stats(self, metric: str) -> tuple[float | None, float | None, float | None, float | None]:
        """The metric's mean, std and CI (`metrics[metric]`'s), without the rest of the summary
        where a single run makes them plain (a row of each of 50,000 one-seed configs)."""
        if isinstance(self.metrics, Summaries):
            return self.metrics.stats(metric)
        summary = self.metrics[metric]
        return summary.mean, summary.std, summary.ci_low, summary.ci_high

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
        self._means: dict[str, float | None] = {}

    def __getitem__(self, metric: str) -> Summary:
        made = self._made.get(metric)
        if made is None:
            if metric not in self._values:
                raise KeyError(metric)
            values = list(self._values[metric].values())
            made = self._made[metric] = describe(values, self._confidence, self._bounds[metric])
        return made

    def mean(self, metric: str) -> float | None:
        """The metric's mean (`Summary.mean`) without the rest of its summary, remembered: ordering
        50,000 configs by their cost reads nothing else, and the plots read it again."""
        made = self._made.get(metric)
        if made is not None:
            return made.mean
        means = self._means
        if metric not in means:
            means[metric] = mean_of(list(self._values[metric].values()))
        return means[metric]

    def mean_std(self, metric: str) -> tuple[float | None, float | None]:
        """The metric's mean and std (`Summary.mean`, `.std`; None, None where the config has no
        such metric) without the rest of its summary."""
        made = self._made.get(metric)
        if made is not None:
            return made.mean, made.std
        values = self._values.get(metric)
        return mean_std(list(values.values())) if values is not None else (None, None)

    def stats(self, metric: str) -> tuple[float | None, float | None, float | None, float | None]:
        """The summary's mean, std, ci_low and ci_high; of one value (`describe`'s: its mean
        alone) without making the summary."""
        made = self._made.get(metric)
        if made is None:
            values = self._values[metric]
            if len(values) == 1:
                for value in values.values():
                    return float(value), None, None, None
            made = self[metric]
        return made.mean, made.std, made.ci_low, made.ci_high

    def __contains__(self, metric: object) -> bool:  # (Mapping's would make the summary)
        return metric in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class _Runs:
    """A config's finished runs at one fidelity and stage, read once: all of them and their seeds
    (`finished`, id order), its done runs (id order, as they finished) and their seeds (in order),
    each metric's value per seed, its failed count and why the pruner stopped it (None: it did
    not)."""

    __slots__ = ("done", "failed", "finished", "pruned", "runs", "seeds", "values")

    def __init__(self, runs: Sequence[RunRecord], metrics: Iterable[str]) -> None:
        self.runs, self.failed, self.pruned = runs, 0, None
        if len(runs) == 1 and runs[0].status == "done":  # (a search of 50,000 configs, one seed each)
            run = runs[0]
            seed, got = run.seed, run.values
            self.done, self.seeds = [run], (seed,)
            self.finished = self.seeds
            self.values = {m: {seed: float(got[m])} if m in got else {} for m in metrics}
            return
        values: dict[str, dict[int, float]] = {m: {} for m in metrics}
        self.values, self.finished = values, tuple(r.seed for r in runs)
        done = [r for r in runs if r.status == "done"]
        if len(done) < len(runs):
            self.failed = sum(1 for r in runs if r.status == "failed")
            self.pruned = next((r.error or "pruned" for r in runs if r.status == "pruned"), None)
        ordered = sorted(done, key=_seed) if len(done) > 1 else done
        for run in ordered:  # every metric in one pass
            for name, value in run.values.items():
                if name in values:
                    values[name][run.seed] = float(value)
        self.done = done
        self.seeds: tuple[int, ...] = tuple(r.seed for r in ordered)


def _seed(run: RunRecord) -> int:
    return run.seed


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
    target = make_target(spec)
    bounds = {m: spec.metric(m).bounds for m in spec.metric_names}
    read = {key: _Runs(groups[key], bounds) for key in keys}
    judged: dict[str, Verdict] = {}
    if alpha is not None:
        values = _judged_values(spec, by_id, read, keys, quality, cost, target)
        judged = verdicts(spec, values, alpha, time_alpha)
    compared = _compared(by_id, read, keys, (quality, cost), spec.confidence) if comparisons else {}
    confidence = spec.confidence
    # Each config's success count against the target (a relative one: differences, in its verdict).
    counted = target if target is not None and not target.relative else None
    reports = []
    for key in keys:  # (one loop, no call per config: 50,000 of them)
        config, runs = by_id[key[0]], read[key]
        values = runs.values
        success = None
        if counted is not None:
            observed = values[counted.metric].values()
            success = success_count(sum(1 for v in observed if counted.reached(v)), len(observed), confidence)
        reports.append(
            ConfigReport(
                config.config_id,
                config.params,
                config,
                config.is_baseline,
                key[1],
                key[2],
                runs.failed,
                runs.seeds,
                Summaries(values, confidence, bounds),
                values,
                success,
                judged.get(key[0]),
                *compared.get(key, _NONE),
                runs.pruned,
            )
        )
    return reports


_NONE = (None, None)


def _compared(
    by_id: dict[str, ConfigRecord],
    read: dict[tuple[str, str, str], _Runs],
    keys: list[tuple[str, str, str]],
    metrics: tuple[str, str],
    confidence: float,
) -> dict[tuple[str, str, str], tuple[Comparison, Comparison]]:
    """Each config with a done run compared with the group's baseline in the quality and the cost
    metric (this minus the baseline; Holm's p over the configs, per metric). None: no baseline."""
    baseline = next((k for k in keys if by_id[k[0]].is_baseline), None)
    if baseline is None:
        return {}
    base = read[baseline].values
    others = [k for k in keys if k != baseline and read[k].seeds]
    pairs = [(read[k].values[m], base[m]) for k in others for m in metrics]
    results = _holm_per_metric(compare_many(pairs, confidence), metrics=2)
    return {k: (results[2 * i], results[2 * i + 1]) for i, k in enumerate(others)}


def _judged_values(
    spec: SweepSpec,
    by_id: dict[str, ConfigRecord],
    read: dict[tuple[str, str, str], _Runs],
    keys: list[tuple[str, str, str]],
    quality: str,
    cost: str,
    target: Target | None,
) -> dict[str, dict[str, list[float]]]:
    """What each config is judged on (config id -> metric -> values, in the order its runs
    finished). Judged as the engine saw each config: at its last planned look (racing), or once
    every seed finished (fixed seeds); never on a partial round. (A derived sweep's configs run on
    the seeds their source has, which may be fewer.) A config the pruner closed is not judged: its
    finished seeds alone are a biased sample."""
    racing = spec.derived_from is None and all(stage == "search" for _, _, stage in keys)
    reference = (
        _baseline_values(by_id, read, keys, quality) if target is not None and target.relative else None
    )
    schedule, seeds = spec.look_schedule(), spec.seeds
    looks: dict[tuple[int, ...], set[int] | None] = {}  # finished seeds -> their last look's, None: all
    values = {}
    for key in keys:
        runs = read[key]
        if runs.pruned is not None:
            continue
        done = runs.done
        if racing:  # judged as racing saw it: at its last planned look (not a partial round)
            finished = runs.finished  # (50,000 configs share a few of these)
            if finished not in looks:
                look = set(seeds[: planned_look(set(finished), seeds, schedule)])
                looks[finished] = None if look.issuperset(finished) else look
            look = looks[finished]
            done = done if look is None else [r for r in done if r.seed in look]
        if len(done) == 1:  # (50,000 configs of one seed each: no comprehension made per config)
            got = done[0].values
            values[key[0]] = {
                quality: [got[quality]] if quality in got else [],
                cost: [got[cost]] if cost in got else [],
            }
        else:
            values[key[0]] = {m: [r.values[m] for r in done if m in r.values] for m in (quality, cost)}
        if reference is not None:  # judged on the differences from the baseline, seed by seed
            values[key[0]][quality] = [
                r.values[quality] - reference[r.seed]
                for r in sorted(done, key=_seed)
                if quality in r.values and r.seed in reference
            ]
    return values


def _baseline_values(
    by_id: dict[str, ConfigRecord],
    read: dict[tuple[str, str, str], _Runs],
    keys: list[tuple[str, str, str]],
    metric: str,
) -> dict[int, float]:
    """The group's baseline's value of `metric` per seed (done runs): what a relative target
    pairs each config with. Empty where the group has no baseline."""
    key = next((k for k in keys if by_id[k[0]].is_baseline), None)
    if key is None:
        return {}
    return {r.seed: r.values[metric] for r in read[key].done if metric in r.values}


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
