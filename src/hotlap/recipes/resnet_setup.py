"""resnet's set-up: the config a spec sweeps, with the study's defaults (hotlap.recipes.resnet says
where they come from), and what it builds: the precision, the network, the optimizer and lr
schedule, the validation split."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.data.loader import DeviceData
from hotlap.errors import ConfigError, RunFailed
from hotlap.recipes.finetune import GROUPS, load_pretrained, parameter_groups
from hotlap.recipes.layers import DTYPES
from hotlap.recipes.quantize import quant_check, quant_field
from hotlap.recipes.schedules import LrSchedule, SchedulerName

# =============================================================================================
#  Hyperparameters
# =============================================================================================

MODELS = ("resnet18", "resnet34", "resnet50", "wide_resnet50_2")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Progressive fine-tuning (the course study's 85%): the last block and the head at the full lr,
# the block before at half, the stem and the first two blocks at a quarter.
FINETUNE_LR = {
    "stem": 0.25,
    "layer1": 0.25,
    "layer2": 0.25,
    "layer3": 0.5,
    "layer4": 1.0,
    "fc": 1.0,
}


class ResnetConfig(RecipeConfig):
    """Every hyperparameter of the resnet recipe, with the course study's defaults (every training
    image, no warmup) and torch's for the schedules (gamma 0.1)."""

    # Before 2026-12-03 a config held out 5,000 images, warmed up one epoch and stepped x0.2 (the
    # public repository's): a sweep stored then resumes with them (hotlap.config.stored_as).
    former_defaults: ClassVar[dict[str, tuple[Any, ...]]] = {
        "val_size": (5000,),
        "warmup_epochs": (1,),
        "gamma": (0.2,),
    }

    # --- network
    model: Literal["resnet18", "resnet34", "resnet50", "wide_resnet50_2"] = Field(
        "resnet18", description="torchvision model"
    )
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar",
        description="cifar: 3x3 conv, stride 1, no max-pool; imagenet: torchvision's, images resized",
    )
    image_size: int | None = Field(
        None,
        ge=8,
        le=512,
        description="training and test image side; null: 32 (cifar stem), 224 (imagenet)",
    )
    pretrained: str | None = Field(
        None, description="a local torchvision state dict (weights_only); the head is new"
    )
    finetune_lr: dict[str, float] = Field(
        default_factory=lambda: dict(FINETUNE_LR),
        description="lr multiplier per part (stem, layer1-4, fc) when pretrained",
    )
    # --- optimization
    epochs: int = Field(200, ge=1, le=10_000, description="training epochs")
    batch_size: int = Field(128, ge=1, description="examples per optimizer step")
    batch_schedule: dict[int, int] = Field(
        default_factory=dict, description="epoch -> batch size from that epoch on (lr scaled)"
    )
    batch_lr_scaling: Literal["linear", "none"] = Field(
        "linear", description="lr x new batch / old batch when the batch grows"
    )
    optimizer: Literal["sgd", "adamw"] = Field("sgd", description="SGD (momentum) or AdamW")
    lr: float = Field(0.1, gt=0, description="peak learning rate")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (AdamW: beta1)")
    nesterov: bool = Field(False, description="Nesterov momentum (SGD)")
    weight_decay: float = Field(5e-4, ge=0, description="L2 (SGD) or decoupled (AdamW) decay")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="label smoothing of the loss")
    grad_clip: float | None = Field(None, gt=0, description="max gradient norm; null: none")
    # --- schedule
    scheduler: Literal["none", "step", "multistep", "plateau", "cosine", "onecycle"] = Field(
        "multistep", description="lr schedule by epoch (onecycle: by step)"
    )
    milestones: list[int] = Field(
        default_factory=lambda: [60, 120, 160], description="multistep: epochs where lr x gamma"
    )
    gamma: float = Field(0.1, gt=0, le=1, description="step, multistep: lr factor (torch's 0.1)")
    step_size: int = Field(50, ge=1, description="step: epochs between lr x gamma")
    plateau_factor: float = Field(0.1, gt=0, lt=1, description="plateau: lr factor")
    plateau_patience: int = Field(10, ge=0, description="plateau: epochs without val gain")
    plateau_metric: Literal["val_accuracy", "val_loss", "train_loss"] = Field(
        "val_accuracy", description="plateau: what it watches (train_loss needs no held-out images)"
    )
    warmup_epochs: int = Field(0, ge=0, description="linear warmup epochs (onecycle: its rise)")
    warmup_start: float = Field(0.1, gt=0, le=1, description="lr multiplier at the warmup's start")
    # --- augmentation (on the device, a draw per image)
    crop_padding: int = Field(4, ge=0, le=16, description="random crop after zero padding (px)")
    flip: bool = Field(True, description="random horizontal flip")
    random_resized_crop: float | None = Field(
        None,
        gt=0,
        le=1,
        description="min area of a random-resized crop (imagenet stem); null: none",
    )
    resize_to: int | None = Field(
        None,
        ge=8,
        le=1024,
        description="resize to this side, then crop image_size: a random crop in training (without "
        "random_resized_crop), the centre at evaluation (ImageNet's 256 -> 224); null: resize straight",
    )
    color_jitter: float = Field(
        0.0, ge=0, le=1, description="brightness, contrast and saturation jitter strength"
    )
    random_erasing: float = Field(0.0, ge=0, le=1, description="probability of random erasing")
    mixup_alpha: float = Field(0.0, ge=0, description="mixup Beta(alpha, alpha); 0: off")
    cutmix_alpha: float = Field(0.0, ge=0, description="cutmix Beta(alpha, alpha); 0: off")
    # --- validation (carved from the training set; the test set is read once, at the end)
    val_size: int = Field(
        0, ge=0, description="training images held out for validation (plateau on val_*, early stopping)"
    )
    val_seed: int = Field(0, ge=0, description="which images are held out (fixed per study)")
    early_stopping: int | None = Field(
        None, ge=1, description="stop after this many epochs without val gain; best weights kept"
    )
    # --- numerics
    dtype: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="auto: fp16 autocast + grad scaler on CUDA, fp32 on CPU"
    )
    compile: bool = Field(False, description="torch.compile the network, once per worker and shape")
    eval_batch_size: int = Field(1000, ge=1, description="images per evaluation batch")
    quant: dict[str, int | str] = quant_field()  # post-training, per layer: hotlap.recipes.quantize

    _quant = quant_check()

    @model_validator(mode="after")
    def _consistent(self) -> ResnetConfig:
        unknown = set(self.finetune_lr) - set(GROUPS)
        if unknown:
            raise ValueError(
                f"finetune_lr: unknown part(s) {', '.join(sorted(unknown))} (parts: {', '.join(GROUPS)})"
            )
        if any(v < 0 for v in self.finetune_lr.values()):
            raise ValueError("finetune_lr: multipliers are at least 0")
        if any(e < 1 or b < 1 for e, b in self.batch_schedule.items()):
            raise ValueError("batch_schedule: epochs and batch sizes are at least 1")
        on_val = self.scheduler == "plateau" and self.plateau_metric != "train_loss"
        if self.val_size == 0 and (on_val or self.early_stopping is not None):
            raise ValueError(
                "plateau on a validation metric and early_stopping read held-out images: give val_size > 0 "
                "(or plateau_metric=train_loss)"
            )
        if self.resize_to is not None and self.resize_to < self.input_size():
            raise ValueError(
                f"resize_to {self.resize_to} is smaller than the image_size {self.input_size()} it crops"
            )
        if self.pretrained is not None and self.stem == "cifar":
            raise ValueError("pretrained weights come with the imagenet stem: set stem=imagenet")
        return self

    def input_size(self) -> int:
        return self.image_size or (224 if self.stem == "imagenet" else 32)

    def batch_at(self, epoch: int) -> int:
        """The batch size of epoch `epoch` (0-based) under the batch schedule."""
        batch = self.batch_size
        for start in sorted(self.batch_schedule):
            if epoch + 1 >= start:
                batch = self.batch_schedule[start]
        return batch


