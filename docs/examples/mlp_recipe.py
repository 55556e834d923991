"""A recipe of your own: a two-layer perceptron on the flattened images.

Run it with `HOTLAP_PLUGINS=docs/examples/mlp_recipe.py hotlap run mlp --data digits --device cpu`.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.recipes import RunResult, recipe
from hotlap.timing import RegionTimer


class MLPConfig(RecipeConfig):
    hidden: int = Field(256, ge=1, le=65536, description="units of the hidden layer")
    epochs: int = Field(10, ge=1, description="training epochs")
    batch_size: int = Field(128, ge=1, description="examples per optimizer step")
    lr: float = Field(0.05, gt=0, description="SGD learning rate")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")


def build_model(config: MLPConfig, num_classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(3 * 32 * 32, config.hidden), nn.ReLU(), nn.Linear(config.hidden, num_classes)
    )


def total_steps(config: MLPConfig, train_size: int) -> int:
    return config.epochs * -(-train_size // config.batch_size)


def _normalized(images: torch.Tensor, data) -> torch.Tensor:
    mean = torch.tensor(data.mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


@recipe(
    "mlp",
    config=MLPConfig,
    build_model=build_model,
    total_steps=total_steps,
    summary="a two-layer perceptron (an example plugin)",
    metrics=["accuracy", "train_time", "eval_time", "total_time"],
    smoke={"epochs": 5},
)
def train(config: MLPConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    generator = torch.Generator(device=data.device).manual_seed(seed)
    torch.manual_seed(seed)
    model = build_model(config, data.num_classes).to(data.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    images, labels = _normalized(data.train_images, data), data.train_labels
    timer, history = RegionTimer(data.device), []
    for epoch in range(config.epochs):
        with timer.region("train"):
            order = torch.randperm(len(labels), generator=generator, device=data.device)
            for start in range(0, len(labels), config.batch_size):
                batch = order[start : start + config.batch_size]
                loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        record = {"epoch": epoch + 1, "train_loss": loss.item()}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)  # to the callbacks (W&B, the progress display) as the epoch ends
    with timer.region("eval"), torch.no_grad():
        predictions = model(_normalized(data.test_images, data)).argmax(1)
    accuracy = (predictions == data.test_labels).float().mean().item()
    metrics = {"accuracy": accuracy, "train_time": timer["train"], "eval_time": timer["eval"]}
    metrics["total_time"] = metrics["train_time"] + metrics["eval_time"]
    artifacts = {"model.pt": model.state_dict()} if keep_weights else {}
    return RunResult(seed, metrics=metrics, history=history, artifacts=artifacts)
