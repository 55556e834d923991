"""The summary of a `hotlap run`: n, mean / std / min / max of every metric, and the share of
runs reaching the target. Pure: records in, a dict out (written as the run folder's summary.json)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from hotlap.metrics import Metric

__all__ = ["summarize"]


def _describe(values: list[float]) -> dict[str, float | None]:
    """mean, sample std (None for n < 2), min and max."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "std": std, "min": min(values), "max": max(values)}


def summarize(
    records: Sequence[dict[str, Any]],
    target: float | None,
    metrics: Sequence[Metric],
    metric: str | None = None,
) -> dict[str, Any]:
    """n, mean / sample std / min / max of every metric, and the share of runs with `metric` (the
    first declared) at or beyond `target`, in its direction (None: no target, no share)."""
    done = [r for r in records if r.get("status", "done") == "done"]
    summary: dict[str, Any] = {
        "n": len(done),
        "failed": len(records) - len(done),
        "metrics": [m.name for m in metrics],
    }
    for entry in metrics:
        summary[entry.name] = _describe([float(r[entry.name]) for r in done if r.get(entry.name) is not None])
    if target is None:  # no target: no success rate
        summary["target"] = None
        return summary
    judged = next(m for m in metrics if m.name == (metric or metrics[0].name))
    hits = sum(
        1
        for r in done
        if r.get(judged.name) is not None and judged.sign * r[judged.name] >= judged.sign * target
    )
    summary["target"] = {
        "metric": judged.name,
        "direction": judged.direction,
        "threshold": target,
        "successes": hits,
        "success_rate": hits / len(done) if done else None,
    }
    return summary
