"""The registries' contents: the family's recipes, the digits and synthetic datasets, and the README
naming every config key, spec key and command. (The conformance kit over every entry:
test_conformance.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import toy_recipe  # noqa: F401  (registers the cheap toy recipe the engine tests run)

from hotlap.data import load_dataset
from hotlap.recipes import list_recipes

# hotlap's own recipes (the README documents their keys).
RECIPES = [
    r
    for r in list_recipes()
    if r.config_cls.__module__.startswith("hotlap.")
    and not r.config_cls.__module__.startswith("hotlap.testing")
]


def test_digits_are_real_upscaled_digits_with_a_fixed_stratified_split():
    first, again = load_dataset("digits"), load_dataset("digits")
    np.testing.assert_array_equal(first.test_labels, again.test_labels)
    assert (first.train_size, first.test_size) == (1437, 360)
    assert np.array_equal(first.train_images[..., 0], first.train_images[..., 2])  # grey in RGB
    block = first.train_images[0, :4, :4, 0]
    assert (block == block[0, 0]).all()  # each 8x8 pixel became a 4x4 block
    counts = np.bincount(first.test_labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 20% of each class's ~180 images


def test_synthetic_takes_a_size():
    dataset = load_dataset("synthetic:100")
    assert (dataset.train_size, dataset.test_size) == (100, 20)


def test_readme_documents_every_config_key():

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for recipe in RECIPES:
        missing = [key for key in recipe.config_cls.model_fields if f"`{key}`" not in readme]
        assert not missing, f"README lacks {recipe.name} keys: {missing}"


def test_readme_documents_every_spec_key_and_command():

    from hotlap.cli import app
    from hotlap.spec.schema import SweepSpec

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [key for key in SweepSpec.model_fields if f"`{key}`" not in readme]
    assert not missing, f"README lacks spec keys: {missing}"
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert [c for c in commands if f"hotlap {c}" not in readme] == []
