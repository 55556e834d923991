"""`hotlap compare A B`: the statistics of one config against another.

A side is `SWEEP/CONFIG`, a config id (or its prefix), or a sweep (its recommended config, or its
only one for `hotlap run`). Its runs are the config's finished full-fidelity search runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotlap.errors import HotlapError
from hotlap.metrics import Metric
from hotlap.stats import Comparison, Summary, compare, describe
from hotlap.store import Store
from hotlap.sweep.analysis import analyze
from hotlap.sweep.validate import stored_spec

__all__ = ["Side", "compare_sides", "resolve_side"]


@dataclass(frozen=True)
class Side:
    label: str
    values: dict[str, dict[int, float]]  # metric -> seed -> value
    metrics: tuple[Metric, ...] = ()


def _side(store: Store, sweep_id: str, config_id: str) -> Side:
    runs = [
        r
        for r in store.runs(
            sweep_id, config_id=config_id, stage="search", fidelity="full", status="done"
        )
    ]
    if not runs:
        raise HotlapError(
            f"config {config_id} of sweep {sweep_id} has no finished full-fidelity run"
        )
    sweep = store.require(sweep_id)
    metrics = tuple(stored_spec(sweep.spec).metric_defs())
    values = {
        m.name: {r.seed: float(r.values[m.name]) for r in runs if m.name in r.values}
        for m in metrics
    }
    return Side(f"{sweep_id}/{config_id}", values, metrics)


def resolve_side(store: Store, key: str) -> Side:
    if "/" in key:
        sweep_key, config_key = key.split("/", 1)
        sweep = store.require(sweep_key)
        matches = [c for c in store.configs(sweep.id) if c.config_id.startswith(config_key)]
        if len(matches) != 1:
            raise HotlapError(
                f"{key!r}: {len(matches)} configs of sweep {sweep.id} start with {config_key!r}"
            )
        return _side(store, sweep.id, matches[0].config_id)
    sweep = store.sweep(key)
    if sweep is not None:
        analysis = analyze(
            stored_spec(sweep.spec),
            store.configs(sweep.id),
            store.runs(sweep.id, details=False),
            comparisons=False,
        )
        if analysis.best is None:
            raise HotlapError(f"sweep {sweep.id} has no finished run to compare")
        return _side(store, sweep.id, analysis.best.config_id)
    found = [
        (s, c)
        for s in reversed(store.sweeps())
        for c in store.configs(s.id)
        if len(key) >= 4 and c.config_id.startswith(key)
    ]
    if not found:
        raise HotlapError(f"{key!r} is neither a sweep nor a config id in {store.workdir}")
    sweep_record, config = found[0]  # the latest sweep holding it
    return _side(store, sweep_record.id, config.config_id)


@dataclass(frozen=True)
class MetricComparison:
    metric: Metric
    a: Summary
    b: Summary
    comparison: Comparison


def compare_sides(a: Side, b: Side, confidence: float = 0.95) -> list[MetricComparison]:
    """Every metric both sides report, A minus B."""
    shared = [
        m for m in a.metrics if m.name in b.values and a.values.get(m.name) and b.values[m.name]
    ]
    return [
        MetricComparison(m, describe(list(a.values[m.name].values()), confidence),
                         describe(list(b.values[m.name].values()), confidence),
                         compare(a.values[m.name], b.values[m.name], confidence))
        for m in shared
    ]  # fmt: skip
