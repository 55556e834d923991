"""What a recipe is: a typed config plus one training function, registered by name."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.errors import ConfigError

__all__ = [
    "EpochCallback",
    "Recipe",
    "RunResult",
    "get_recipe",
    "list_recipes",
    "recipe",
]


class EpochCallback(Protocol):
    def __call__(self, record: dict[str, Any]) -> None: ...


@dataclass
class RunResult:
    """What one training run of one seed produced.

    `accuracy` is the final network's test accuracy without TTA; `tta_accuracy` with the config's
    TTA level. Times are seconds under the timing convention (`hotlap.timing`).
    """

    seed: int
    accuracy: float
    tta_accuracy: float
    train_time: float
    eval_time: float
    history: list[dict[str, Any]] = field(default_factory=list)
    precision: str = "fp32"  # the dtype the network actually ran in
    state_dict: dict[str, torch.Tensor] | None = None
    view_logits: torch.Tensor | None = None  # (views, test images, classes), fp16 on the CPU

    @property
    def total_time(self) -> float:
        return self.train_time + self.eval_time

    def metrics(self) -> dict[str, Any]:
        """Plain-data record of the run (no tensors)."""
        return {
            "seed": self.seed,
            "accuracy": self.accuracy,
            "tta_accuracy": self.tta_accuracy,
            "train_time": self.train_time,
            "eval_time": self.eval_time,
            "total_time": self.total_time,
            "precision": self.precision,
            "history": self.history,
        }


TrainFn = Callable[..., RunResult]


@dataclass(frozen=True)
class Recipe:
    """A registered recipe.

    train(config, data, seed, *, on_epoch=None) -> RunResult trains one seed on device-resident
    data. build_model(config, num_classes) makes the network (for counting parameters and FLOPs);
    total_steps(config, train_size) is the number of optimizer steps a run makes. `smoke` are
    overrides that make a run CPU-sized on the digits data (tests and the demo use them).
    """

    name: str
    config_cls: type[RecipeConfig]
    train: TrainFn
    build_model: Callable[[Any, int], nn.Module]
    total_steps: Callable[[Any, int], int]
    summary: str
    smoke: dict[str, Any] = field(default_factory=dict)
    evaluate: Callable[..., RunResult] | None = (
        None  # (config, data, state_dict) -> a timed evaluation
    )

    def config(self, overrides: dict[str, Any] | None = None) -> RecipeConfig:
        from hotlap.config import resolve_config

        return resolve_config(self.config_cls, overrides, context=f"recipe {self.name}")


_REGISTRY: dict[str, Recipe] = {}


def recipe(
    name: str,
    *,
    config: type[RecipeConfig],
    build_model: Callable[[Any, int], nn.Module],
    total_steps: Callable[[Any, int], int],
    summary: str,
    smoke: dict[str, Any] | None = None,
    evaluate: Callable[..., RunResult] | None = None,
) -> Callable[[TrainFn], TrainFn]:
    """Decorator: register a training function as recipe `name`."""

    def decorate(train: TrainFn) -> TrainFn:
        if name in _REGISTRY:
            raise ValueError(f"recipe {name!r} is registered twice")
        _REGISTRY[name] = Recipe(
            name, config, train, build_model, total_steps, summary, dict(smoke or {}), evaluate
        )
        return train

    return decorate


def get_recipe(name: str) -> Recipe:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
        hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(sorted(_REGISTRY))}"
        raise ConfigError(f"unknown recipe {name!r} ({hint})")
    return _REGISTRY[name]


def list_recipes() -> list[Recipe]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def steps_per_epoch(train_size: int, batch_size: int, drop_last: bool = True) -> int:
    return train_size // batch_size if drop_last else math.ceil(train_size / batch_size)


def count_parameters(model: nn.Module) -> int:
    """Every parameter value, frozen ones included (buffers such as BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


def forward_flops(model: nn.Module, image_shape: tuple[int, int, int] = (3, 32, 32)) -> int:
    """FLOPs of one forward pass of one image (torch.utils.flop_counter: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *image_shape))
    return int(counter.get_total_flops())
