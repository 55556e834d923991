"""Recipes: a typed config plus one training function each, found by name."""

from __future__ import annotations

from hotlap.recipes import (  # noqa: F401  (register the recipes)
    airbench94,
    airbench94_muon,
    airbench95,
    airbench96,
    airbench96_faster,
    resnet,
    script,
)
from hotlap.recipes.base import (
    Recipe,
    RunResult,
    SourceRun,
    get_recipe,
    list_recipes,
    recipe,
    steps_per_epoch,
)
from hotlap.recipes.measure import count_parameters, forward_flops

__all__ = [
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
