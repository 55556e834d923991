"""A metric of your own: bit operations, declared by a recipe that reports it.

Any spec can then minimize it, bound it or name it in a target like a built-in metric:
`objective: {target: {metric: accuracy, at_least: 0.9}, minimize: bops}`.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.metrics import Metric
from hotlap.recipes import RunResult, recipe
from hotlap.timing import RegionTimer

BOPS = Metric(
    "bops",
    unit="BOPs",
    direction="minimize",
    kind="cost",
    scope="config",  # the same for every seed: it can be minimized, not made a target
    description="bit operations of one forward pass (multiply-adds x weight bits x input bits)",
)


class LinearConfig(RecipeConfig):
    bits: int = Field(8, ge=2, le=32, description="weight and input width the bops count assumes")
    epochs: int = Field(5, ge=1, description="training epochs (full batch)")
    lr: float = Field(0.5, gt=0, description="SGD learning rate")


def build_model(config: LinearConfig, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, num_classes))


@recipe(
    "linear_bops",
    config=LinearConfig,
    build_model=build_model,
    total_steps=lambda config, train_size: config.epochs,
    summary="a linear classifier that reports its bit operations (an example plugin)",
    metrics=["accuracy", BOPS, "train_time"],
    smoke={"epochs": 20},
)
def train(config: LinearConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    torch.manual_seed(seed)
    model = build_model(config, data.num_classes).to(data.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    images = data.train_images.float() / 255 - 0.5
    timer, history = RegionTimer(data.device), []
    for epoch in range(config.epochs):
        with timer.region("train"):
            loss = nn.functional.cross_entropy(model(images), data.train_labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append({"epoch": epoch + 1, "train_loss": loss.item()})
        if on_epoch is not None:
            on_epoch(history[-1])
    with torch.no_grad():
        predictions = model(data.test_images.float() / 255 - 0.5).argmax(1)
    accuracy = (predictions == data.test_labels).float().mean().item()
    bops = float(model[1].weight.numel() * config.bits * config.bits)
    metrics = {"accuracy": accuracy, "bops": bops, "train_time": timer["train"]}
    return RunResult(seed, metrics=metrics, history=history)
