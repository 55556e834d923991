"""Lookahead-style EMA of the full network state, as airbench94 (and 95, 96) train with it."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LookaheadState", "ema_decay"]


def ema_decay(step: int, total: int, decay: float, every: int, power: float) -> float:
    """The decay of an update every `every` steps: decay^every, ramped in as (step/total)^power.
    Computed as the reference's schedule tensor is, decay**every * (torch.arange(total + 1) /
    total) ** power in float32, so every update blends with the reference's decay to the bit."""
    ramp = (torch.tensor([step]) / total) ** power
    return (decay**every * ramp).item()


class LookaheadState:
    """Every few steps the EMA moves toward the net and is copied back into it."""

    def __init__(self, net: nn.Module) -> None:
        self.ema = {k: v.clone() for k, v in net.state_dict().items()}

    def update(self, net: nn.Module, decay: float) -> None:
        for ema, current in zip(self.ema.values(), net.state_dict().values(), strict=True):
            if current.dtype.is_floating_point:
                ema.lerp_(current, 1 - decay)
                current.copy_(ema)
