"""Which planned runs train and which only evaluate a network another run trained (shared
training): each config keyed by the training its time depends on (`Recipe.training_key`: the
config less its evaluation-only fields; else the whole config). `hotlap plan`'s estimate prices
each kind from comparable earlier runs; the live display's ETA weighs the kinds still to run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotlap.config import config_hash
from hotlap.engine.estimate import PlannedConfig
from hotlap.errors import HotlapError
from hotlap.recipes import Recipe, get_recipe
from hotlap.spec.schema import SweepSpec
from hotlap.strategies import get_strategy, is_finite

__all__ = ["MAX_PLANNED", "ConfigKeys", "evaluation_share", "planned_configs"]

MAX_PLANNED = 100_000  # configs enumerated; a larger finite space counts by its first


class ConfigKeys:
    """A recipe's configs by their training: `of(config)` -> (key, shares, optimizer steps), or
    None for a config this recipe cannot read (one an older version stored)."""

    def __init__(self, recipe: Recipe, dataset: str) -> None:
        from hotlap.data import dataset_sizes

        self.recipe = recipe
        self.train_size = dataset_sizes(dataset)[0] if recipe.uses_data else 0

    def of(self, config: Mapping[str, Any]) -> tuple[str, bool, int | None] | None:
        recipe = self.recipe
        try:
            resolved = recipe.config(dict(config))
            shared = recipe.training_key(dict(config))
            steps = (
                recipe.total_steps(resolved, self.train_size)
                if recipe.total_steps and self.train_size
                else None
            )
        except (HotlapError, ValueError, TypeError):
            return None
        if shared is not None:
            return shared, True, steps
        return config_hash(recipe.name, resolved), False, steps


def planned_configs(spec: SweepSpec, limit: int = MAX_PLANNED) -> list[PlannedConfig]:
    """The configs the sweep plans (a finite strategy's every one, up to `limit`; a strategy that
    proposes as it learns: its base config, standing for all) and the baseline, by training. Empty
    for a sweep over several recipes."""
    if len(spec.recipe_names) > 1:
        return []
    recipe = get_recipe(spec.recipe)
    keys = ConfigKeys(recipe, spec.dataset)
    points: list[dict[str, Any]] = [{}]
    if is_finite(spec.strategy.name):
        strategy, points = get_strategy(spec), []
        while len(points) < limit and (proposal := strategy.ask()) is not None:
            points.append(dict(proposal.params))
    if spec.baseline is not None:
        points.append({**spec.baseline})
    planned = []
    for params in points:
        try:
            found = keys.of(recipe.config(spec.overrides_for(params)).model_dump())
        except HotlapError:
            found = None
        if found is not None:
            planned.append(PlannedConfig(*found))
    return planned


def evaluation_share(spec: SweepSpec, limit: int = 5_000) -> float | None:
    """The share of the planned runs that only evaluate a shared network (0 where the recipe
    cannot share training); None where it cannot be told cheaply (several recipes, a strategy that
    proposes as it learns, over `limit` configs)."""
    if len(spec.recipe_names) > 1:
        return None
    if not get_recipe(spec.recipe).eval_fields:
        return 0.0
    if not is_finite(spec.strategy.name):
        return None
    planned = planned_configs(spec, limit + 1)
    if not planned or len(planned) > limit:
        return None
    trainings = len({c.key for c in planned if c.shares}) + sum(1 for c in planned if not c.shares)
    return 1 - trainings / len(planned)
