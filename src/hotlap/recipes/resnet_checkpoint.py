"""The ResNet recipe's training state, as a checkpoint keeps it (hotlap.recipes.checkpoint): the
network, the optimizer, the grad scaler, the lr schedule, every random generator the run draws
from (the data order and augmentations, mixup / cutmix, CUDA's), the loader's epoch, the timer,
early stopping and the history. Restored, the run goes on exactly as if it had not stopped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hotlap.recipes.checkpoint import Checkpoint
from hotlap.recipes.resnet_setup import EarlyStopping
from hotlap.recipes.schedules import LrSchedule
from hotlap.timing import RegionTimer

__all__ = ["restore", "resume", "save_due", "snapshot"]


def snapshot(
    epoch: int,
    batch: int,
    net: nn.Module,
    parts: tuple[Any, ...],
    loader_epoch: int,
    timer: RegionTimer,
    early: EarlyStopping,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """The state after `epoch` (0-based) ended. `parts`: (optimizer, scaler, schedule, generator)."""
    optimizer, scaler, schedule, generator = parts
    device = generator.device
    return {
        "epoch": epoch,
        "batch": batch,
        "net": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "schedule": schedule.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "loader_epoch": loader_epoch,
        "timer": dict(timer.seconds),
        "early": {"since": early.since, "best": early.best},
        "history": [dict(record) for record in history],
    }


def resume(
    checkpoint: Checkpoint | None,
    net: nn.Module,
    parts: tuple[Any, ...],
    timer: RegionTimer,
    early: EarlyStopping,
    loader: Callable[[int], Any],
    batch: int,
    train_loader: Any,
) -> tuple[int, int, Any, list[dict[str, Any]], int | None]:
    """Where a run starts: (its first epoch, the batch size, the loader, the history so far, and
    the epoch it resumed at or None). Without a saved state: epoch 0, as it was."""
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is None:
        return 0, batch, train_loader, [], None
    start, saved_batch, loader_epoch, history = restore(saved, net, parts, timer, early)
    if saved_batch != batch:  # saved past a change of the batch schedule
        batch, train_loader = saved_batch, loader(saved_batch)
    train_loader.epoch = loader_epoch
    return start, batch, train_loader, history, start


def save_due(checkpoint: Checkpoint, epoch: int, epochs: int, *state: Any) -> None:
    """Save the snapshot (`state`: `snapshot`'s arguments after `epoch`) where the checkpoint is due."""
    if checkpoint.due(epoch, epochs):
        checkpoint.save(snapshot(epoch, *state))


def restore(
    state: dict[str, Any],
    net: nn.Module,
    parts: tuple[Any, ...],
    timer: RegionTimer,
    early: EarlyStopping,
) -> tuple[int, int, int, list[dict[str, Any]]]:
    """Put a snapshot back; returns (the epoch to start at, the batch size then, the loader's
    epoch, the history so far)."""
    optimizer, scaler, schedule, generator = parts
    device = generator.device
    net.load_state_dict(state["net"])
    optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    assert isinstance(schedule, LrSchedule)
    schedule.load_state_dict(state["schedule"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    if device.type == "cuda" and state["cuda_rng"] is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    timer.seconds.update(state["timer"])
    early.since, early.best = state["early"]["since"], state["early"]["best"]
    history = [dict(record) for record in state["history"]]
    return int(state["epoch"]) + 1, int(state["batch"]), int(state["loader_epoch"]), history
