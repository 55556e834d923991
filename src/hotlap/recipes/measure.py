"""A network's size and work: its parameters and the FLOPs of one forward pass (`hotlap show`,
the cost metrics `parameters`, `forward_flops` and `run_flops`)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_parameters", "forward_flops"]


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
