"""Checks for recipes, datasets and metrics."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_dataset", "check_metric", "check_recipe"]


def check_recipe(name: str, *, data: Any = None, min_score: float | None = 0.9, train: bool = True) -> None:
    """Recipe `name`: every config field described; a network with steps and parameters where it
    builds one; at its smoke size on `data` (default: the digits on the CPU) a run reports exactly
    the metrics it declares, finite, with positive times and a history. A recipe that declares a
    smoke size promises to learn at it: its first metric, where it is a maximized fraction,
    reaches `min_score`. `train=False` checks the declaration only."""
    from hotlap.recipes import count_parameters, forward_flops, get_recipe

    recipe = get_recipe(name)
    for field_name, field in recipe.config_cls.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"
    assert recipe.metrics, f"{name} declares no metric"
    if recipe.build_model is not None:
        config = recipe.config()
        assert recipe.total_steps is not None and recipe.total_steps(config, 50_000) > 0, (
            f"{name}: no training step"
        )
        model = recipe.build_model(config, 10)
        assert count_parameters(model) > 0 and forward_flops(model) > 0, f"{name}: an empty network"
    if not train or not recipe.uses_data:
        return
    if data is None:
        from hotlap.data import DeviceData, load_dataset

        data = DeviceData.from_dataset(load_dataset("digits"), "cpu")
    # As `hotlap run` and a sweep train it: the untimed logging evaluation after the last epoch only.
    quiet = {"log_every": 0} if recipe.accepts("log_every") else {}
    result = recipe.train(recipe.config(recipe.smoke), data, seed=0, **quiet)
    declared = [m.name for m in recipe.metrics]
    assert set(result.metrics) == set(declared), (
        f"{name} reports {sorted(result.metrics)}, declares {declared}"
    )
    first = recipe.metrics[0]
    if recipe.smoke and min_score is not None and first.kind == "fraction" and first.direction == "maximize":
        assert result.metrics[first.name] >= min_score, (
            f"{name}: {first.name} {result.metrics[first.name]:.3f}"
        )
    for metric in recipe.metrics:
        assert math.isfinite(result.metrics[metric.name]), f"{name}: {metric.name} is not finite"
        if metric.kind == "time":
            assert result.metrics[metric.name] > 0, f"{name}: {metric.name} is not positive"
    assert result.history, f"{name}: no epoch record"


def check_dataset(name: str) -> None:
    """Dataset `name` loads with the sizes it registered: 32x32 RGB uint8 images, labels in range."""
    import numpy as np

    from hotlap.data import dataset_sizes, load_dataset

    dataset = load_dataset(name)
    assert (dataset.train_size, dataset.test_size, dataset.num_classes) == dataset_sizes(name)
    assert dataset.train_images.shape[1:] == (32, 32, 3) and dataset.train_images.dtype == np.uint8
    assert set(np.unique(dataset.train_labels)) <= set(range(dataset.num_classes))


def check_metric(name: str) -> None:
    """Metric `name` is fully described and formats a value."""
    from hotlap.metrics import get_metric

    metric = get_metric(name)
    assert metric.direction in ("maximize", "minimize") and metric.sign in (1.0, -1.0)
    assert metric.kind in ("fraction", "time", "cost", "count", "score"), metric.kind
    assert metric.scope in ("run", "config"), metric.scope
    assert metric.description, f"metric {name} has no description"
    shown = metric.format(0.5)
    assert shown and "None" not in shown
