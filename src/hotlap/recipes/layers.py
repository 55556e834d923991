"""The airbench family's layers and numerics: frozen-weight BatchNorm, identity-initialized convs,
the conv group, the logit scale, the whitening conv's shape, and where a network runs in which
dtype. airbench94, airbench94_muon, airbench95 and airbench96 build their networks from these."""

from __future__ import annotations

from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "DTYPES",
    "WHITEN_KERNEL",
    "WHITEN_WIDTH",
    "BatchNorm",
    "Conv",
    "ConvGroup",
    "Scale",
    "prepare_net",
    "resolve_dtype",
    "summed_cross_entropy",
]

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

WHITEN_KERNEL = 2
WHITEN_WIDTH = 2 * 3 * WHITEN_KERNEL**2  # 12 eigenvector filters and their negatives


class _HasDtype(Protocol):
    dtype: str


def resolve_dtype(config: _HasDtype, device: torch.device) -> torch.dtype:
    """`auto`: fp16 on CUDA (the reference's), fp32 on the CPU; otherwise the one named."""
    if config.dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return DTYPES[config.dtype]


def summed_cross_entropy(outputs: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """The training loss: each image's label-smoothed cross-entropy, then their sum, as the
    references compute it. (`reduction="sum"` sums the smoothing term over every logit of the
    batch in the logits' dtype: in fp16 it overflows to inf at a batch of 2,000 images whose loss
    is about 1 each, where the per-image losses sum to 2,000; airbench94_muon failed so on an H200.)"""
    return F.cross_entropy(outputs, labels, label_smoothing=smoothing, reduction="none").sum()


class BatchNorm(nn.BatchNorm2d):
    """BatchNorm with the weight frozen at 1 (present, not trained) and a trained bias.
    `momentum` is the share of the running statistics kept per step (torch's is 1 - this)."""

    def __init__(self, num_features: int, momentum: float, eps: float = 1e-12) -> None:
        super().__init__(num_features, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):
    """Conv with default init, then identity (Dirac) init on the first C_in output filters."""

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int = 3, padding: Any = "same", bias: bool = False
    ):
        super().__init__(c_in, c_out, kernel_size=kernel_size, padding=padding, bias=bias)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        weight = self.weight.data
        torch.nn.init.dirac_(weight[: weight.size(1)])


class ConvGroup(nn.Module):
    """conv -> max-pool -> BN -> GELU, then conv -> BN -> GELU."""

    def __init__(self, c_in: int, c_out: int, batchnorm_momentum: float) -> None:
        super().__init__()
        self.conv1 = Conv(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(c_out, batchnorm_momentum)
        self.conv2 = Conv(c_out, c_out)
        self.norm2 = BatchNorm(c_out, batchnorm_momentum)
        self.activ = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def prepare_net(net: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Move to the device in `dtype`, channels_last on CUDA, BatchNorm kept in fp32."""
    net = net.to(device=device, dtype=dtype)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    for module in net.modules():
        if isinstance(module, BatchNorm):
            module.float()
    return net
