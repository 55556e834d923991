"""`compile=true`: torch.compile once per worker and training shape, reused (re-initialized) by
every seed, with the accuracy of the plain network for the same seed."""

from __future__ import annotations

import pytest

from hotlap.recipes import get_recipe
from hotlap.recipes.compiling import COMPILES

TINY = {"width": 0.125, "epochs": 4, "batch_size": 128, "lr": 30.0}


@pytest.mark.slow
def test_a_compiled_airbench94_compiles_once_per_shape_and_learns_as_the_plain_one(digits_data):
    recipe = get_recipe("airbench94")
    before = sum(COMPILES.values())
    plain = [recipe.train(recipe.config(TINY), digits_data, seed=s) for s in (0, 1)]
    fast = [
        recipe.train(recipe.config({**TINY, "compile": True}), digits_data, seed=s) for s in (0, 1)
    ]
    assert sum(COMPILES.values()) == before + 1  # two seeds, one compilation
    for a, b in zip(plain, fast, strict=True):  # the same seed: the same run, up to kernel rounding
        assert abs(a["tta_accuracy"] - b["tta_accuracy"]) <= 0.03  # 360 test images: 11 of them
        assert len(a.history) == len(b.history)
    other = recipe.train(
        recipe.config({**TINY, "compile": True, "width": 0.25}), digits_data, seed=0
    )
    assert (
        sum(COMPILES.values()) == before + 2 and other["tta_accuracy"] > 0.5
    )  # a new shape compiles
    recipe.train(recipe.config({**TINY, "compile": True, "lr": 20.0}), digits_data, seed=2)
    assert sum(COMPILES.values()) == before + 2  # another lr: the same shape, no compilation
