"""Decoupled SGD hyperparameters, converted to torch's as the airbench reference does.

The reference states lr and weight decay per 1024 examples, independent of the momentum and of
each other. With Nesterov momentum m and constant gradients, steps grow by 1 + 1/(1 - m) over the
gradient; dividing by that (per 1024 examples, since the loss is summed) keeps the step scale fixed
when the momentum changes. The total decay is weight_decay x batch / that scale, and each
parameter group's torch weight_decay is the total over its own lr, so the decay strength does not
change when the lr (or a group's lr multiplier) does.
"""

from __future__ import annotations

__all__ = ["decoupled_sgd"]


def decoupled_sgd(lr: float, weight_decay: float, momentum: float, batch_size: int) -> tuple[float, float]:
    """(torch lr, total decay): a group with lr multiplier k gets lr k * lr and weight_decay
    total / (k * lr)."""
    scale = 1024 * (1 + 1 / (1 - momentum))
    return lr / scale, weight_decay * batch_size / scale
