"""Muon: momentum SGD whose update is orthogonalized, for the filters of convolutions (and any
matrix-shaped weight). The airbench94_muon record (94.01% over 200 runs, 2.59 s on an A100) uses
it on every conv filter with lr 0.24, momentum 0.6, Nesterov.

The update of a weight W with gradient G: the momentum buffer B <- momentum * B + G; the step
direction D = G + momentum * B (Nesterov) or B; W is first rescaled to Frobenius norm
sqrt(rows) (the filter's output channels), then W <- W - lr * O(D), where O(D) is D with its
singular values pushed to about 1 by a few Newton-Schulz iterations (the reference: 3 steps in
bfloat16 with the quintic's coefficients below): the direction of the momentum without its
scale, cheaper than an SVD and as good for training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["NEWTON_SCHULZ", "Muon", "orthogonalize"]

# The quintic iteration X <- a X + (b A + c A^2) X with A = X X^T, tuned to push every singular
# value in (0, 1] towards 1 in few steps; it lands in about [0.7, 1.2] rather than on 1, which
# training does not mind (the reference's coefficients).
NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)


def orthogonalize(
    matrix: torch.Tensor, steps: int = 3, dtype: torch.dtype = torch.bfloat16, eps: float = 1e-7
) -> torch.Tensor:
    """An approximately orthogonal matrix with `matrix`'s singular vectors (U V^T of its SVD, its
    singular values near 1), by `steps` Newton-Schulz iterations in `dtype`; returned in
    `matrix`'s dtype. A 2-D tensor; reshape a conv filter to (out, in * kh * kw) first."""
    if matrix.ndim != 2:
        raise ValueError(f"orthogonalize takes a matrix, not a tensor of shape {tuple(matrix.shape)}")
    a, b, c = NEWTON_SCHULZ
    x = matrix.to(dtype)
    x = x / (x.norm() + eps)  # every singular value at most 1
    wide = x.size(0) <= x.size(1)
    if not wide:  # iterate on the smaller Gram matrix
        x = x.T
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x if wide else x.T).to(matrix.dtype)


class Muon(torch.optim.Optimizer):
    """Momentum with orthogonalized updates (see the module). Options per group: lr, momentum,
    nesterov, steps (Newton-Schulz iterations), dtype (theirs: bfloat16), renormalize (rescale
    each weight to norm sqrt(rows) before its step, as the airbench record does). `orthogonalizer`
    replaces `orthogonalize` with a function of the same signature (the record compiles it)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        steps: int = 3,
        dtype: torch.dtype = torch.bfloat16,
        renormalize: bool = True,
        orthogonalizer: Callable[[torch.Tensor, int, torch.dtype], torch.Tensor] | None = None,
    ) -> None:
        if lr <= 0 or not 0 <= momentum < 1 or steps < 1:
            raise ValueError(f"Muon: lr > 0, momentum in [0, 1), steps >= 1 (got {lr}, {momentum}, {steps})")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "steps": steps,
            "dtype": dtype,
            "renormalize": renormalize,
        }
        super().__init__(params, defaults)
        self.orthogonalize = orthogonalizer or orthogonalize  # not a group option: not in state_dict
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim < 2:
                    raise ValueError(
                        f"Muon takes matrices and filters; a parameter has shape {tuple(p.shape)}"
                    )

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            momentum = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buffer = state["momentum_buffer"]
                buffer.mul_(momentum).add_(p.grad)
                direction = p.grad.add(buffer, alpha=momentum) if group["nesterov"] else buffer
                if group["renormalize"]:
                    p.mul_(len(p) ** 0.5 / p.norm().clamp_min(1e-12))
                update = self.orthogonalize(
                    direction.reshape(len(direction), -1), group["steps"], group["dtype"]
                )
                p.add_(update.view_as(p), alpha=-group["lr"])
        return loss
