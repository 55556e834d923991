"""What a recipe is: a typed config plus one training function, registered by name."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hotlap.config import RecipeConfig, config_hash
from hotlap.envinfo import device_type
from hotlap.errors import ConfigError, RunFailed
from hotlap.io import load_weights
from hotlap.metrics import Metric, resolve_metrics
from hotlap.registry import Registry

if TYPE_CHECKING:  # torch is imported where a recipe trains, never to define one
    import torch
    from torch import nn

__all__ = [
    "EpochCallback",
    "Inference",
    "Placement",
    "Recipe",
    "Reweighting",
    "RunResult",
    "SourceRun",
    "get_recipe",
    "list_recipes",
    "one_epoch",
    "recipe",
]


class EpochCallback(Protocol):
    def __call__(self, record: dict[str, Any]) -> None: ...


@dataclass
class RunResult:
    """What one training run of one seed produced.

    `metrics` maps each metric the recipe declares to its value (times in seconds under the timing
    convention, `hotlap.timing`). `history` is one record per epoch. `artifacts` maps a file name
    to what is kept of the run: a state_dict (`model.pt`, saved for `weights_only` loading), a
    tensor or array (`*.npy`), bytes or text; the executor turns them into files of the run folder.
    """

    seed: int
    metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    precision: str = "fp32"  # the dtype the network actually ran in
    artifacts: dict[str, Any] = field(default_factory=dict)
    # False for an evaluation that timed nothing itself (every time is its source run's, e.g. TTA
    # logits weighted again): its times belong to the device the source ran on.
    timed: bool = True
    # How the trained network runs for inference (`Inference`): the worker measures latency and
    # throughput with it after the run, untimed (hotlap.costs). Never stored.
    inference: Inference | None = None

    def __getitem__(self, metric: str) -> float:
        return self.metrics[metric]


@dataclass(frozen=True)
class Inference:
    """How a trained network is run for inference: `forward(batch)` (the recipe's own precision and
    eval mode), one `example` input (a batch of one, on the device), the evaluation batch size, and
    whether batches are channels_last."""

    forward: Callable[[Any], Any]
    example: Any
    batch_size: int
    channels_last: bool = False


TrainFn = Callable[..., RunResult]


class Placement:
    """What a recipe with `uses_data=False` gets as its `data`: where the run is placed.

    `type` and `index` are read from the device's name; `device`, the torch device, is made on
    first use (torch imported then: a sweep of a script never imports it in the driver)."""

    def __init__(self, device: torch.device | str) -> None:
        self.name = str(device)

    @functools.cached_property
    def device(self) -> torch.device:
        import torch

        return torch.device(self.name)

    @property
    def type(self) -> str:
        return device_type(self.name)

    @property
    def index(self) -> int | None:
        index = self.name.partition(":")[2]
        return int(index) if index else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Placement) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Placement({self.name!r})"


@dataclass(frozen=True)
class SourceRun:
    """A trained run whose network an evaluation-only config reuses (or saved weights to evaluate).

    `config` is the source's resolved config, `metrics` its metrics (its training times among them),
    `history` its per-epoch records; `directory` its run folder (None for a bare checkpoint, whose
    weights are `state`). Files are read safely: `state_dict()` with `weights_only=True`,
    `array()` without pickles.
    """

    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    directory: Path | None = None
    state: dict[str, torch.Tensor] | None = None

    def has(self, name: str) -> bool:
        if name == "model.pt" and self.state is not None:
            return True
        return self.directory is not None and (self.directory / name).is_file()

    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.state is not None:
            return self.state
        if not self.has("model.pt"):
            raise RunFailed(f"the source run kept no weights (no model.pt in {self.directory})")
        assert self.directory is not None
        try:
            return load_weights(self.directory / "model.pt")  # type: ignore[no-any-return]
        except ValueError as exc:
            raise RunFailed(f"the source run's weights ({self.directory / 'model.pt'}): {exc}") from None

    def array(self, name: str) -> Any:
        """A stored `.npy` artifact as a numpy array (pickled objects refused)."""
        import numpy as np

        if not self.has(name):
            raise RunFailed(f"the source run kept no {name} (in {self.directory})")
        assert self.directory is not None
        return np.load(self.directory / name, allow_pickle=False)


EvaluateFn = Callable[..., RunResult]


@dataclass(frozen=True)
class Reweighting:
    """A recipe family's offline re-weighting of what its runs stored (the airbench family: the
    TTA views' logits, hotlap.recipes.tta.REWEIGHTING). `field` is the evaluation-only field whose
    values are evaluated again on the trained networks, `reference` its value in the reference
    recipe (the derived sweep's baseline), `where(config)` which configs it changes, `check(values,
    option)` the values as numbers (a HotlapError naming `option`, the spec key or command-line
    option that gave them, otherwise), `suffix` what the derived sweep's name adds to the source's.
    A spec's `reweight` and `hotlap eval ID --reweight` ask for it."""

    field: str
    reference: float
    where: Callable[[Mapping[str, Any]], bool]
    check: Callable[[Iterable[Any], str], list[float]]
    suffix: str


@dataclass(frozen=True)
class Recipe:
    """A registered recipe.

    train(config, data, seed, *, on_epoch=None, keep_weights=True) -> RunResult trains one seed on
    device-resident data. build_model(config, num_classes) makes the network (for counting
    parameters and FLOPs); total_steps(config, train_size) is the number of optimizer steps a run
    makes. `metrics` are the metrics a run reports (the first is the default objective).
    `smoke` are overrides that make a run CPU-sized on the digits data (tests and the demo use
    them). `shape(config)` says which configs share compiled kernels and cuDNN's autotuning (a
    worker warms up once per distinct shape; None: once per process).

    `eval_fields` are config fields that change only the evaluation, never the training: configs
    that differ in them alone share one trained network per seed. `evaluate(config, data, source,
    *, warmup=True) -> RunResult` evaluates `config` on the network of `source` (a `SourceRun`),
    returning every metric a run reports (the training ones taken from the source).

    A recipe that runs something of its own (`script`) has `uses_data=False`: no dataset is
    loaded, `data` is a `Placement` (the device only), no warmup run, no model to count
    (`build_model` and `total_steps` None). `declare_metrics(config)` gives the metrics where the
    config names them; `check_keys(config, keys)` checks a sweep's base config against every key
    its configs can have (a ConfigError where one is missing).

    `check(config, num_classes, train_size)` runs before anything else for every config a spec or
    `hotlap run` can make (a pretrained file that is missing or does not fit, a validation split
    larger than the training set: a ConfigError). `warmup(config)`
    is the config of the executor's untimed warmup run (default: the config itself; a 200-epoch
    recipe warms up on one epoch). `target` is the accuracy the recipe is built to reach (its
    first metric's), `hotlap run`'s default target.
    """

    name: str
    config_cls: type[RecipeConfig]
    train: TrainFn
    build_model: Callable[[Any, int], nn.Module] | None
    total_steps: Callable[[Any, int], int] | None
    summary: str
    metrics: tuple[Metric, ...]
    smoke: dict[str, Any] = field(default_factory=dict)
    evaluate: EvaluateFn | None = None
    shape: Callable[[Any], Hashable] | None = None
    eval_fields: frozenset[str] = frozenset()
    uses_data: bool = True
    declare_metrics: Callable[[Any], Sequence[Metric]] | None = None
    check_keys: Callable[[Any, frozenset[str]], None] | None = None
    check: Callable[[Any, int, int], None] | None = None
    warmup: Callable[[Any], Any] | None = None
    # The accuracy the recipe is built to reach (airbench94: 0.94): `hotlap run`'s default target
    # for the success rate; None: no target unless one is given.
    target: float | None = None
    # The reference's published figures, as it states them (accuracy, runs, time, hardware,
    # FLOPs): `hotlap show` prints them beside the derived facts. None: nothing published.
    published: str | None = None
    # FLOPs of one run where they are not 3x the forward pass per trained example plus the
    # evaluation views: run_flops(config, num_classes, train_size, test_size) (airbench96_faster's
    # proxy scores every batch, and its main network trains on half of each).
    run_flops: Callable[[Any, int, int, int], float] | None = None
    # Its stored evaluation outputs re-weighted offline (`hotlap eval --reweight`, a spec's
    # `reweight`); None: nothing to re-weight.
    reweighting: Reweighting | None = None

    def warmup_config(self, config: RecipeConfig) -> RecipeConfig:
        """The config of the executor's untimed warmup run (a long recipe warms up shorter)."""
        return config if self.warmup is None else self.warmup(config)

    def accepts(self, option: str) -> bool:
        """Whether its `train` takes the keyword `option` (`checkpoint`, `log_every`)."""
        return option in _parameters(self.train)

    @property
    def resumable(self) -> bool:
        """Whether its runs can resume from a mid-run checkpoint: its `train` takes `checkpoint=`
        (hotlap.recipes.checkpoint)."""
        return self.accepts("checkpoint")

    @property
    def free_keys(self) -> bool:
        """Whether a config takes keys the recipe does not declare (a script's own flags)."""
        return self.config_cls.model_config.get("extra") == "allow"

    def metrics_of(self, config: RecipeConfig) -> tuple[Metric, ...]:
        """The metrics runs of `config` report: the recipe's declaration, or where the metrics are
        the config's own (a script names what it prints), those."""
        if self.declare_metrics is None:
            return self.metrics
        return tuple(self.declare_metrics(config))

    def config(self, overrides: dict[str, Any] | None = None) -> RecipeConfig:
        from hotlap.config import resolve_config

        return resolve_config(self.config_cls, overrides, context=f"recipe {self.name}")

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise ConfigError(
            f"recipe {self.name} has no metric {name!r} (it reports: {', '.join(m.name for m in self.metrics)})"
        )

    def check_trainable(self, config: RecipeConfig, dataset: str) -> None:
        """A config that makes no optimizer step on `dataset` (a batch larger than its training
        set) is a ConfigError before anything runs; `hotlap run` and a sweep's spec both ask."""
        from hotlap.data import dataset_sizes

        if not self.uses_data or self.total_steps is None:
            return
        train_size, _, num_classes = dataset_sizes(dataset)
        if getattr(config, "quant", None) and self.build_model is not None:
            from hotlap.recipes.quantize import check_quant  # a layer named that the network lacks

            check_quant(self.build_model(config, num_classes), config.quant)
        if self.check is not None:
            self.check(config, num_classes, train_size)
        if self.total_steps(config, train_size) < 1:
            batch = getattr(config, "batch_size", None)
            what = f"batch_size {batch}" if batch is not None else "the config"
            raise ConfigError(
                f"{self.name} on {dataset}: {what} leaves no training step for {train_size} training images"
            )

    def shape_of(self, config: RecipeConfig) -> Hashable:
        return None if self.shape is None else self.shape(config)

    def training_key(self, config: dict[str, Any]) -> str | None:
        """What the training of a (resolved) config depends on: its hash with every evaluation-only
        field at its default. Configs with one key train the same network per seed. None where the
        recipe cannot evaluate apart from training."""
        if not self.eval_fields or self.evaluate is None:
            return None
        defaults = {name: self.config_cls.model_fields[name].default for name in self.eval_fields}
        return config_hash(self.name, self.config_cls.model_validate({**config, **defaults}))


RECIPES: Registry[Recipe] = Registry("recipe", error=ConfigError)


def recipe(
    name: str,
    *,
    config: type[RecipeConfig],
    build_model: Callable[[Any, int], nn.Module] | None,
    total_steps: Callable[[Any, int], int] | None,
    summary: str,
    metrics: Sequence[str | Metric],
    smoke: dict[str, Any] | None = None,
    evaluate: EvaluateFn | None = None,
    shape: Callable[[Any], Hashable] | None = None,
    eval_fields: Sequence[str] = (),
    uses_data: bool = True,
    declare_metrics: Callable[[Any], Sequence[Metric]] | None = None,
    check_keys: Callable[[Any, frozenset[str]], None] | None = None,
    check: Callable[[Any, int, int], None] | None = None,
    warmup: Callable[[Any], Any] | None = None,
    target: float | None = None,
    published: str | None = None,
    run_flops: Callable[[Any, int, int, int], float] | None = None,
    reweighting: Reweighting | None = None,
) -> Callable[[TrainFn], TrainFn]:
    """Decorator: register a training function as recipe `name`, reporting `metrics` (names of
    registered metrics, or `Metric` objects, which are registered with it)."""

    def decorate(train: TrainFn) -> TrainFn:
        if RECIPES.registered(name):
            raise ValueError(f"recipe {name!r} is registered twice")
        declared = resolve_metrics(metrics)
        if not declared:
            raise ValueError(f"recipe {name!r} declares no metric")
        unknown = set(eval_fields) - set(config.model_fields)
        if unknown:
            raise ValueError(f"recipe {name!r}: eval_fields {sorted(unknown)} are not config fields")
        if eval_fields and evaluate is None:
            raise ValueError(f"recipe {name!r}: eval_fields need an evaluate function")
        RECIPES.register(
            name,
            Recipe(
                name,
                config,
                train,
                build_model,
                total_steps,
                summary,
                declared,
                dict(smoke or {}),
                evaluate,
                shape,
                frozenset(eval_fields),
                uses_data,
                declare_metrics,
                check_keys,
                check,
                warmup,
                target,
                published,
                run_flops,
                reweighting,
            ),
        )
        return train

    return decorate


def get_recipe(name: str) -> Recipe:
    return RECIPES.get(name)


def list_recipes() -> list[Recipe]:
    return RECIPES.entries()


@functools.cache
def _parameters(train: Any) -> frozenset[str]:
    """A train function's parameter names, read once (every run asks)."""
    import inspect

    return frozenset(inspect.signature(train).parameters)


def one_epoch(config: Any) -> Any:
    """A warmup run of one epoch (or the run's own length, if shorter): every shape a run meets
    (its training batches, the final evaluation's views) comes up in it, so cuDNN's autotuning is
    done; a whole run would only spend the time again (airbench: compile is exercised inside the
    run, untimed, in each trainable state)."""
    return config.model_copy(update={"epochs": min(config.epochs, 1)})


def steps_per_epoch(train_size: int, batch_size: int, drop_last: bool = True) -> int:
    return train_size // batch_size if drop_last else math.ceil(train_size / batch_size)
