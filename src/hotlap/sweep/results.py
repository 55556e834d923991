"""Pure functions over run records: per-config aggregates, the best config, export rows."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotlap.store import ConfigRecord, RunRecord
from hotlap.sweep.spec import METRICS, Objective

__all__ = ["ConfigSummary", "best_config", "export_rows", "summarize_configs"]

FIDELITY_ORDER = {"low": 0, "full": 1}


@dataclass
class ConfigSummary:
    """A config's finished runs at one fidelity."""

    config_id: str
    fidelity: str
    params: dict[str, Any]
    is_baseline: bool
    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    failed: int = 0

    @property
    def n(self) -> int:
        return len(self.values[METRICS[0]])

    def mean(self, metric: str) -> float | None:
        values = self.values[metric]
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        values = self.values[metric]
        return statistics.stdev(values) if len(values) > 1 else None

    def add(self, metrics: dict[str, Any]) -> None:
        for metric in METRICS:
            self.values[metric].append(float(metrics[metric]))


def summarize_configs(
    configs: Iterable[ConfigRecord], runs: Iterable[RunRecord]
) -> dict[tuple[str, str], ConfigSummary]:
    """(config_id, fidelity) -> summary of its done and failed runs."""
    by_id = {c.config_id: c for c in configs}
    out: dict[tuple[str, str], ConfigSummary] = {}
    for run in runs:
        if run.status not in ("done", "failed"):
            continue
        key = (run.config_id, run.fidelity)
        if key not in out:
            config = by_id[run.config_id]
            out[key] = ConfigSummary(run.config_id, run.fidelity, config.params, config.is_baseline)
        if run.status == "done":
            out[key].add({m: run.value(m) for m in METRICS})
        else:
            out[key].failed += 1
    return out


def objective_values(summary: ConfigSummary, objective: Sequence[Objective]) -> list[float] | None:
    """The mean of each objective metric; None when no run of the config finished."""
    if summary.n == 0:
        return None
    return [summary.mean(o.metric) for o in objective]  # type: ignore[misc]


def best_config(summaries: Iterable[ConfigSummary], primary: Objective) -> ConfigSummary | None:
    """The config with the best mean of the primary metric, at the highest fidelity that has one."""
    candidates = [s for s in summaries if s.n > 0]
    if not candidates:
        return None
    top = max(FIDELITY_ORDER.get(s.fidelity, 0) for s in candidates)
    candidates = [s for s in candidates if FIDELITY_ORDER.get(s.fidelity, 0) == top]
    return max(candidates, key=lambda s: primary.sign * (s.mean(primary.metric) or 0.0))


EXPORT_METRICS = ("accuracy", "tta_accuracy", "train_time", "eval_time", "total_time")


def export_rows(
    sweep_name: str,
    swept_keys: Sequence[str],
    configs: Iterable[ConfigRecord],
    runs: Iterable[RunRecord],
) -> list[dict[str, Any]]:
    """One row per run: sweep, config id, every swept key, seed, fidelity, status, metrics."""
    by_id = {c.config_id: c for c in configs}
    rows = []
    for run in runs:
        config = by_id[run.config_id]
        row: dict[str, Any] = {
            "sweep": sweep_name,
            "config_id": run.config_id,
            "is_baseline": config.is_baseline,
        }
        for key in swept_keys:
            row[key] = config.params.get(key, config.config.get(key))
        row.update(
            {"seed": run.seed, "fidelity": run.fidelity, "stage": run.stage, "status": run.status}
        )
        row.update({metric: run.value(metric) for metric in EXPORT_METRICS})
        row.update(
            {"device": run.device, "host": run.host, "started": run.started, "ended": run.ended}
        )
        row["error"] = run.error
        rows.append(row)
    return rows
