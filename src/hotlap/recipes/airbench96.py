"""airbench96: CIFAR-10 to 96%, airbench94 with residual conv groups of three, trained longer.

Evidence for the reference (Keller Jordan's cifar10-airbench, the paper's airbench96): mean 96.03%
test accuracy with TTA over n=400 runs, 34.7 s per run on one A100-SXM4-80GB (torch 2.1.2), 4.91
PFLOPs per run. Its changes to airbench94, each below with the field that carries it:
- wider: block widths 128/384/512 (airbench94: 64/256/256);
- a third conv in every group, with a residual connection over the last two (10 convs in all);
- lr 9.0 and weight decay 0.012 per 1024 examples (11.5 and 0.0153);
- a shorter warmup (10% of the steps from 0.2) and a decay all the way to 0 (airbench94: 23%, to
  0.07);
- 12-px cutout, and random translation up to 4 px (2);
- 37 epochs (9.9);
- BatchNorm at torch's default momentum: running statistics keep 0.9 per step (airbench94: 0.6).
Everything else is airbench94's: the frozen whitening conv and its 3 bias epochs, the decoupled
SGD-Nesterov (momentum 0.85, bias lr x64), label smoothing 0.2, Lookahead/EMA every 5 steps,
alternating flip, logits x 1/9, TTA level 2; so is the training loop, given this file's network.
"""

from __future__ import annotations

import functools

import torch
from pydantic import Field
from torch import nn

from hotlap.recipes.airbench94 import (
    LOOP,
    WHITEN_KERNEL,
    WHITEN_WIDTH,
    Airbench94Config,
    BatchNorm,
    Conv,
    Scale,
    evaluate,
    train,
)
from hotlap.recipes.base import recipe

# =============================================================================================
#  Hyperparameters: airbench94's, with the reference's changes
# =============================================================================================


class Airbench96Config(Airbench94Config):
    """airbench94's hyperparameters with airbench96's widths, schedule, augmentation and length."""

    epochs: float = Field(
        37.0, gt=0, le=1000, description="training epochs; the last may be partial"
    )
    lr: float = Field(9.0, gt=0, description="learning rate per 1024 examples (decoupled)")
    weight_decay: float = Field(
        0.012, ge=0, description="weight decay per 1024 examples, decoupled from lr"
    )
    lr_end: float = Field(0.0, ge=0, description="lr multiplier at the last step")
    lr_warmup_frac: float = Field(
        0.1, ge=0, lt=1, description="fraction of steps of linear warmup to 1.0"
    )
    translate: int = Field(4, ge=0, le=8, description="max random shift in px (reflect padding)")
    cutout: int = Field(12, ge=0, le=32, description="side of a zeroed square per image; 0: off")
    block1_width: int = Field(128, ge=1, description="channels of conv group 1")
    block2_width: int = Field(384, ge=1, description="channels of conv group 2")
    block3_width: int = Field(512, ge=1, description="channels of conv group 3")
    batchnorm_momentum: float = Field(
        0.9, gt=0, le=1, description="BN running stats kept per step (torch: 1 - this)"
    )


# =============================================================================================
#  Network: three convs per group, a residual over the last two
# =============================================================================================


class ResidualConvGroup(nn.Module):
    """conv -> pool -> BN -> GELU, then two conv -> BN whose output is added to that activation
    before the last GELU (the reference adds before activating, not after)."""

    def __init__(self, c_in: int, c_out: int, batchnorm_momentum: float) -> None:
        super().__init__()
        self.conv1 = Conv(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(c_out, batchnorm_momentum)
        self.conv2 = Conv(c_out, c_out)
        self.norm2 = BatchNorm(c_out, batchnorm_momentum)
        self.conv3 = Conv(c_out, c_out)
        self.norm3 = BatchNorm(c_out, batchnorm_momentum)
        self.activ = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        residual = x
        x = self.activ(self.norm2(self.conv2(x)))
        return self.activ(self.norm3(self.conv3(x)) + residual)


def make_net(config: Airbench94Config, num_classes: int = 10) -> nn.Sequential:
    """The airbench96 network in fp32 on the CPU: airbench94's layout (whitening conv, three
    groups, max-pool, linear head, scaled logits) with residual groups."""
    w1, w2, w3 = config.block_widths()
    momentum = config.batchnorm_momentum
    net = nn.Sequential(
        Conv(3, WHITEN_WIDTH, WHITEN_KERNEL, padding=0, bias=True),  # 0: whitening
        nn.GELU(),
        ResidualConvGroup(WHITEN_WIDTH, w1, momentum),
        ResidualConvGroup(w1, w2, momentum),
        ResidualConvGroup(w2, w3, momentum),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(w3, num_classes, bias=False),
        Scale(config.scaling_factor),
    )
    net[0].weight.requires_grad = False
    return net


# =============================================================================================
#  Training: airbench94's loop with this network
# =============================================================================================

recipe(
    "airbench96",
    config=Airbench96Config,
    summary="CIFAR-10 to 96% (airbench96: residual groups of 3 convs at 128/384/512, cutout, 37 epochs)",
    # On digits: an eighth of the width (16/48/64), batch 128 and lr 30 as airbench94's smoke run,
    # cutout and translation at the reference's 12 and 4 px. With those augmentations 5 epochs gave
    # 92-96% with TTA; 8 epochs give 97.5-98.9% (seeds 0-2), 4 s of training each on 2 CPU cores
    # (2026-12-01).
    smoke={"width": 0.125, "epochs": 8, "batch_size": 128, "lr": 30.0},
    **{
        **LOOP,
        "build_model": make_net,
        "evaluate": functools.partial(evaluate, build_net=make_net),
    },
)(functools.partial(train, build_net=make_net))
