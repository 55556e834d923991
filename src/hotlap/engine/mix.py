"""Which planned runs train and which only evaluate a network another run trained (shared
training): each config keyed by the training its time depends on (`Recipe.training_key`: the
config less its evaluation-only fields; else the whole config). `hotlap plan`'s estimate prices
each kind from comparable earlier runs; the live display's ETA weighs the kinds still to run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hotlap.config import config_hash
from hotlap.engine.estimate import PlannedConfig
from hotlap.engine.sharing import shares_training
from hotlap.errors import HotlapError
from hotlap.recipes import Recipe, get_recipe
from hotlap.spec.fields import StrategySpec
from hotlap.spec.schema import SweepSpec
from hotlap.strategies import get_strategy, is_finite

__all__ = ["MAX_PLANNED", "ConfigKeys", "evaluation_share", "planned_configs"]

MAX_PLANNED = 100_000  # configs enumerated; a larger finite space counts by its first
SAMPLED = 500  # configs drawn to stand for a strategy that proposes as it learns


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


def _points(spec: SweepSpec, limit: int) -> list[dict[str, Any]]:
    """The swept values of the configs the sweep plans, the baseline last: a finite strategy's
    every one (up to `limit`); for a strategy that proposes as it learns, a seeded random sample of its space as
    large as its trials (at most SAMPLED), standing for its proposals: the mix of trainings and
    evaluations it makes (a search over evaluation-only fields trains once per seed)."""
    if is_finite(spec.strategy.name):
        strategy = get_strategy(spec)
    else:
        draws = min(spec.strategy.trials or SAMPLED, SAMPLED, limit)
        sampler = StrategySpec(name="random", seed=spec.strategy.seed, trials=draws)
        strategy, limit = get_strategy(spec.model_copy(update={"strategy": sampler})), draws
    points: list[dict[str, Any]] = []
    while len(points) < limit and (proposal := strategy.ask()) is not None:
        points.append(dict(proposal.params))
    if spec.baseline is not None:
        points.append({**spec.baseline})
    return points


def _training_part(overrides: Mapping[str, Any], recipe: Recipe) -> str:
    """The overrides a config's training depends on (every one but the evaluation-only fields')."""
    field_of, eval_fields = recipe.config_cls.field_of, recipe.eval_fields
    kept = sorted((k, v) for k, v in overrides.items() if field_of(k) not in eval_fields)
    return json.dumps(kept, default=str)


def planned_configs(spec: SweepSpec, limit: int = MAX_PLANNED) -> list[PlannedConfig]:
    """The configs the sweep plans and the baseline (`_points`), by training. Configs that differ
    only in evaluation-only fields are resolved once. Empty for a sweep over several recipes."""
    if len(spec.recipe_names) > 1:
        return []
    recipe = get_recipe(spec.recipe)
    keys = ConfigKeys(recipe, spec.dataset)
    points = _points(spec, limit)
    sharing = shares_training(spec, recipe)
    resolved: dict[str, tuple[str, bool, int | None] | None] = {}
    planned = []
    for params in points:
        overrides = spec.overrides_for(params)
        part = _training_part(overrides, recipe) if sharing else None
        if part is not None and part in resolved:
            found = resolved[part]
        else:
            try:
                found = keys.of(recipe.config(overrides).model_dump())
            except HotlapError:
                found = None
            if part is not None:
                resolved[part] = found
        if found is not None:
            planned.append(PlannedConfig(*found))
    return planned


def evaluation_share(spec: SweepSpec, limit: int = MAX_PLANNED) -> float | None:
    """The share of the planned runs that only evaluate a shared network (0 where the recipe
    cannot share training or no config sets an evaluation-only field); for a strategy that
    proposes as it learns, its space's random sample's (`_points`). Configs are told apart by
    their training's overrides, unresolved (no recipe resolution per config). None for several
    recipes or over `limit` configs."""
    if len(spec.recipe_names) > 1:
        return None
    recipe = get_recipe(spec.recipe)
    if not shares_training(spec, recipe):
        return 0.0
    points = _points(spec, limit + 1)
    if not points or len(points) - (spec.baseline is not None) > limit:
        return None
    trainings = {_training_part(spec.overrides_for(params), recipe) for params in points}
    return 1 - len(trainings) / len(points)
