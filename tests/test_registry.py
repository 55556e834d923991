"""Conformance tests run against everything registered: a new recipe or dataset is tested here
without writing a new test."""

from __future__ import annotations

import numpy as np
import pytest

from hotlap.data import dataset_sizes, list_datasets, load_dataset
from hotlap.recipes import count_parameters, forward_flops, list_recipes

# hotlap's own recipes (the tests register a cheap `toy` recipe of their own).
RECIPES = [r for r in list_recipes() if r.train.__module__.startswith("hotlap.")]
LOCAL_DATASETS = [
    spec for spec in list_datasets() if not spec.name.startswith("cifar")
]  # cifar: test_cifar.py


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_recipe_config_documents_every_field(recipe):
    for name, field in recipe.config_cls.model_fields.items():
        assert field.description, f"{recipe.name}.{name} has no description"
    config = recipe.config()
    assert recipe.total_steps(config, 50_000) > 0
    model = recipe.build_model(config, 10)
    assert count_parameters(model) > 0 and forward_flops(model) > 0


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_recipe_learns_digits_at_smoke_size(recipe, digits_data):
    assert recipe.smoke, f"{recipe.name} declares no smoke overrides"
    result = recipe.train(recipe.config(recipe.smoke), digits_data, seed=0)
    declared = [m.name for m in recipe.metrics]
    assert set(result.metrics) == set(declared), (
        "a run reports exactly the metrics its recipe declares"
    )
    first = recipe.metrics[0]
    if first.kind == "fraction" and first.direction == "maximize":
        assert result.metrics[first.name] >= 0.90
    for metric in recipe.metrics:
        if metric.kind == "time":
            assert result.metrics[metric.name] > 0
    assert result.history


@pytest.mark.parametrize("spec", LOCAL_DATASETS, ids=lambda s: s.name)
def test_dataset_matches_its_registered_facts(spec):
    dataset = load_dataset(spec.name)
    assert (dataset.train_size, dataset.test_size, dataset.num_classes) == dataset_sizes(spec.name)
    assert dataset.train_images.shape[1:] == (32, 32, 3) and dataset.train_images.dtype == np.uint8
    assert set(np.unique(dataset.train_labels)) <= set(range(dataset.num_classes))


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
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for recipe in RECIPES:
        missing = [key for key in recipe.config_cls.model_fields if f"`{key}`" not in readme]
        assert not missing, f"README lacks {recipe.name} keys: {missing}"


def test_readme_documents_every_spec_key_and_command():
    from pathlib import Path

    from hotlap.cli import app
    from hotlap.sweep.spec import SweepSpec

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [key for key in SweepSpec.model_fields if f"`{key}`" not in readme]
    assert not missing, f"README lacks spec keys: {missing}"
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert [c for c in commands if f"hotlap {c}" not in readme] == []
