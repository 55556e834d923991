"""resnet: torchvision ResNets on CIFAR-100 / CIFAR-10, the ordinary sweep's recipe.

Evidence for the defaults (../shared/reference/studies.md): a widely used CIFAR-100 training
repository reports top-1 ResNet-18 75.61%, ResNet-34 76.76%, ResNet-50 77.39% with 200 epochs of
SGD (lr 0.1, momentum 0.9, weight decay 5e-4, batch 128), multistep x0.2 at epochs 60/120/160, one
warmup epoch, random crop (padding 4) and horizontal flip: those are this recipe's defaults. A
course study measured 73.6-74.7% (ResNet-18) and 72.0-77.1% (ResNet-50) over lr {0.1, 0.05} x
{StepLR, ReduceLROnPlateau}, one seed each; 81% from scratch with heavy augmentation (random
erasing, mixup 0.2, cutmix 0.2, label smoothing 0.1); 85% fine-tuning ImageNet weights
progressively (stem and first two blocks at lr/4, the third at lr/2, the last and the head at lr).

The file reads top to bottom: hyperparameters, network, optimizer and schedule, augmentation,
evaluation, training. Shared pieces: hotlap.recipes.augment (batched per-image augmentation),
.schedules (the lr schedules), .finetune (pretrained weights and parameter groups), the device
loader (hotlap.data.loader). Timing: `train_time` is the training epochs (the per-epoch validation
pass excluded, as airbench's logging evaluation), `eval_time` the final test evaluation.
"""

from __future__ import annotations

import functools
import math
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.data.loader import DeviceData, DeviceLoader, make_generator
from hotlap.errors import ConfigError, RunFailed
from hotlap.metrics import Metric
from hotlap.recipes.augment import color_jitter, mix, random_erasing, random_resized_crop, resize
from hotlap.recipes.base import EpochCallback, RunResult, SourceRun, recipe
from hotlap.recipes.compiling import compiled
from hotlap.recipes.finetune import GROUPS, load_pretrained, parameter_groups
from hotlap.recipes.layers import DTYPES
from hotlap.recipes.quantize import quant_check, quant_field
from hotlap.recipes.resnet_eval import Final, amp, predict, top_k
from hotlap.recipes.schedules import LrSchedule, SchedulerName
from hotlap.timing import RegionTimer

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
    """Every hyperparameter of the resnet recipe, with the CIFAR-100 reference's defaults."""

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
    gamma: float = Field(0.2, gt=0, le=1, description="step, multistep: lr factor")
    step_size: int = Field(50, ge=1, description="step: epochs between lr x gamma")
    plateau_factor: float = Field(0.1, gt=0, lt=1, description="plateau: lr factor")
    plateau_patience: int = Field(10, ge=0, description="plateau: epochs without val gain")
    warmup_epochs: int = Field(1, ge=0, description="linear warmup epochs (onecycle: its rise)")
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
    color_jitter: float = Field(
        0.0, ge=0, le=1, description="brightness, contrast and saturation jitter strength"
    )
    random_erasing: float = Field(0.0, ge=0, le=1, description="probability of random erasing")
    mixup_alpha: float = Field(0.0, ge=0, description="mixup Beta(alpha, alpha); 0: off")
    cutmix_alpha: float = Field(0.0, ge=0, description="cutmix Beta(alpha, alpha); 0: off")
    # --- validation (carved from the training set; the test set is read once, at the end)
    val_size: int = Field(5000, ge=0, description="training images held out for validation")
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
        if self.val_size == 0 and (self.scheduler == "plateau" or self.early_stopping is not None):
            raise ValueError("plateau and early_stopping read the validation accuracy: give val_size > 0")
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


# =============================================================================================
#  Augmentation of a batch (the epoch's crop and flip come from the device loader)
# =============================================================================================


def augment(
    x: torch.Tensor,
    config: ResnetConfig,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    generator: torch.Generator,
) -> torch.Tensor:
    if config.color_jitter > 0:
        s = config.color_jitter
        x = color_jitter(x, mean, std, brightness=s, contrast=s, saturation=s, generator=generator)
    size = config.input_size()
    if config.random_resized_crop is not None:
        x = random_resized_crop(x, size, scale=(config.random_resized_crop, 1.0), generator=generator)
    else:
        x = resize(x, size)
    if config.random_erasing > 0:
        x = random_erasing(x, p=config.random_erasing, generator=generator)
    return x


# =============================================================================================
#  Evaluation: predictions, top-k, the final evaluation (hotlap.recipes.resnet_eval); memory
# =============================================================================================


