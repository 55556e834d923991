"""Checks for cost probes."""

from __future__ import annotations

import math

__all__ = ["check_probe"]


def check_probe(name: str) -> None:
    """Cost probe `name`: it measures at least one metric, each a registered metric that a spec's
    `costs` accepts and no other probe measures; on a run of the kit's recipe through the
    in-process executor it gives only its own metrics, as finite numbers (or none where the
    device or the recipe lacks the measure: a toy has no network to time)."""
    from hotlap.executors import Task, get_executor
    from hotlap.metrics import get_metric
    from hotlap.probes import PROBES, cost_names
    from hotlap.recipes import get_recipe
    from hotlap.testing.toy import NAME

    probe = PROBES.get(name)
    assert probe.metrics, f"{name}: measures no metric"
    for metric in probe.metrics:
        get_metric(metric)  # raises where it is not registered
        assert cost_names().count(metric) == 1, f"{name}: {metric!r} is not one probe's cost metric"
    executor = get_executor("inprocess", warmup=False)
    try:
        task = Task(
            run_id=1,
            recipe=NAME,
            config={"x": 0.3},
            dataset="synthetic:8",
            seed=0,
            device="cpu",
            costs=probe.metrics,
        )
        outcome = executor.submit(task).result()
    finally:
        executor.shutdown()
    assert outcome.status == "done", f"{name}: the run failed: {outcome.error}"
    extra = set(outcome.metrics) - {m.name for m in get_recipe(NAME).metrics}
    assert extra <= set(probe.metrics), f"{name}: gave {sorted(extra - set(probe.metrics))}, not its own"
    assert all(math.isfinite(outcome.metrics[k]) for k in extra), f"{name}: a metric is not finite"
