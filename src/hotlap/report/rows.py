"""The report's data: plain rows and a JSON-ready document, computed from an Analysis."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import ConfigReport
from hotlap.memory import keep_until_exit, without_gc
from hotlap.store import SweepRecord

__all__ = [
    "cached",
    "config_rows",
    "csv_columns",
    "csv_rows",
    "document",
    "listed",
    "named_rows",
    "rows_of",
    "shown_costs",
    "swept_columns",
]

# In the order `_Row.core` gives a config's values (rows are made as lists, named by position).
CORE_COLUMNS = [
    "fidelity",
    "is_baseline",
    "n",
    "failed",
    "mean_accuracy",
    "std_accuracy",
    "ci_low",
    "ci_high",
    "ci_naive_after_racing",
    "success_rate",
    "success_ci_low",
    "success_ci_high",
    "mean_time",
    "std_time",
    "time_ci_low",
    "time_ci_high",
    "accuracy_diff_vs_baseline",
    "time_diff_vs_baseline",
    "time_diff_pct",
    "achieves_target",
    "decision",
    "reason",
    "p_value_vs_baseline",
    "p_holm_vs_baseline",
    "p_wilcoxon_vs_baseline",
    "effect_size_vs_baseline",
    "time_p_value_vs_baseline",
    "time_p_holm_vs_baseline",
]


# Internal row keys -> the CSV's and JSON's column names, which name the metrics: `mean_time` of a
# sweep that minimizes train_time is written `mean_train_time`.
def _renames(analysis: Analysis) -> dict[str, str]:
    q, c = analysis.quality_metric, analysis.cost_metric
    return {
        "mean_accuracy": f"mean_{q}",
        "std_accuracy": f"std_{q}",
        "ci_low": f"ci_low_{q}",
        "ci_high": f"ci_high_{q}",
        "mean_time": f"mean_{c}",
        "std_time": f"std_{c}",
        "time_ci_low": f"ci_low_{c}",
        "time_ci_high": f"ci_high_{c}",
        "accuracy_diff_vs_baseline": f"{q}_diff_vs_baseline",
        "time_diff_vs_baseline": f"{c}_diff_vs_baseline",
        "time_diff_pct": f"{c}_diff_pct",
        "time_p_value_vs_baseline": f"{c}_p_value_vs_baseline",
        "time_p_holm_vs_baseline": f"{c}_p_holm_vs_baseline",
    }


def shown_costs(analysis: Analysis) -> list[str]:
    """The cost metrics every table shows beside the quality and the cost minimized: those the
    spec measures (`costs`), bounds (`constraints`) or names as objectives, in that order (a
    quantization study's avg_bits and memory_density, whatever it minimizes)."""
    spec = analysis.spec
    named = [*spec.costs, *(c.metric for c in spec.constraints), *(o.metric for o in spec.objective or [])]
    known = set(spec.metric_names)
    skip = {analysis.quality_metric, analysis.cost_metric}
    return [m for m in dict.fromkeys(named) if m in known and m not in skip]


def _other_metrics(analysis: Analysis) -> list[str]:
    return [m for m in analysis.spec.metric_names if m not in (analysis.quality_metric, analysis.cost_metric)]


def swept_columns(analysis: Analysis) -> dict[str, str]:
    """Each swept key's column in the rows: the key itself, or `swept_<key>` where a row has a
    column of that name already (a script's own key `n` is not the seed count `n`): every column
    named once. Found once per analysis (each table cell's label reads it)."""
    return cached("swept", analysis, lambda: _swept_columns(analysis))


def _swept_columns(analysis: Analysis) -> dict[str, str]:
    renames = _renames(analysis)
    others = [f"{stat}_{m}" for m in _other_metrics(analysis) for stat in ("mean", "std")]
    taken = {"config_id", "costs", "pareto", "constraints_kept", *CORE_COLUMNS, *renames.values(), *others}
    columns = {}
    for key in analysis.spec.swept_keys:
        column = key
        while column in taken:  # (`swept_n` may be swept too: every column its own)
            column = f"swept_{column}"
        taken.add(column)
        columns[key] = column
    return columns


def csv_columns(analysis: Analysis) -> list[str]:
    renames = _renames(analysis)
    extra = [f"{stat}_{m}" for m in _other_metrics(analysis) for stat in ("mean", "std")]
    return [
        "config_id",
        *swept_columns(analysis).values(),
        *(renames.get(c, c) for c in CORE_COLUMNS),
        *extra,
        *(["pareto"] if len(analysis.spec.objective or []) >= 2 else []),
        *(["constraints_kept"] if analysis.spec.constraints else []),
    ]


_T = TypeVar("_T")
_CACHE: dict[str, tuple[weakref.ref[Analysis], Any]] = {}
keep_until_exit("report rows", _CACHE)  # (the process's last report's rows: never freed one by one)


def cached(kind: str, analysis: Analysis, compute: Callable[[], _T]) -> _T:
    """The rows of the latest analysis, computed once for all formats (the CSV, JSON, Markdown and
    HTML of a 5,000-config report share them; without the cyclic collector, as the analysis: its
    full collections over 50,000 rows found nothing to free and doubled their time). Callers
    never modify them."""
    cached = _CACHE.get(kind)
    if cached is not None and cached[0]() is analysis:
        return cached[1]  # type: ignore[no-any-return]
    with without_gc():
        rows = compute()
    _CACHE[kind] = (weakref.ref(analysis), rows)
    return rows


def key_importances(analysis: Analysis) -> dict[str, float]:
    """`hotlap.analysis.importance.importances`, computed once for the plots and the JSON."""
    return _importance(analysis)[0]


def importance_explained(analysis: Analysis) -> float | None:
    """The share of the variation in the configs' means the keys' main effects explain together
    (`hotlap.analysis.importance.importance_of`), with `key_importances`."""
    return _importance(analysis)[1]


def _importance(analysis: Analysis) -> tuple[dict[str, float], float | None]:
    from hotlap.analysis.importance import importance_of

    return cached("importance", analysis, lambda: importance_of(analysis))


def named_rows(analysis: Analysis, reports: list[ConfigReport] | None = None) -> list[dict[str, Any]]:
    """`config_rows` with the columns named by metric (the CSV and the JSON), and the mean and
    std of every other metric the recipe reports."""
    names = csv_columns(analysis)
    if reports is None:  # (from the CSV's values where they are made: the report folder writes both)
        return cached(
            "named", analysis, lambda: [dict(zip(names, v, strict=True)) for v in csv_rows(analysis)]
        )
    return [dict(zip(names, values, strict=True)) for values in _named(analysis, reports)]


def csv_rows(analysis: Analysis) -> list[list[Any]]:
    """The CSV's rows: `named_rows`' values in `csv_columns`' order, without the dicts (50,000 of
    40 keys, made to be read back in the same order)."""
    return cached("named values", analysis, lambda: _named(analysis, analysis.configs))


def _named(analysis: Analysis, reports: list[ConfigReport]) -> list[list[Any]]:
    """Each listed report's values in `csv_columns`' order: its `config_rows` row (`costs` left
    out), then each other metric's mean and std, and where the spec asks, whether it is on the
    Pareto front and keeps the constraints."""
    listed_reports = listed(analysis) if reports is analysis.configs else [r for r in reports if _listed(r)]
    front = set(analysis.pareto)
    pareto, constraints = len(analysis.spec.objective or []) >= 2, bool(analysis.spec.constraints)
    others = _other_metrics(analysis)
    row = _Row(analysis, reports)
    out = []
    for report in listed_reports:
        values = row.core(report)
        for metric in others:
            values.extend(report.mean_std(metric))
        if pareto:  # on the front of the objectives' means
            values.append(report.fidelity == "full" and report.config_id in front)
        if constraints:
            values.append(report.config_id not in analysis.broken)
        out.append(values)
    return out


class _Row:
    """What every row of a group of reports shares, found once: the swept keys' columns, the
    metrics, each fidelity's baseline's mean cost (`group`'s first baseline of the fidelity)."""

    def __init__(self, analysis: Analysis, group: Sequence[ConfigReport]) -> None:
        self.base_times: dict[str, float | None] = {}
        for report in group:
            if report.is_baseline and report.fidelity not in self.base_times:
                self.base_times[report.fidelity] = report.mean(analysis.cost_metric)
        swept = swept_columns(analysis)
        self.swept = list(swept)
        self.costs = shown_costs(analysis)
        self.quality, self.cost = analysis.quality_metric, analysis.cost_metric
        self.racing = analysis.spec.racing is not None
        self.target = analysis.target is not None
        self.keys = ["config_id", *swept.values(), *CORE_COLUMNS]

    def core(self, report: ConfigReport) -> list[Any]:
        """A config's values in `keys`' order: the CSV's columns up to its other metrics."""
        mean, std, low, high = report.stats(self.quality)
        t_mean, t_std, t_low, t_high = report.stats(self.cost)
        success, verdict = report.success, report.verdict
        vs, time_vs = report.vs_baseline, report.cost_vs_baseline
        time_diff = time_vs.diff if time_vs is not None else None
        base_time = self.base_times.get(report.fidelity)
        decision = verdict.decision if verdict is not None and self.target else None
        reason = verdict.reason if verdict is not None else None
        if report.pruned is not None:  # closed by the pruner: never judged
            decision, reason = "pruned", report.pruned
        return [
            report.config_id,
            *[report.value(key) for key in self.swept],
            report.fidelity,
            report.is_baseline,
            len(report.seeds),
            report.failed,
            mean,
            std,
            low,
            high,
            # Racing chose this config's seed count by its runs: its intervals (the quality's and
            # the time's) are naive; verification's, on fresh seeds, are free of that.
            self.racing and report.stage == "search",
            success.rate if success else None,
            success.ci_low if success else None,
            success.ci_high if success else None,
            t_mean,
            t_std,
            t_low,
            t_high,
            vs.diff if vs else None,
            time_diff,
            100 * time_diff / base_time if time_diff is not None and base_time else None,
            decision == "pass" if decision is not None else None,
            decision,
            reason,
            vs.p_value if vs else None,
            vs.p_holm if vs else None,
            vs.p_wilcoxon if vs else None,
            vs.effect_size if vs else None,
            time_vs.p_value if time_vs else None,
            time_vs.p_holm if time_vs else None,
        ]

    def row(self, report: ConfigReport) -> dict[str, Any]:
        """A config's row: `core`'s values by key, and `costs`: each shown cost's mean alone."""
        row = dict(zip(self.keys, self.core(report), strict=True))
        row["costs"] = {m: report.mean(m) if m in report.metrics else None for m in self.costs}
        return row


def config_rows(analysis: Analysis, reports: list[ConfigReport] | None = None) -> list[dict[str, Any]]:
    """One row per config (and fidelity) with a finished, failed or pruned run, in the analysis'
    order: the CSV of `hotlap report`. `reports`: another group's (the verification's)."""
    if reports is None:
        return cached("config", analysis, lambda: rows_of(analysis, listed(analysis)))
    row = _Row(analysis, reports)
    return [row.row(r) for r in reports if _listed(r)]


def listed(analysis: Analysis) -> list[ConfigReport]:
    """The search's reports that have a row (`config_rows`), in the analysis' order: what a table
    picks the configs it shows from, without making 50,000 rows to show 1,000."""
    return cached("listed", analysis, lambda: [r for r in analysis.configs if _listed(r)])


def _listed(report: ConfigReport) -> bool:
    return len(report.seeds) > 0 or report.failed > 0 or report.pruned is not None


def rows_of(analysis: Analysis, reports: Sequence[ConfigReport]) -> list[dict[str, Any]]:
    """The rows `config_rows(analysis)` has for some of the search's listed reports."""
    row = _Row(analysis, analysis.configs)
    return [row.row(r) for r in reports]


def document(analysis: Analysis, sweep: SweepRecord, environment: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the report says, as plain data (the JSON format)."""
    rec = analysis.recommendation
    return {
        "sweep": {
            "id": sweep.id,
            "name": sweep.name,
            "recipe": sweep.recipe,
            "dataset": sweep.dataset,
            "state": sweep.state,
            "message": sweep.message,
        },
        "quality_metric": analysis.quality_metric,
        # each swept key's share of the keys' main effects on the configs' means (summing to 1; two
        # keys or more), and the share of the variation in those means the main effects explain
        # together (near 0: the shares split noise)
        "importance": key_importances(analysis),
        "importance_explained": importance_explained(analysis),
        "cost_metric": analysis.cost_metric,
        "target": None
        if analysis.target is None
        else {
            "metric": analysis.target.metric,
            "threshold": analysis.target.threshold,
            "maximize": analysis.target.maximize,
            "criterion": analysis.target.criterion,
            "success_rate": analysis.target.success_rate,
            "confidence": analysis.target.confidence,
            "relative_to": "baseline" if analysis.target.relative else None,
        },
        "alpha_per_look": analysis.alpha,
        "warnings": list(analysis.warnings),
        "guarantee": None
        if analysis.guarantee is None
        else {
            "alpha": analysis.guarantee.alpha,
            "family": analysis.guarantee.family,
            "looks": analysis.guarantee.looks,
            "look_alpha": analysis.guarantee.look_alpha,
            "futility": analysis.guarantee.futility,
            "text": analysis.guarantee.describe(),
        },
        "recommendation": {"config_id": rec.config, "tied": list(rec.tied), "sentence": rec.sentence},
        "runs": {
            "used": analysis.runs_used,
            "max_without_racing": analysis.runs_max,
            "saved": analysis.runs_saved,
            "fixed_design": None
            if analysis.fixed is None
            else {
                "seeds_per_config": analysis.fixed.seeds,
                "power": analysis.fixed.power,
                "delta_std": analysis.fixed.delta,
                "runs": analysis.runs_fixed,
                "saved": (analysis.runs_fixed or 0) - analysis.runs_used,
            },
        },
        "metrics": [analysis.spec.metric(m).to_plain() for m in analysis.spec.metric_names],
        "configs": named_rows(analysis),
        "verification": {
            "held": analysis.verification_held,
            "verified": analysis.verified,
            "candidates": list(analysis.candidates),
            "seeds": analysis.spec.verify_seeds(),
            "configs": named_rows(analysis, analysis.verification),
            "time_check": _time_check(analysis),
        },
        "devices": analysis.devices or None,
        "spec": analysis.spec.to_plain(),
        "environment": environment,
    }


def _time_check(analysis: Analysis) -> dict[str, Any] | None:
    """The verified config against the baseline on fresh seeds (report.json's
    `verification.time_check`): the paired difference in the cost metric and whether it held."""
    check = analysis.time_check
    if check is None:
        return None
    return {
        "config": check.config,
        "baseline": check.baseline,
        "metric": check.metric,
        "pairs": check.pairs,
        "diff": check.diff,
        "relative": check.relative,
        "ci_low": check.low,
        "ci_high": check.high,
        "confidence": check.confidence,
        "p_one_sided": check.p,
        "alpha": check.alpha,
        "spread": check.spread,
        "holds": check.holds,
        "binding": check.binding,
        "reason": check.reason or None,
    }