def host_rss() -> int:
    """Peak resident memory of this process so far, in bytes (ru_maxrss: KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


# =============================================================================================
#  Training
# =============================================================================================

TOP5 = Metric("top5_accuracy", "", "maximize", "fraction", description="test top-5 accuracy")
VAL = Metric(
    "val_accuracy",
    "",
    "maximize",
    "fraction",
    description="validation accuracy (held-out training images) of the final network",
)


def shape_of(config: ResnetConfig) -> tuple[Any, ...]:
    """What cuDNN autotunes and compile specializes on."""
    batches = tuple(sorted({config.batch_size, *config.batch_schedule.values()}))
    return (
        config.model,
        config.stem,
        config.input_size(),
        batches,
        config.eval_batch_size,
        config.dtype,
    )


def warmup_config(config: ResnetConfig) -> ResnetConfig:
    """The executor's untimed warmup: one epoch is enough for cuDNN's autotuning."""
    return config.model_copy(
        update={
            "epochs": 1,
            "early_stopping": None,
            "warmup_epochs": 0,
            "batch_schedule": {},
            "scheduler": "none",
        }
    )


def train(
    config: ResnetConfig,
    data: DeviceData,
    seed: int,
    *,
    on_epoch: EpochCallback | None = None,
    keep_weights: bool = True,
) -> RunResult:
    """Train one seed on device-resident data; validate every epoch; test once at the end."""
    device = data.device
    amp_dtype, needs_scaler = resolve_amp(config, device)
    channels_last = device.type == "cuda"
    torch.manual_seed(seed)  # the network's init, and mixup / cutmix's draws
    generator = make_generator(seed, device)  # the data order and every per-image augmentation
    train_data, val_images, val_labels = split_validation(data, config)
    if config.stem == "imagenet":  # pretrained weights expect ImageNet's normalization
        train_data = replace(train_data, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    mean, std = train_data.mean, train_data.std

    net = build(config, data.num_classes).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    forward: Any = net
    if config.compile:  # untimed: once per worker and shape

        def exercise(compiled_forward: Any) -> None:
            for batch in sorted({config.batch_size, *config.batch_schedule.values()}):
                x = torch.zeros(batch, 3, config.input_size(), config.input_size(), device=device)
                if channels_last:  # the layout the run's batches have: no recompilation mid-run
                    x = x.contiguous(memory_format=torch.channels_last)
                with amp(device, amp_dtype):
                    compiled_forward(x).float().sum().backward()

        net, forward = compiled(
            net, ("resnet", shape_of(config), str(device), data.num_classes), exercise, device
        )
    optimizer = make_optimizer(net, config)
    scaler = torch.amp.GradScaler(device.type) if needs_scaler else None

    def loader(batch: int) -> DeviceLoader:
        return DeviceLoader(
            train_data,
            train=True,
            batch_size=batch,
            generator=generator,
            channels_last=channels_last,
            flip="random" if config.flip else "none",
            translate=config.crop_padding,
            pad="black",
        )

    batch = config.batch_at(0)
    train_loader = loader(batch)
    if len(train_loader) == 0:
        raise RunFailed(f"batch_size {batch} exceeds the {train_data.train_size} training images")
    schedule = make_schedule(optimizer, config, len(train_loader))
    timer = RegionTimer(device)
    if device.type == "cuda":  # the history's peak_memory is the run's so far (as hotlap.costs reads it)
        torch.cuda.reset_peak_memory_stats(device)
    history: list[dict[str, Any]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    since_best = 0

    for epoch in range(config.epochs):
        wanted = config.batch_at(epoch)
        if wanted != batch:  # the batch schedule: a new loader, the lr scaled with the batch
            if config.batch_lr_scaling == "linear":
                schedule.scale_base(wanted / batch)
            batch, train_loader = wanted, loader(wanted)
            train_loader.epoch = epoch
        schedule.epoch_start(epoch)
        begin = time.perf_counter()
        lr_at_start = schedule.lr
        with timer.region("train"):
            net.train()
            seen, correct, loss_sum = 0, 0.0, 0.0
            for inputs, labels in train_loader:
                x = augment(inputs, config, mean, std, generator)
                x, targets = mix(
                    x,
                    labels,
                    data.num_classes,
                    mixup_alpha=config.mixup_alpha,
                    cutmix_alpha=config.cutmix_alpha,
                )
                with amp(device, amp_dtype):
                    outputs = forward(x)
                    loss = F.cross_entropy(outputs.float(), targets, label_smoothing=config.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    if config.grad_clip is not None:
                        scaler.unscale_(optimizer)
                        nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    if config.grad_clip is not None:
                        nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
                    optimizer.step()
                schedule.batch_end()
                seen += len(labels)
                loss_sum += loss.detach() * len(labels)
                correct += (outputs.detach().argmax(1) == labels).sum()
        epoch_time = time.perf_counter() - begin
        train_loss = float(loss_sum) / max(seen, 1)
        if not math.isfinite(train_loss):
            raise RunFailed(f"non-finite training loss ({train_loss}) in epoch {epoch}")
        # Untimed: validation on the held-out training images (never the test set).
        val_acc = None
        if len(val_labels):
            val_acc = top_k(
                predict(net, val_images, train_data, config, amp_dtype, train_data.normalize, channels_last),
                val_labels,
                1,
            )
        schedule.epoch_end(val_acc)
        record = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "train_acc": float(correct) / max(seen, 1),
            "val_acc": val_acc,
            "lr": lr_at_start,
            "batch_size": batch,
            "epoch_time": epoch_time,
            "train_time": timer["train"],
            "host_rss": host_rss(),
            "peak_memory": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if config.early_stopping is not None and val_acc is not None:
            if best is None or val_acc > best[0]:
                best = (val_acc, {k: v.detach().clone() for k, v in net.state_dict().items()})
                since_best = 0
            else:
                since_best += 1
                if since_best >= config.early_stopping:
                    break
    if best is not None:  # early stopping ends on the best validated weights
        net.load_state_dict(best[1])

    artifacts: dict[str, Any] = {}
    if keep_weights:  # the trained weights (a quantized config evaluates a quantized copy)
        artifacts["model.pt"] = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    final = Final(data, train_data, val_images, val_labels, config, amp_dtype, channels_last)
    net = final.quantized(net)
    logits, metrics = final.evaluate(net, timer)
    artifacts.update(final.artifacts(logits))
    metrics.update({"train_time": timer["train"], "total_time": timer["train"] + timer["eval"]})
    return RunResult(
        seed=seed,
        metrics=metrics,
        history=history,
        precision=final.precision,
        artifacts=artifacts,
        inference=final.inference(net),
    )


# =============================================================================================
#  A trained network evaluated again (configs that differ only in EVAL_FIELDS share it)
# =============================================================================================


def evaluate(config: ResnetConfig, data: DeviceData, source: SourceRun, *, warmup: bool = True) -> RunResult:
    """Evaluate `config` on the network `source` trained (configs that differ only in EVAL_FIELDS
    share it): from its weights, quantized where the config says, timed like a training run's
    final evaluation (after one untimed pass where `warmup`). Training metrics and times are the
    source's."""
    device = data.device
    amp_dtype, _ = resolve_amp(config, device)
    channels_last = device.type == "cuda"
    train_data, val_images, val_labels = split_validation(data, config)
    if config.stem == "imagenet":
        train_data = replace(train_data, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    net = make_net(config, data.num_classes).to(device)  # a pretrained run's weights are all in its state
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    net.load_state_dict(source.state_dict())  # strict: a checkpoint of another shape is refused
    final = Final(data, train_data, val_images, val_labels, config, amp_dtype, channels_last)
    net = final.quantized(net)
    if warmup:
        final.evaluate(net, RegionTimer(device))
    timer = RegionTimer(device)
    logits, measured = final.evaluate(net, timer)
    metrics = {**source.metrics, **measured}
    if "train_time" in source.metrics:
        metrics["total_time"] = source.metrics["train_time"] + timer["eval"]
    return RunResult(
        seed=-1,
        metrics=metrics,
        history=source.history,
        precision=final.precision,
        artifacts=final.artifacts(logits),
        inference=final.inference(net),
    )


# Fields that change only the final evaluation: configs that differ in them alone train the same
# network per seed.
EVAL_FIELDS = ("quant", "eval_batch_size")


# =============================================================================================
#  Registration
# =============================================================================================

recipe(
    "resnet",
    config=ResnetConfig,
    build_model=make_net,
    total_steps=total_steps,
    summary="torchvision ResNet-18/34/50 and WRN-50-2 on CIFAR-100/10: SGD/AdamW, schedules, AMP, mixup/cutmix, fine-tuning",
    # On the 1,437 digits: ResNet-18 with the CIFAR stem at the digits' own 8x8 (an epoch in about
    # a second on 2 CPU cores), 200 held out, 5 epochs of batch 64, one of warmup, cosine from lr
    # 0.02, no crop (a 4-px crop at 32 is a 1-px one at 8): 97.2% and 94.4% (seeds 0-1), 6 s of
    # training each (2026-12-01). At lr 0.05 with the crop: 94% after 6 epochs.
    smoke={
        "image_size": 8,
        "epochs": 5,
        "batch_size": 64,
        "lr": 0.02,
        "val_size": 200,
        "scheduler": "cosine",
        "crop_padding": 0,
    },
    metrics=["accuracy", TOP5, VAL, "train_time", "eval_time", "total_time"],
    shape=shape_of,
    check=check,
    warmup=warmup_config,
    evaluate=evaluate,
    eval_fields=EVAL_FIELDS,
)(train)
