"""airbench96_faster: CIFAR-10 to 96% sooner, training on the half of each batch a proxy finds hardest.

Evidence for the reference (Keller Jordan's cifar10-airbench, airbench96_faster.py, the repository's
96% record): its README gives 96.00% mean test accuracy with TTA, 27.3 s on a 400 W A100 (torch
2.4.1), 3.1 PFLOPs per run; the script's header 96.03% over n=100 runs, 27.3 s on an
A100-SXM4-80GB (torch 2.4.0). What it changes in airbench96, each below with the field that carries
it:
- data filtering: a small proxy network (airbench94's two-conv groups at 32/64/64, its whitening
  bias frozen) goes first over the very batches the main run will see. It scores every batch of
  1024 by each example's label-smoothed loss and keeps the 512 it finds hardest
  (`batch_size_masked`); on every fourth batch (`proxy_step_every`) it also takes an SGD step on
  their summed loss. The main network then trains on exactly those 512 of each batch;
- an endless stream of epochs: a batch that reaches the end of the 50,000 images takes the rest
  from the next epoch's (airbench96 drops the remainder); an "epoch" is 48 steps;
- 45 epochs (2,160 steps; airbench96: 37), the loss summed over the per-example losses;
- the whitening bias trains through the whole run (`whiten_bias_epochs` 45): the reference's
  hyperparameters name 3 bias epochs, but its switch compares the epoch (0-44) with 3 x 48 steps
  and never fires, so its published runs trained the bias throughout.
The proxy shares the main run's optimizer settings and schedule (lr 9.0, wd 0.012, bias lr x64,
warmup over 10% of the steps from 0.2, decay to 0), without Lookahead/EMA. Everything else is
airbench96's: the residual network at 128/384/512, BatchNorm at torch's momentum, alternating flip,
translate 4, cutout 12, Lookahead/EMA every 5 steps, TTA level 2. Timed, as the reference times it:
both whitening inits, the whole proxy run, the main training and the final TTA evaluation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from hotlap.config import redefault
from hotlap.data.loader import DeviceData, DeviceLoader, make_generator
from hotlap.errors import RunFailed
from hotlap.recipes import airbench94
from hotlap.recipes.airbench94 import (
    LOOP,
    compile_exercise,
    ema_decay_at,
    label_smoothing_at,
    lr_multiplier,
    make_optimizer,
    total_steps,
    training_shape,
)
from hotlap.recipes.airbench96 import Airbench96Config, make_net
from hotlap.recipes.airbench_eval import (
    epoch_record,
    evaluate,
    finished_run,
    logged_accuracy,
)
from hotlap.recipes.base import EpochCallback, RunResult, recipe, steps_per_epoch
from hotlap.recipes.compiling import compiled
from hotlap.recipes.layers import prepare_net, resolve_dtype, summed_cross_entropy
from hotlap.recipes.lookahead import LookaheadState
from hotlap.recipes.measure import forward_flops
from hotlap.recipes.whitening import init_whitening
from hotlap.timing import RegionTimer

# =============================================================================================
#  Hyperparameters: airbench96's, with the reference's changes and the proxy's
# =============================================================================================


class Airbench96FasterConfig(Airbench96Config):
    """airbench96's hyperparameters with airbench96_faster's length, masking and proxy network."""

    epochs: float = redefault(Airbench96Config, "epochs", 45.0)
    whiten_bias_epochs: int = redefault(Airbench96Config, "whiten_bias_epochs", 45)
    batch_size_masked: int = Field(
        512, ge=1, description="examples of each batch the main network trains on: the proxy's hardest"
    )
    proxy_step_every: int = Field(
        4, ge=1, description="the proxy scores every batch and takes an optimizer step on every Nth"
    )
    proxy_block1_width: int = Field(32, ge=1, description="channels of the proxy's conv group 1 (x width)")
    proxy_block2_width: int = Field(64, ge=1, description="channels of the proxy's conv group 2 (x width)")
    proxy_block3_width: int = Field(64, ge=1, description="channels of the proxy's conv group 3 (x width)")

    @model_validator(mode="after")
    def _masked_within_the_batch(self) -> Airbench96FasterConfig:
        if self.batch_size_masked > self.batch_size:
            raise ValueError(
                f"batch_size_masked {self.batch_size_masked} exceeds batch_size {self.batch_size}: "
                "the main network trains on that many examples of each batch"
            )
        return self

    def proxy_config(self) -> Airbench96FasterConfig:
        """This config with the proxy's widths in place of the main network's."""
        return self.model_copy(
            update={
                "block1_width": self.proxy_block1_width,
                "block2_width": self.proxy_block2_width,
                "block3_width": self.proxy_block3_width,
            }
        )


# =============================================================================================
#  Networks: airbench96's for the run, airbench94's two-conv groups for the proxy
# =============================================================================================


def make_proxy(config: Airbench96FasterConfig, num_classes: int = 10) -> nn.Sequential:
    """The proxy in fp32 on the CPU: airbench94's layout at the proxy's widths, with airbench96's
    BatchNorm momentum and logit scale, its whitening bias frozen (it never trains)."""
    net = airbench94.make_net(config.proxy_config(), num_classes)
    net[0].bias.requires_grad = False
    return net


# =============================================================================================
#  The proxy run: which half of every batch the main network trains on
# =============================================================================================


def hardest(losses: torch.Tensor, keep: int) -> torch.Tensor:
    """A mask of the `keep` largest losses (the reference's argsort, so ties fall as there)."""
    mask = torch.zeros(len(losses), dtype=torch.bool, device=losses.device)
    mask[losses.argsort()[-keep:]] = True
    return mask


def proxy_masks(
    config: Airbench96FasterConfig, proxy: nn.Module, forward: Any, stream: Iterator[Any], steps: int
) -> list[torch.Tensor]:
    """Run the proxy over the first `steps` batches of `stream` in training mode: every batch is
    scored and masked; every `proxy_step_every`th (from the first) also steps the optimizer on the
    masked examples' summed loss. The schedule advances on every batch."""
    optimizer = make_optimizer(proxy, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_multiplier(step, steps, config))
    proxy.train()
    masks = []
    for step in range(steps):
        inputs, labels = next(stream)
        smoothing = label_smoothing_at(step, steps, config)
        learns = step % config.proxy_step_every == 0
        with torch.set_grad_enabled(learns):
            losses = F.cross_entropy(forward(inputs), labels, label_smoothing=smoothing, reduction="none")
            mask = hardest(losses, config.batch_size_masked)
        if learns:
            optimizer.zero_grad(set_to_none=True)
            (losses * mask.float()).sum().backward()
            optimizer.step()
        masks.append(mask)
        scheduler.step()
    return masks


# =============================================================================================
#  The main run: airbench96's step on the masked examples
# =============================================================================================


class MaskedTraining:
    """The main network's optimizer, schedule and Lookahead/EMA, stepped one masked batch at a time."""

    def __init__(self, config: Airbench96FasterConfig, net: nn.Module, forward: Any, steps: int) -> None:
        self.config, self.net, self.forward, self.steps = config, net, forward, steps
        self.optimizer = make_optimizer(net, config)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_multiplier(step, steps, config)
        )
        self.lookahead = LookaheadState(net)  # from the whitened network (as airbench94's note says)
        self.step_count = 0

    def step(self, inputs: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[Any, Any, Any]:
        """One optimizer step on the masked examples; (outputs, labels, summed loss)."""
        config, step = self.config, self.step_count
        inputs, labels = inputs[mask], labels[mask]
        outputs = self.forward(inputs)
        smoothing = label_smoothing_at(step, self.steps, config)
        loss = summed_cross_entropy(outputs, labels, smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step_count = step = step + 1
        if step % config.ema_every == 0:
            self.lookahead.update(self.net, decay=ema_decay_at(step, self.steps, config))
        if step >= self.steps:
            self.lookahead.update(self.net, decay=1.0)  # end on the EMA weights
        return outputs, labels, loss


# =============================================================================================
#  Training
# =============================================================================================


def networks(
    config: Airbench96FasterConfig, data: DeviceData, seed: int, dtype: torch.dtype
) -> tuple[nn.Module, Any, nn.Module, Any]:
    """(main network, its forward, proxy, its forward), initialized from `seed` (the main network
    first), compiled where `compile` is on (untimed, once per worker and shape)."""
    device, channels_last = data.device, data.device.type == "cuda"
    torch.manual_seed(seed)
    net = prepare_net(make_net(config, data.num_classes), device, dtype)
    proxy = prepare_net(make_proxy(config, data.num_classes), device, dtype)
    if not config.compile:
        return net, net, proxy, proxy
    key = ("airbench96_faster", training_shape(config), str(device), dtype, data.num_classes)
    masked = config.batch_size_masked
    net, forward = compiled(
        net, (*key, "main"), compile_exercise(config, net, device, dtype, channels_last, masked), device
    )

    def exercise_proxy(proxy_forward: Any) -> None:
        batch = torch.zeros(config.batch_size, 3, 32, 32, device=device, dtype=dtype)
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        proxy_forward(batch).float().sum().backward()
        with torch.no_grad():
            proxy_forward(batch)

    proxy, proxy_forward = compiled(proxy, (*key, "proxy"), exercise_proxy, device)
    return net, forward, proxy, proxy_forward


def batch_streams(
    config: Airbench96FasterConfig, data: DeviceData, seed: int, dtype: torch.dtype
) -> list[Any]:
    """Two streams of the same batches (two loaders seeded alike, as the reference's two): the
    proxy's and the main run's."""
    loaders = [
        DeviceLoader(
            data,
            train=True,
            batch_size=config.batch_size,
            generator=make_generator(seed, data.device),
            dtype=dtype,
            channels_last=data.device.type == "cuda",
            flip=config.flip,
            translate=config.translate,
            translate_schedule=config.translate_schedule,
            cutout=config.cutout,
        )
        for _ in range(2)
    ]
    return [loader.stream() for loader in loaders]


def _epoch_state(net: nn.Module, config: Airbench96FasterConfig, epoch: int) -> None:
    net[0].bias.requires_grad = epoch < config.whiten_bias_epochs
    if config.whiten_unfreeze_epoch is not None:
        net[0].weight.requires_grad = epoch >= config.whiten_unfreeze_epoch


def run_flops(config: Airbench96FasterConfig, num_classes: int, train_size: int, test_size: int) -> float:
    """FLOPs of a run (2 per multiply-add): the proxy's forward pass over every example of every
    batch and its backward pass (2x forward) over the batches it steps on, the main network's
    forward and backward passes (3x forward) over the masked examples, and the evaluation views
    of the test set."""
    steps = total_steps(config, train_size)
    proxy = forward_flops(make_proxy(config, num_classes))
    main = forward_flops(make_net(config, num_classes))
    proxy_steps = math.ceil(steps / config.proxy_step_every)
    views = {0: 1, 1: 2, 2: 6}[config.tta_level]
    trained = steps * config.batch_size_masked
    return proxy * config.batch_size * (steps + 2 * proxy_steps) + main * (3 * trained + views * test_size)


@recipe(
    "airbench96_faster",
    config=Airbench96FasterConfig,
    target=0.96,
    summary="CIFAR-10 to 96% (airbench96_faster: a proxy picks the hardest 512 of each 1024; 45 epochs)",
    # On digits: an eighth of the width (main 16/48/64, proxy 4/8/8), batch 128 of which the
    # proxy's hardest 64 train, lr 30, 8 epochs (5 reach only 57.5% for seed 0, 2026-12-04).
    smoke={"width": 0.125, "epochs": 8, "batch_size": 128, "batch_size_masked": 64, "lr": 30.0},
    published=(
        "96.00% mean TTA accuracy, 27.3 s on a 400 W A100 (torch 2.4.1), 3.1 PFLOPs (README); "
        "96.03% over n=100 runs on an A100-SXM4-80GB (the script's header)"
    ),
    run_flops=run_flops,
    **{
        **LOOP,
        "build_model": make_net,
        "evaluate": functools.partial(evaluate, build_net=make_net),
        "shape": lambda config: (
            training_shape(config),
            config.batch_size_masked,
            config.proxy_config().block_widths(),
        ),
    },
)
def train(
    config: Airbench96FasterConfig,
    data: DeviceData,
    seed: int,
    *,
    on_epoch: EpochCallback | None = None,
    keep_weights: bool = True,
    log_every: int = 1,
) -> RunResult:
    """Train one seed: the proxy's run for the masks, then the main network on the masked batches,
    then the final evaluation with TTA."""
    if data.train_size < config.batch_size:
        raise RunFailed(f"batch_size {config.batch_size} exceeds the {data.train_size} training images")
    dtype = resolve_dtype(config, data.device)
    net, forward, proxy, proxy_forward = networks(config, data, seed, dtype)
    proxy_stream, stream = batch_streams(config, data, seed, dtype)
    steps = total_steps(config, data.train_size)
    per_epoch = steps_per_epoch(data.train_size, config.batch_size)
    timer = RegionTimer(data.device)
    channels_last = data.device.type == "cuda"
    test_images = data.normalize(data.test_images, dtype, channels_last)  # for the logging evaluation

    # Timed: both whitening inits, from the first (normalized, unaugmented) training images, and
    # the proxy's whole run.
    with timer.region("train"):
        first = data.normalize(data.train_images[: config.whiten_init_images], dtype, channels_last)
        init_whitening(net[0], first, config.whiten_eps)
        init_whitening(proxy[0], first, config.whiten_eps)
        masks = proxy_masks(config, proxy, proxy_forward, proxy_stream, steps)
    training = MaskedTraining(config, net, forward, steps)

    history: list[dict[str, Any]] = []
    for epoch in range(math.ceil(steps / per_epoch)):
        _epoch_state(net, config, epoch)
        with timer.region("train"):
            net.train()
            while training.step_count < min(steps, (epoch + 1) * per_epoch):
                inputs, labels = next(stream)
                outputs, labels, loss = training.step(inputs, labels, masks[training.step_count])

        # Untimed: the per-epoch logging evaluation.
        val_acc = logged_accuracy(net, test_images, data.test_labels, config, epoch, log_every)
        record = epoch_record(epoch, training.step_count, loss, outputs, labels, val_acc, timer)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)

    return finished_run(net, data, config, timer, history, seed, keep_weights)