def resolve_amp(config: ResnetConfig, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None for fp32, whether a grad scaler is needed): fp16 with a scaler
    on CUDA by default, bf16 without one, fp32 on the CPU."""
    name = config.dtype
    if name == "auto":
        name = "fp16" if device.type == "cuda" else "fp32"
    if name == "fp32":
        return None, False
    return DTYPES[name], name == "fp16" and device.type == "cuda"


# =============================================================================================
#  Network
# =============================================================================================


def make_net(config: ResnetConfig, num_classes: int = 10) -> nn.Module:
    """The torchvision model with `num_classes` outputs; the CIFAR stem replaces conv1 by a 3x3,
    stride-1 conv and drops the max-pool (the usual adaptation to 32x32 images)."""
    import torchvision

    model = getattr(torchvision.models, config.model)(num_classes=num_classes)
    if config.stem == "cifar":
        model.conv1 = nn.Conv2d(3, model.conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    return model


def build(config: ResnetConfig, num_classes: int) -> nn.Module:
    """The network a run trains: pretrained weights loaded where asked (a new head)."""
    if config.pretrained is None:
        return make_net(config, num_classes)
    model = make_net(config, 1000)
    load_pretrained(model, config.pretrained)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


@functools.lru_cache(maxsize=16)
def _check_pretrained(path: str, stamp: tuple[int, int] | None, model: str) -> None:
    load_pretrained(make_net(ResnetConfig(model=model, stem="imagenet"), 1000), path)  # type: ignore[arg-type]


def check(config: ResnetConfig, num_classes: int, train_size: int) -> None:
    """Before anything runs: the pretrained file exists and fits, and the validation split leaves
    images to train on (a one-line ConfigError)."""
    if config.pretrained is not None:  # once per file and model: a spec checks every value it sweeps
        path = Path(config.pretrained).expanduser()
        stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
        _check_pretrained(str(path), stamp, config.model)
    if config.val_size >= train_size:
        raise ConfigError(f"val_size {config.val_size} holds out all of the {train_size} training images")


# =============================================================================================
#  Optimizer and schedule
# =============================================================================================


def make_optimizer(net: nn.Module, config: ResnetConfig) -> torch.optim.Optimizer:
    multipliers = config.finetune_lr if config.pretrained is not None else {}
    groups = parameter_groups(net, multipliers, config.lr, config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, 0.999))
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)


def make_schedule(optimizer: torch.optim.Optimizer, config: ResnetConfig, steps_per_epoch: int) -> LrSchedule:
    name: SchedulerName = config.scheduler
    return LrSchedule(
        optimizer,
        name,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        gamma=config.gamma,
        step_size=config.step_size,
        milestones=config.milestones,
        plateau_factor=config.plateau_factor,
        plateau_patience=config.plateau_patience,
        plateau_mode="max" if config.plateau_metric == "val_accuracy" else "min",
        warmup_epochs=config.warmup_epochs,
        warmup_start=config.warmup_start,
    )


def split_validation(data: DeviceData, config: ResnetConfig) -> tuple[DeviceData, torch.Tensor, torch.Tensor]:
    """(the data with `val_size` training images held out, their images, their labels): a fixed
    random subset per `val_seed`, the same for every seed of a study; the test set untouched."""
    if config.val_size == 0:
        empty = data.train_images[:0]
        return data, empty, data.train_labels[:0]
    if config.val_size >= data.train_size:
        raise RunFailed(f"val_size {config.val_size} leaves none of the {data.train_size} training images")
    order = torch.randperm(data.train_size, generator=torch.Generator().manual_seed(config.val_seed))
    order = order.to(data.device)
    held, kept = order[: config.val_size], order[config.val_size :]
    train = replace(data, train_images=data.train_images[kept], train_labels=data.train_labels[kept])
    return train, data.train_images[held], data.train_labels[held]


def total_steps(config: ResnetConfig, train_size: int) -> int:
    """Optimizer steps of a run (all epochs, the batch schedule followed; early stopping may end
    it sooner): 351 per epoch on CIFAR at batch 128 with 5,000 held out, 70,200 in all."""
    size = train_size - config.val_size
    if size <= 0:
        return 0
    return sum(size // config.batch_at(epoch) for epoch in range(config.epochs))


class EarlyStopping:
    """Keeps the best validated weights; says when `patience` epochs passed without a better one."""

    def __init__(self, patience: int | None) -> None:
        self.patience, self.since = patience, 0
        self.best: tuple[float, dict[str, torch.Tensor]] | None = None

    def stop(self, val_acc: float | None, net: nn.Module) -> bool:
        if self.patience is None or val_acc is None:
            return False
        if self.best is None or val_acc > self.best[0]:
            self.best = (val_acc, {k: v.detach().clone() for k, v in net.state_dict().items()})
            self.since = 0
            return False
        self.since += 1
        return self.since >= self.patience

    def restore(self, net: nn.Module) -> None:
        if self.best is not None:  # early stopping ends on the best validated weights
            net.load_state_dict(self.best[1])
