"""`hotlap compare A B`: the statistics of one config against another.

A side is `SWEEP/CONFIG`, a config id (or its prefix), or a sweep (its recommended config, or its
only one for `hotlap run`). Its runs are the config's finished full-fidelity search runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotlap.analysis.configs import analyze
from hotlap.errors import HotlapError
from hotlap.metrics import Metric
from hotlap.spec.validate import stored_spec
from hotlap.stats import Comparison, Summary, compare, describe
from hotlap.store import Store

__all__ = ["MetricComparison", "Side", "compare_sides", "naive_note", "resolve_side", "time_claim"]


@dataclass(frozen=True)
class Side:
    label: str
    values: dict[str, dict[int, float]]  # metric -> seed -> value
    metrics: tuple[Metric, ...] = ()
    cost: str | None = None  # the sweep's minimized time or cost (its objective), for "A takes less"
    raced: bool = False  # its sweep raced: its seed count depended on its runs


def _side(store: Store, sweep_id: str, config_id: str) -> Side:
    runs = [
        r for r in store.runs(sweep_id, config_id=config_id, stage="search", fidelity="full", status="done")
    ]
    if not runs:
        raise HotlapError(f"config {config_id} of sweep {sweep_id} has no finished full-fidelity run")
    sweep = store.require(sweep_id)
    spec = stored_spec(sweep.spec)
    metrics = tuple(spec.metric_defs())
    values = {m.name: {r.seed: float(r.values[m.name]) for r in runs if m.name in r.values} for m in metrics}
    cost = next((o.metric for o in spec.objective or [] if o.direction == "minimize"), None)
    return Side(f"{sweep_id}/{config_id}", values, metrics, cost, spec.racing is not None)


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
    if len(found) > 1:  # never pick one silently: each sweep has its own runs of it
        where = ", ".join(f"{s.id}/{c.config_id}" for s, c in found[:4]) + (
            f" and {len(found) - 4} more" if len(found) > 4 else ""
        )
        raise HotlapError(f"{key!r} is in {len(found)} places: {where}; write SWEEP/CONFIG")
    sweep_record, config = found[0]
    return _side(store, sweep_record.id, config.config_id)


@dataclass(frozen=True)
class MetricComparison:
    """A metric of both sides: the means are over the seeds the test used (the shared ones where
    the test is paired), so that A - B is the difference of the means shown."""

    metric: Metric
    a: Summary
    b: Summary
    comparison: Comparison
    shared: int  # seeds both sides ran


def compare_sides(a: Side, b: Side, confidence: float = 0.95) -> list[MetricComparison]:
    """Every metric both sides report, A minus B."""
    shared = [m for m in a.metrics if m.name in b.values and a.values.get(m.name) and b.values[m.name]]
    rows = []
    for m in shared:
        values_a, values_b = a.values[m.name], b.values[m.name]
        comparison = compare(values_a, values_b, confidence)
        seeds = sorted(set(values_a) & set(values_b))
        if comparison.test == "paired":  # the test's own data: the shared seeds
            values_a, values_b = {s: values_a[s] for s in seeds}, {s: values_b[s] for s in seeds}
        rows.append(
            MetricComparison(
                m,
                describe(list(values_a.values()), confidence, m.bounds),
                describe(list(values_b.values()), confidence, m.bounds),
                comparison,
                len(seeds),
            )
        )
    return rows


def naive_note(a: Side, b: Side) -> str:
    """What the intervals and p-values do not account for, where a side's sweep raced."""
    raced = [side.label for side in (a, b) if side.raced]
    if not raced:
        return ""
    return (
        f"Naive after racing: the seeds of {' and '.join(raced)} depended on their runs (and a sweep's "
        "recommendation was chosen by them), which these intervals and p-values do not account for; "
        "a comparison on fresh seeds (verification) does."
    )


def time_claim(rows: list[MetricComparison], cost: str | None, alpha: float) -> str:
    """The sentence about time: which side takes less of the sweep's minimized time metric, said
    only where the test tells them apart at `alpha`; otherwise that it cannot."""
    row = next((r for r in rows if r.metric.name == cost), None) if cost else None
    row = row or next((r for r in rows if r.metric.name == "total_time"), None)
    row = row or next((r for r in rows if r.metric.kind == "time"), None)
    if row is None or row.a.mean is None or not row.b.mean:
        return ""
    name, p = row.metric.name, row.comparison.p_value
    if p is None or p >= alpha:
        shown = "too few seeds to test" if p is None else f"p {p:.2g}"
        return f"A and B cannot be told apart in {name} ({shown}, at level {alpha:g})."
    saved = row.b.mean - row.a.mean
    return (
        f"A takes {row.metric.format(abs(saved))} ({100 * abs(saved) / row.b.mean:.1f}%) "
        f"{'less' if saved >= 0 else 'more'} {name} than B per run (p {p:.2g})."
    )
