"""Conformance tests run against everything registered: a new recipe or dataset is tested here
without writing a new test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import toy_recipe  # noqa: F401  (registers the cheap toy recipe the engine tests run)

from hotlap.data import dataset_sizes, list_datasets, load_dataset
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import Task, get_executor, list_executors
from hotlap.metrics import list_metrics
from hotlap.recipes import count_parameters, forward_flops, get_recipe, list_recipes
from hotlap.spec import parse_spec
from hotlap.spec.fields import RangeSpec
from hotlap.store import Store
from hotlap.strategies import get_strategy, is_finite, list_strategies

# hotlap's own recipes (the tests register a cheap `toy` recipe of their own).
RECIPES = [r for r in list_recipes() if r.config_cls.__module__.startswith("hotlap.")]
# Those that train a network on a dataset (`script` runs a program of its own: tests/test_script.py
# runs its example on the digits).
DATA_RECIPES = [r for r in RECIPES if r.uses_data]


def test_every_recipe_of_the_family_is_conformance_tested():
    assert {"airbench94", "airbench94_muon", "airbench95", "airbench96"} <= {r.name for r in DATA_RECIPES}
    assert "script" in {r.name for r in RECIPES}


LOCAL_DATASETS = [
    spec for spec in list_datasets() if not spec.name.startswith("cifar")
]  # cifar: test_cifar.py


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_recipe_config_documents_every_field(recipe):
    for name, field in recipe.config_cls.model_fields.items():
        assert field.description, f"{recipe.name}.{name} has no description"
    if not recipe.uses_data:
        assert recipe.build_model is None and recipe.total_steps is None and recipe.declare_metrics
        return
    config = recipe.config()
    assert recipe.total_steps(config, 50_000) > 0
    model = recipe.build_model(config, 10)
    assert count_parameters(model) > 0 and forward_flops(model) > 0


@pytest.mark.parametrize("recipe", DATA_RECIPES, ids=lambda r: r.name)
def test_recipe_learns_digits_at_smoke_size(recipe, digits_data):
    assert recipe.smoke, f"{recipe.name} declares no smoke overrides"
    result = recipe.train(recipe.config(recipe.smoke), digits_data, seed=0)
    declared = [m.name for m in recipe.metrics]
    assert set(result.metrics) == set(declared), "a run reports exactly the metrics its recipe declares"
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
    from hotlap.spec.schema import SweepSpec

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [key for key in SweepSpec.model_fields if f"`{key}`" not in readme]
    assert not missing, f"README lacks spec keys: {missing}"
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert [c for c in commands if f"hotlap {c}" not in readme] == []


# --- strategies ----------------------------------------------------------------------------------


def _strategy_spec(name: str, **extra):
    """A mixed space (a float range, an int range, a list) that every strategy can search."""
    return parse_spec(
        {
            "name": f"conf-{name}",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {
                "x": {"low": 0.0, "high": 0.5, "step": 0.25},
                "y": {"low": 0, "high": 1, "step": 1},
                "epochs": [1.0, 2.0],
            },
            "strategy": {"name": name, **({} if is_finite(name) else {"trials": 5})},
            "objective": {"maximize": "tta_accuracy", "minimize": "train_time"},
            "seeds": 2,
            **extra,
        }
    )


def _inside(spec, params) -> bool:
    for key, entry in spec.space.items():
        value = params[key]
        if isinstance(entry, RangeSpec):
            if not entry.low <= value <= entry.high:
                return False
        elif value not in list(entry):
            return False
    return set(params) == set(spec.space)


@pytest.mark.parametrize("name", list_strategies())
def test_strategy_proposes_inside_the_space_and_learns(name):
    spec = _strategy_spec(name)
    strategy = get_strategy(spec)
    limit = strategy.total() if is_finite(name) else spec.strategy.trials
    assert limit is not None and limit > 0
    proposals = []
    for _ in range(limit):
        proposal = strategy.ask()
        assert proposal is not None and _inside(spec, proposal.params), proposal
        proposals.append(proposal)
        strategy.tell(proposal, [0.9 - proposal.params["x"], 1.0], constraint=-0.01)
    if is_finite(name):
        assert strategy.ask() is None  # each config once, then nothing more
        assert len({tuple(sorted(p.params.items())) for p in proposals}) == limit
    else:
        extra = strategy.ask()
        assert extra is not None
        strategy.tell(extra, None)  # a config whose every run failed
    again = get_strategy(spec)
    again.restore(
        [(p.params, [0.9, 1.0], None) for p in proposals[:2]] + [(proposals[-1].params, None, None)]
    )
    assert again.ask() is not None


@pytest.mark.parametrize("name", list_strategies())
def test_strategy_drives_a_sweep_where_every_config_and_seed_runs_once(name, tmp_path):
    spec = _strategy_spec(name, space={"x": {"low": 0.0, "high": 0.5, "step": 0.25}, "y": [0, 1]})
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        result = Engine(store, record, get_executor("inprocess", warmup=False)).run()
        runs = store.runs(record.id)
        configs = store.configs(record.id)
    assert result.state == "done", result.message
    assert all(r.status == "done" for r in runs)
    assert len({(r.config_id, r.seed) for r in runs}) == len(runs) == 2 * len(configs)
    if is_finite(name):
        assert len(configs) == get_strategy(spec).total()


# --- executors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list_executors())
def test_executor_runs_tasks_streams_epochs_and_returns_failures_as_outcomes(name, monkeypatch):
    # Workers in other processes (Ray's) import the toy recipe as the driver's plugin.
    monkeypatch.setenv("HOTLAP_PLUGINS", "toy_recipe")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent / "plugins"))
    executor = get_executor(name)
    assert executor.capacity >= 1
    executor.prepare("synthetic:8", None, "cpu")
    epochs = []
    declared = [m.name for m in get_recipe("toy").metrics]
    try:
        good = Task(run_id=1, recipe="toy", config={"x": 0.3}, dataset="synthetic:8", seed=3, device="cpu")
        outcome = executor.submit(good, lambda run_id, record: epochs.append(run_id)).result(timeout=120)
        assert outcome.status == "done" and outcome.run_id == 1, outcome.error
        assert set(outcome.metrics) == set(declared) and all(
            math.isfinite(v) for v in outcome.metrics.values()
        )
        executor.poll()  # what came in from remote workers reaches the sinks in the engine's thread
        assert epochs == [1] and outcome.device and outcome.wall_time is not None
        assert "model.pt" in outcome.artifacts and isinstance(outcome.artifacts["model.pt"], bytes)
        bad = Task(
            run_id=2,
            recipe="toy",
            config={"fail_seed": 4},
            dataset="synthetic:8",
            seed=4,
            device="cpu",
            keep_weights=False,
        )
        failed = executor.submit(bad).result(timeout=120)
        assert failed.status == "failed" and failed.error.startswith("ValueError: ")
        assert failed.traceback and not failed.artifacts
    finally:
        executor.shutdown()
    executor.shutdown()  # twice is harmless


# --- metrics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", list_metrics(), ids=lambda m: m.name)
def test_metric_is_fully_described_and_formats_its_values(metric):
    assert metric.direction in ("maximize", "minimize") and metric.sign in (1.0, -1.0)
    assert metric.kind in ("fraction", "time", "cost", "count") and metric.scope in (
        "run",
        "config",
    )
    assert metric.description
    shown = metric.format(0.5)
    assert shown and "None" not in shown
