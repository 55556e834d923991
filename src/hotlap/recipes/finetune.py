"""Pretrained weights for a torchvision ResNet, and progressive fine-tuning's parameter groups.

`load_pretrained(model, path)` reads a local torchvision state dict with `weights_only=True` into
`model` except its head (`fc`, replaced for the dataset's classes): a missing file, or one whose
keys or shapes do not fit, is a one-line ConfigError naming what was expected and what was found.
Where torchvision's own cache holds a ResNet weights file, a missing path names that folder.

`parameter_groups(model, multipliers, lr)` splits a ResNet into the stem (conv1, bn1), layer1..4
and the head (fc), each at its lr multiplier: progressive fine-tuning trains the late blocks at
the full lr and the early, general ones slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hotlap.errors import ConfigError

__all__ = ["GROUPS", "load_pretrained", "parameter_groups"]

GROUPS = ("stem", "layer1", "layer2", "layer3", "layer4", "fc")
HEAD = "fc."


def _group_of(name: str) -> str:
    first = name.split(".", 1)[0]
    return first if first in GROUPS else "stem"


def parameter_groups(
    model: nn.Module, multipliers: Mapping[str, float], lr: float, weight_decay: float
) -> list[dict[str, Any]]:
    """One optimizer group per ResNet part at lr x its multiplier (missing parts: x1)."""
    grouped: dict[str, list[nn.Parameter]] = {name: [] for name in GROUPS}
    for name, param in model.named_parameters():
        if param.requires_grad:
            grouped[_group_of(name)].append(param)
    return [
        {
            "params": params,
            "lr": lr * float(multipliers.get(name, 1.0)),
            "weight_decay": weight_decay,
            "name": name,
        }
        for name, params in grouped.items()
        if params
    ]


def _cached_weights() -> list[Path]:
    try:
        folder = Path(torch.hub.get_dir()) / "checkpoints"
    except Exception:  # no hub directory: nothing to suggest
        return []
    return sorted(folder.glob("*resnet*.pth")) if folder.is_dir() else []


def load_pretrained(model: nn.Module, path: str | Path) -> None:
    """Load a torchvision state dict into `model`, all but the head."""
    from hotlap.io import load_weights

    path = Path(path).expanduser()
    if not path.is_file():
        cached = _cached_weights()
        hint = (
            f"; torchvision's cache holds {', '.join(p.name for p in cached)} in {cached[0].parent}"
            if cached
            else ""
        )
        raise ConfigError(f"pretrained: no weights file at {path}{hint}")
    try:
        state = load_weights(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"pretrained: {path}: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"pretrained: {path} is not a state dict of tensors")
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith(HEAD)}
    found = {k: v for k, v in state.items() if not k.startswith(HEAD)}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s), first {missing[0]!r}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected, first {unexpected[0]!r}")
        raise ConfigError(f"pretrained: {path} does not fit this model: {'; '.join(parts)}")
    for key, tensor in expected.items():
        if tuple(found[key].shape) != tuple(tensor.shape):
            raise ConfigError(
                f"pretrained: {path}: {key} has shape {tuple(found[key].shape)}, this model "
                f"expects {tuple(tensor.shape)} (stem=cifar replaces conv1: use stem=imagenet with "
                "ImageNet weights)"
                if key.startswith("conv1")
                else f"pretrained: {path}: {key} has shape {tuple(found[key].shape)}, this model expects {tuple(tensor.shape)}"
            )
    model.load_state_dict(found, strict=False)
