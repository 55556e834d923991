"""Test-time augmentation of the airbench family: the views, their weights, and evaluating a
trained network's stored views again under another weighting.

Level 0 is the plain image, level 1 adds its mirror, level 2 adds the four 1-pixel translations of
both (reflect-padded). A run keeps every view's test logits (`logits.npy`, fp16), so a weighting
that differs only in `tta_untranslated_weight` is a weighted sum of stored logits: no network, no
device, and nothing new to time (the views evaluated are the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hotlap.errors import HotlapError
from hotlap.recipes.base import Inference, Reweighting, SourceRun

__all__ = [
    "REFERENCE_WEIGHT",
    "REWEIGHTING",
    "VIEW_NAMES",
    "WEIGHT_FIELD",
    "TTAViews",
    "accuracy",
    "check_weights",
    "combine_views",
    "predict_views",
    "reweightable",
    "reweighted",
    "tta_view_weights",
    "view_logits",
]

WEIGHT_FIELD = "tta_untranslated_weight"
REFERENCE_WEIGHT = 0.5  # the reference recipe's weighting (0.25 per untranslated, 0.125 per translated)

VIEW_NAMES = {
    0: ("plain",),
    1: ("plain", "mirror"),
    2: ("plain", "mirror", "up_left", "up_left_mirror", "down_right", "down_right_mirror"),
}


def tta_view_weights(level: int, untranslated_weight: float = 0.5) -> torch.Tensor:
    """Weights of the views of `VIEW_NAMES[level]`; level 2 splits `untranslated_weight` over the
    two untranslated views and the rest over the four translated ones (0.25 / 0.125 by default)."""
    if level == 0:
        return torch.tensor([1.0])
    if level == 1:
        return torch.tensor([0.5, 0.5])
    w = untranslated_weight
    return torch.tensor([w / 2, w / 2] + [(1 - w) / 4] * 4)


def view_logits(net: nn.Module, inputs: torch.Tensor, level: int) -> list[torch.Tensor]:
    """Logits of every TTA view of a batch, in the order of VIEW_NAMES[level]."""
    views = [inputs]
    if level >= 1:
        views.append(inputs.flip(-1))
    if level >= 2:
        padded = F.pad(inputs, (1, 1, 1, 1), mode="reflect")
        size = inputs.shape[-1]
        for crop in (padded[:, :, 0:size, 0:size], padded[:, :, 2 : size + 2, 2 : size + 2]):
            views.extend((crop, crop.flip(-1)))
    return [net(view) for view in views]


@torch.no_grad()
def predict_views(net: nn.Module, images: torch.Tensor, level: int, batch_size: int) -> torch.Tensor:
    """(views, N, classes) fp32 logits of normalized test images."""
    net.eval()
    chunks = [torch.stack(view_logits(net, batch, level)).float() for batch in images.split(batch_size)]
    return torch.cat(chunks, dim=1)


def tta_inference(
    net: nn.Module,
    level: int,
    untranslated_weight: float,
    example: torch.Tensor,
    batch_size: int,
    channels_last: bool,
) -> Any:
    """The trained network as it is evaluated (every TTA view, weighted), for the worker's latency
    and throughput measurement (hotlap.costs)."""
    weights = tta_view_weights(level, untranslated_weight)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        net.eval()
        return combine_views(torch.stack(view_logits(net, batch, level)).float(), weights)

    return Inference(forward, example, batch_size, channels_last)


def combine_views(logits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (weights.to(logits.device, logits.dtype).view(-1, 1, 1) * logits).sum(0)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


class TTAViews:
    """A config's evaluation views (mixed into the airbench family's configs, before RecipeConfig)."""

    tta_level: int

    def eval_views(self) -> int:
        return len(VIEW_NAMES[self.tta_level])


def reweightable(config: Mapping[str, Any]) -> bool:
    """Whether re-weighting the views changes anything: level 2 only."""
    return config.get("tta_level") == 2


def check_weights(values: Iterable[Any], option: str = "--reweight") -> list[float]:
    """The untranslated views' weights: numbers between 0 and 1."""
    values = list(values)
    if not values or any(
        isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1 for v in values
    ):
        raise HotlapError(f"{option}: weights are numbers between 0 and 1")
    return sorted({float(f"{v:.12g}") for v in values})


def reweighted(config: Any, source: SourceRun, labels: Callable[[], torch.Tensor]) -> dict[str, float] | None:
    """The metrics of `config` from its source run's stored views, where they suffice: the source
    evaluated the same views in the same batches (only the weighting differs). Times, the plain
    view's accuracy and the training's metrics are the source's own; None where the network must
    run again. The test labels are the source's stored ones; `labels()` (the dataset's, loaded
    then) only for a source that stored none."""
    same_views = all(
        source.config.get(name) == getattr(config, name) for name in ("tta_level", "eval_batch_size")
    ) and source.config.get("quant", {}) == getattr(config, "quant", {})  # the same numbers too
    if not (same_views and source.has("logits.npy") and "tta_accuracy" in source.metrics):
        return None
    logits = torch.from_numpy(source.array("logits.npy").astype(np.float32))
    if source.has("labels.npy"):
        truth = torch.from_numpy(source.array("labels.npy").astype(np.int64))
    else:
        truth = labels().cpu()
    weights = tta_view_weights(config.tta_level, config.tta_untranslated_weight)
    if logits.shape[0] != len(weights) or logits.shape[1] != len(truth):
        return None
    return {
        **source.metrics,
        "tta_accuracy": accuracy(combine_views(logits, weights), truth),
    }


# The airbench family's hook: a sweep's level-2 configs evaluated again under other weights of the
# untranslated views, from the stored logits (`hotlap eval --tta-weight`, a spec's `tta_weights`).
REWEIGHTING = Reweighting(
    field=WEIGHT_FIELD,
    reference=REFERENCE_WEIGHT,
    where=reweightable,
    check=check_weights,
    suffix="-tta",
)
