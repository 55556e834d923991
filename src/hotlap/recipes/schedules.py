"""Learning-rate schedules by epoch, as torch's schedulers define them, with linear warmup.

`LrSchedule` drives an optimizer through a run: `epoch_start(epoch)` before each epoch's batches,
`batch_end()` after each optimizer step (one-cycle moves per step), `epoch_end(watched)` after
each epoch (reduce-on-plateau reads the metric it watches: validation accuracy or loss, or the
training loss; never the test set). Schedules:
`step`, `multistep`, `plateau`, `cosine`, `onecycle` (per step) and `none`, as torch's StepLR,
MultiStepLR, ReduceLROnPlateau (mode max), CosineAnnealingLR and OneCycleLR. Warmup (all but
one-cycle) grows the lr linearly per step from `warmup_start` x lr over `warmup_epochs`; the
schedule's epochs count from the run's start (the milestones are the run's epochs, as the CIFAR
references state them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch

__all__ = ["LrSchedule", "SchedulerName", "epoch_multiplier"]

SchedulerName = Literal["none", "step", "multistep", "plateau", "cosine", "onecycle"]


def epoch_multiplier(
    name: SchedulerName,
    epoch: int,
    epochs: int,
    *,
    gamma: float,
    step_size: int,
    milestones: Sequence[int],
    warmup_epochs: int,
) -> float:
    """The lr multiplier of the closed-form schedules at `epoch` (0-based), before warmup."""
    if name == "step":
        return gamma ** (epoch // step_size)
    if name == "multistep":
        return gamma ** sum(1 for m in milestones if epoch >= m)
    if name == "cosine":
        span = max(1, epochs - warmup_epochs)
        t = min(max(epoch - warmup_epochs, 0), span)
        return 0.5 * (1 + math.cos(math.pi * t / span))
    return 1.0


class LrSchedule:
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        name: SchedulerName,
        *,
        epochs: int,
        steps_per_epoch: int,
        gamma: float = 0.1,
        step_size: int = 30,
        milestones: Sequence[int] = (),
        plateau_factor: float = 0.1,
        plateau_patience: int = 10,
        plateau_mode: Literal["max", "min"] = "max",
        warmup_epochs: int = 0,
        warmup_start: float = 0.1,
    ) -> None:
        self.optimizer = optimizer
        self.name = name
        self.epochs = epochs
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.gamma, self.step_size, self.milestones = gamma, step_size, tuple(milestones)
        self.warmup_epochs = 0 if name == "onecycle" else warmup_epochs
        self.warmup_start = warmup_start
        self.base = [group["lr"] for group in optimizer.param_groups]
        self.plateau_scale = 1.0
        self.epoch = 0
        self.step = 0  # optimizer steps in the run
        self._plateau = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=plateau_mode, factor=plateau_factor, patience=plateau_patience
            )
            if name == "plateau"
            else None
        )
        self._onecycle = None
        if name == "onecycle":
            total = epochs * self.steps_per_epoch
            pct = warmup_epochs / epochs if warmup_epochs > 0 else 0.3
            self._onecycle = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.base, total_steps=total, pct_start=min(max(pct, 1e-3), 0.99)
            )
        self._apply()

    def _warmup(self) -> float:
        total = self.warmup_epochs * self.steps_per_epoch
        if total <= 0 or self.step >= total:
            return 1.0
        return self.warmup_start + (1 - self.warmup_start) * self.step / total

    def _apply(self) -> None:
        if self._onecycle is not None:
            return
        multiplier = epoch_multiplier(
            self.name,
            self.epoch,
            self.epochs,
            gamma=self.gamma,
            step_size=self.step_size,
            milestones=self.milestones,
            warmup_epochs=self.warmup_epochs,
        )
        if self._plateau is not None:
            multiplier = self.plateau_scale
        for group, base in zip(self.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * multiplier * self._warmup()

    def scale_base(self, factor: float) -> None:
        """Scale every group's base lr (a batch-size schedule's linear lr scaling)."""
        self.base = [b * factor for b in self.base]
        self._apply()

    def epoch_start(self, epoch: int) -> None:
        self.epoch = epoch
        self._apply()

    def batch_end(self) -> None:
        self.step += 1
        if self._onecycle is not None:
            if self.step < self._onecycle.total_steps:
                self._onecycle.step()
        else:
            self._apply()

    def epoch_end(self, watched: float | None) -> None:
        """After each epoch: reduce-on-plateau sees the metric it watches (None: none this epoch)."""
        if self._plateau is None or self.epoch + 1 < self.warmup_epochs:
            return
        if watched is None:
            return
        before = [g["lr"] for g in self.optimizer.param_groups]
        self._plateau.step(watched)
        after = self.optimizer.param_groups[0]["lr"]
        if before[0] > 0 and after < before[0]:
            self.plateau_scale *= after / before[0]
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps: where the schedule is, and its torch schedulers' own state."""
        return {
            "base": list(self.base),
            "plateau_scale": self.plateau_scale,
            "epoch": self.epoch,
            "step": self.step,
            "plateau": self._plateau.state_dict() if self._plateau is not None else None,
            "onecycle": self._onecycle.state_dict() if self._onecycle is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base, self.plateau_scale = list(state["base"]), float(state["plateau_scale"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        if self._plateau is not None and state["plateau"] is not None:
            self._plateau.load_state_dict(state["plateau"])
        if self._onecycle is not None and state["onecycle"] is not None:
            self._onecycle.load_state_dict(state["onecycle"])

    @property
    def lr(self) -> float:
        """The first group's current lr."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def group_lrs(self) -> dict[str, float]:
        """Each named group's current lr (`lr_layer4`, ...: fine-tuning's parts at their own
        multipliers) where the optimizer has more than one group; else nothing."""
        groups = self.optimizer.param_groups
        if len(groups) < 2:
            return {}
        return {f"lr_{g.get('name', i)}": float(g["lr"]) for i, g in enumerate(groups)}
