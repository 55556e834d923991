"""A sweep's runs as rows for `hotlap export` and `Store.to_pandas`: one row per run, its swept
values and metrics beside the run's own fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hotlap.metrics import V1_METRICS
from hotlap.records import ConfigRecord, RunRecord, SweepRecord

__all__ = ["export_columns", "export_rows", "sweep_columns"]


def sweep_columns(sweep: SweepRecord) -> tuple[list[str], list[str]]:
    """The swept keys and the metric names of a stored sweep, read from its stored spec alone (no
    recipe needed)."""
    spec = sweep.spec
    swept = (["variant"] if spec.get("variants") else []) + list(spec.get("space") or {})
    metrics = [m["name"] for m in spec.get("metrics") or []] or list(V1_METRICS)
    return swept, metrics


def export_columns(swept_keys: Sequence[str], metrics: Sequence[str]) -> list[str]:
    return [
        "sweep",
        "config_id",
        "is_baseline",
        *swept_keys,
        "seed",
        "fidelity",
        "stage",
        "status",
        *metrics,
        "wall_time",
        "device",
        "host",
        "started",
        "ended",
        "error",
    ]


def export_rows(
    sweep_name: str,
    swept_keys: Sequence[str],
    metrics: Sequence[str],
    configs: Iterable[ConfigRecord],
    runs: Iterable[RunRecord],
) -> list[dict[str, Any]]:
    """One row per run: sweep, config id, every swept key, seed, fidelity, status, every metric."""
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
        row.update({"seed": run.seed, "fidelity": run.fidelity, "stage": run.stage, "status": run.status})
        row.update({metric: run.value(metric) for metric in metrics})
        row.update(
            {
                "wall_time": run.wall_time,
                "device": run.device,
                "host": run.host,
                "started": run.started,
                "ended": run.ended,
                "error": run.error,
            }
        )
        rows.append(row)
    return rows
