"""`hotlap compare A B`: the statistics of one config against another.

A side is `SWEEP/CONFIG` (a config id, its prefix, or a variant's name), a config id (or its
prefix), or a sweep (its recommended config, or its
only one for `hotlap run`). Its runs are the config's finished full-fidelity search runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotlap.analysis.configs import analyze
from hotlap.comparisons import Comparison, compare
from hotlap.errors import HotlapError
from hotlap.metrics import Metric
from hotlap.spec.validate import stored_spec
from hotlap.stats import Summary, describe
from hotlap.store import Store

__all__ = [
    "COMPARE_HEADERS",
    "MetricComparison",
    "Side",
    "compare_sides",
    "comparison_block",
    "comparison_cells",
    "difference",
    "naive_note",
    "resolve_side",
    "time_claim",
]


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
        configs = store.configs(sweep.id)
        # a variant's name (SWEEP/narrow_block2), else a config id or its prefix
        matches = [c for c in configs if c.params.get("variant") == config_key] or [
            c for c in configs if c.config_id.startswith(config_key)
        ]
        if len(matches) != 1:
            raise HotlapError(
                f"{key!r}: {len(matches)} configs of sweep {sweep.id} are named or start with {config_key!r}"
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


COMPARE_HEADERS = (
    "metric",
    "A mean (n)",
    "B mean (n)",
    "A - B",
    "CI",
    "test",
    "p",
    "Wilcoxon p",
    "effect size",
)


def difference(metric: Metric, value: float | None) -> str:
    """A difference as a reader wants it: a fraction's in percentage points (+1.44 points, not
    1.435%), anything else in the metric's unit, signed."""
    if value is None:
        return "-"
    if metric.percent:
        return f"{100 * value:+.2f} points"
    text = metric.format(abs(value))
    return ("-" if value < 0 else "+") + text


def comparison_cells(row: MetricComparison) -> list[str]:
    """The cells of one metric's line in `hotlap compare`, in COMPARE_HEADERS' order, every
    number whole."""
    c, metric = row.comparison, row.metric

    def fmt(v: float | None) -> str:
        return metric.format(v, digits=3 if metric.percent else None)

    if c.ci_low is not None and c.ci_high is not None:
        ci = f"{difference(metric, c.ci_low)} to {difference(metric, c.ci_high)}"
    else:
        ci = "-"
    test = (
        f"paired on {c.n_pairs} shared seeds"
        if c.test == "paired"
        else f"Welch on {c.n_a} and {c.n_b} seeds ({row.shared} shared)"
    )
    return [
        metric.name,
        f"{fmt(row.a.mean)} ({row.a.n})",
        f"{fmt(row.b.mean)} ({row.b.n})",
        difference(metric, c.diff),
        ci,
        test,
        "-" if c.p_value is None else f"{c.p_value:.3g}",
        "-" if c.p_wilcoxon is None else f"{c.p_wilcoxon:.3g}",
        "-" if c.effect_size is None else f"{c.effect_size:+.2f}",
    ]


def comparison_block(cells: list[str], confidence: float) -> list[str]:
    """One metric's comparison as lines, for a terminal too narrow for the table: the numbers
    whole, a line each."""
    name, a, b, diff, ci, test, p, w, effect = cells
    lines = [
        f"{name}: A {a}, B {b}",
        f"  A - B {diff}" + (f", {confidence:.0%} CI {ci}" if ci != "-" else ""),
    ]
    tested = f"  {test}" + (f", p {p}" if p != "-" else "") + (f", Wilcoxon p {w}" if w != "-" else "")
    lines.append(tested + (f", effect size {effect}" if effect != "-" else ""))
    return lines
