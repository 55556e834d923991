"""The conformance kit (`hotlap.testing`) over everything registered, hotlap's own entries and the
tests' plugins alike: registering an entry is enough to have it tested."""

from __future__ import annotations

import pytest
import toy_recipe  # noqa: F401  (the tests' plugin recipes: checked like hotlap's own)

import hotlap.testing.toy  # noqa: F401  (the kit's recipe, checked too)
from hotlap.callbacks import list_callbacks
from hotlap.data import list_datasets
from hotlap.executors import list_executors
from hotlap.metrics import list_metrics
from hotlap.probes import list_probes
from hotlap.recipes import list_recipes
from hotlap.report.formats import list_formats
from hotlap.rules import list_rules
from hotlap.strategies import list_strategies
from hotlap.testing import (
    check_callback,
    check_dataset,
    check_executor,
    check_format,
    check_metric,
    check_probe,
    check_recipe,
    check_rule,
    check_strategy,
)

# What makes a sampler learn within the check's 30 asks: a small population, few random trials.
QUICK = {"tpe": {"n_startup_trials": 5}, "gp": {"n_startup_trials": 5}, "nsga2": {"population_size": 6}}


def test_the_registries_hold_hotlaps_own_entries():
    from hotlap.recipes import BUILT_IN

    assert {"airbench94", "airbench96_faster", "resnet", "script"} <= set(BUILT_IN)
    assert set(BUILT_IN) <= {r.name for r in list_recipes()}  # each module registers what it is named for
    assert {"grid", "brute", "random", "tpe", "nsga2", "qmc", "gp"} <= set(list_strategies())
    assert {"inprocess", "ray"} <= set(list_executors()) and {"mean", "success_rate"} <= set(list_rules())
    assert {"progress", "wandb", "mlflow"} <= set(list_callbacks())
    assert {"inference", "peak_memory", "peak_host_memory", "energy", "model_bytes", "static"} <= set(
        list_probes()
    )


@pytest.mark.parametrize("name", [r.name for r in list_recipes()])
def test_recipe(name, digits_data):
    check_recipe(name, data=digits_data)


@pytest.mark.parametrize("name", [s.name for s in list_datasets() if not s.name.startswith("cifar")])
def test_dataset(name):  # cifar: test_cifar.py, on archives the tests write
    check_dataset(name)


@pytest.mark.parametrize("name", [m.name for m in list_metrics()])
def test_metric(name):
    check_metric(name)


@pytest.mark.parametrize("name", list_strategies())
def test_strategy(name, tmp_path):
    check_strategy(name, tmp_path, options=QUICK.get(name))


@pytest.mark.parametrize("name", list_executors())
def test_executor(name):
    check_executor(name)


@pytest.mark.parametrize("name", [n for n in list_callbacks() if n not in ("wandb", "mlflow")])
def test_callback(name, tmp_path):  # the trackers: test_callbacks.py, offline, against their stores
    check_callback(name, tmp_path)


@pytest.mark.parametrize("name", list_formats())
def test_format(name, tmp_path):
    check_format(name, tmp_path)


@pytest.mark.parametrize("name", list_probes())
def test_probe(name):
    check_probe(name)


@pytest.mark.parametrize("name", list_rules())
def test_rule(name):
    check_rule(name)


def test_the_learning_check_fails_a_strategy_that_ignores_what_it_is_told(tmp_path):
    from hotlap.strategies import STRATEGIES, strategy_class

    deaf = type("Deaf", (strategy_class("random"),), {"learns": True})  # claims to learn; random does not
    STRATEGIES.register("deaf", deaf)
    try:
        with pytest.raises(AssertionError, match="deaf says it learns"):
            check_strategy("deaf", tmp_path)
    finally:
        STRATEGIES.unregister("deaf")
