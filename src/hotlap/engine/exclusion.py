"""Configs excluded before they run: a `constraints` bound on a per-config metric (parameters,
FLOPs, bit widths: `hotlap.costs.static_costs`) is known from the config alone, so a config that
breaks one never trains. The engine asks at registration and records the exclusion in the store
(a race closed with no seeds, decision `excluded`), so a later session and the report know it
without computing it again; the baseline is never excluded (it is the reference).
"""

from __future__ import annotations

from typing import Any

from hotlap.recipes import Recipe
from hotlap.spec.fields import ConstraintSpec
from hotlap.spec.schema import SweepSpec

__all__ = ["exclusion", "static_bounds"]


def static_bounds(spec: SweepSpec) -> list[ConstraintSpec]:
    """The spec's constraints on metrics known before a run (scope `config`)."""
    return [b for b in spec.constraints if spec.metric(b.metric).scope == "config"]


def exclusion(spec: SweepSpec, recipe: Recipe, config: dict[str, Any]) -> str | None:
    """Why `config` (resolved, of `recipe`) must not run: each per-config bound it breaks, with its
    value ("avg_bits 16.03 bits, at most 6.5"); None where it keeps them all (or has no network)."""
    from hotlap.costs import static_costs
    from hotlap.data import dataset_sizes

    bounds = static_bounds(spec)
    if not bounds or recipe.build_model is None:
        return None
    train_size, test_size, num_classes = dataset_sizes(spec.dataset)
    resolved = recipe.config_cls.model_validate(config)
    values = static_costs(
        recipe, resolved, num_classes, train_size, test_size, wanted={b.metric for b in bounds}
    )
    broken = []
    for bound in bounds:
        value = values.get(bound.metric)
        violation = bound.violation(value)
        if violation is not None and violation > 0:
            metric = spec.metric(bound.metric)
            side = (
                f"at most {metric.format(bound.at_most)}"
                if bound.at_most is not None
                else (f"at least {metric.format(bound.at_least)}")
            )
            broken.append(f"{bound.metric} {metric.format(value)}, {side}")
    return "; ".join(broken) or None
