"""Recipes: a typed config plus one training function each, found by name.

The built-in recipes' modules import torch: each is imported where its recipe is first wanted
(`get_recipe`, `list_recipes`), so that a sweep of a script or a store-only command never does."""

from __future__ import annotations

from hotlap.recipes.base import (
    RECIPES,
    Recipe,
    RunResult,
    SourceRun,
    get_recipe,
    list_recipes,
    recipe,
    steps_per_epoch,
)

# hotlap's own recipes: each module registers the recipe of its name, imported where first wanted
BUILT_IN = (
    "airbench94",
    "airbench94_muon",
    "airbench95",
    "airbench96",
    "airbench96_faster",
    "resnet",
    "script",
)
for _name in BUILT_IN:
    RECIPES.lazy(_name, f"hotlap.recipes.{_name}")

__all__ = [
    "BUILT_IN",
    "Recipe",
    "RunResult",
    "SourceRun",
    "count_parameters",
    "forward_flops",
    "get_recipe",
    "list_recipes",
    "recipe",
    "steps_per_epoch",
]


def __getattr__(name: str):  # count_parameters / forward_flops: torch, imported where first used
    if name in ("count_parameters", "forward_flops"):
        from hotlap.recipes import measure

        return getattr(measure, name)
    raise AttributeError(f"module 'hotlap.recipes' has no attribute {name!r}")
