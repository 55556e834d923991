"""The airbench family's evaluation: the per-epoch record with its untimed logging evaluation, the
final evaluation with test-time augmentation (timed as the reference counts it) and the run's
result, the post-training quantized copy, and a trained network evaluated again (configs that
differ only in EVAL_FIELDS share one training per seed). The views and their weights are
hotlap.recipes.tta's."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hotlap.data.loader import DeviceData
from hotlap.errors import RunFailed
from hotlap.recipes.base import RunResult, SourceRun
from hotlap.recipes.layers import DTYPES, prepare_net, resolve_dtype
from hotlap.recipes.quantize import CALIBRATION_IMAGES, quantized_copy
from hotlap.recipes.tta import (
    accuracy,
    combine_views,
    predict_views,
    reweighted,
    tta_inference,
    tta_view_weights,
)
from hotlap.timing import RegionTimer

__all__ = [
    "EVAL_FIELDS",
    "epoch_record",
    "evaluate",
    "final_evaluation",
    "finished_run",
    "inference_of",
    "logged_accuracy",
    "quantized",
    "view_artifacts",
]

NetBuilder = Callable[[Any, int], nn.Module]  # (config, num_classes) -> the family member's network


def quantized(net: nn.Module, data: DeviceData, config: Any) -> nn.Module:
    """Untimed: the trained network under the config's post-training quantization (a copy: the
    trained one stays as it is; integer inputs calibrated on the first training images), or the
    network itself where `quant` is {}."""
    dtype = resolve_dtype(config, data.device)
    channels_last = data.device.type == "cuda"
    return quantized_copy(
        net,
        config.quant,
        lambda: data.normalize(data.train_images[:CALIBRATION_IMAGES], dtype, channels_last),
        config.eval_batch_size,
    )


def final_evaluation(
    net: nn.Module, data: DeviceData, config: Any, timer: RegionTimer
) -> tuple[torch.Tensor, float]:
    """Timed: the final evaluation with TTA, normalizing the test set included, as the reference
    counts it. Returns every view's logits and the TTA accuracy."""
    dtype = resolve_dtype(config, data.device)
    with timer.region("eval"):
        images = data.normalize(data.test_images, dtype, data.device.type == "cuda")
        logits = predict_views(net, images, config.tta_level, config.eval_batch_size)
        weights = tta_view_weights(config.tta_level, config.tta_untranslated_weight)
        tta_acc = accuracy(combine_views(logits, weights), data.test_labels)
    return logits, tta_acc


def evaluate(
    config: Any,
    data: DeviceData,
    source: SourceRun,
    *,
    warmup: bool = True,
    build_net: NetBuilder,
) -> RunResult:
    """Evaluate `config` on the network `source` trained (configs that differ only in EVAL_FIELDS
    share it). Another weighting of the same views is computed from the source's stored logits;
    anything else runs the network again from its weights, timed like a training run's final
    evaluation (after one untimed pass that absorbs cuDNN autotuning). Training metrics and times
    are the source's. `build_net` makes the family member's network."""
    dtype = resolve_dtype(config, data.device)
    precision = {v: k for k, v in DTYPES.items()}[dtype]
    metrics = reweighted(config, source, lambda: data.test_labels)  # stored labels: no dataset loaded
    if metrics is not None:
        return RunResult(seed=-1, metrics=metrics, history=source.history, precision=precision, timed=False)
    net = prepare_net(build_net(config, data.num_classes), data.device, dtype)
    net.load_state_dict(source.state_dict())  # strict: a checkpoint of another shape is refused
    net = quantized(net, data, config)
    if warmup:
        final_evaluation(net, data, config, RegionTimer(data.device))
    timer = RegionTimer(data.device)
    logits, tta_acc = final_evaluation(net, data, config, timer)
    measured = {
        "accuracy": accuracy(logits[0], data.test_labels),
        "tta_accuracy": tta_acc,
        "eval_time": timer["eval"],
    }
    if "train_time" in source.metrics:
        measured["total_time"] = source.metrics["train_time"] + timer["eval"]
    return RunResult(
        inference=inference_of(net, data, config),
        seed=-1,
        metrics={**source.metrics, **measured},
        history=source.history,
        precision=precision,
        artifacts=view_artifacts(logits, data.test_labels),
    )


def inference_of(net: nn.Module, data: DeviceData, config: Any) -> Any:
    """How the trained network runs for inference, with its TTA (the worker times it, untimed)."""
    channels_last = data.device.type == "cuda"
    example = data.normalize(data.test_images[:1], resolve_dtype(config, data.device), channels_last)
    return tta_inference(
        net, config.tta_level, config.tta_untranslated_weight, example, config.eval_batch_size, channels_last
    )


def view_artifacts(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """Every TTA view's logits (fp16) and the labels: offline re-weighting needs no GPU."""
    return {"logits.npy": logits.half().cpu(), "labels.npy": labels.to(torch.int16).cpu()}


# Fields that change only the final evaluation: configs that differ in them alone train the same
# network per seed.
EVAL_FIELDS = ("tta_level", "tta_untranslated_weight", "eval_batch_size", "quant")


def logged_accuracy(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: Any,
    epoch: int,
    every: int,
    last: bool | None = None,
) -> float | None:
    """The per-epoch logging evaluation (untimed, as the reference's): the test accuracy without
    TTA after every `every`th epoch and after the last (`every` 0: the last only; `last`: by
    default the config's last epoch); None between. It never changes the training: a sweep judges
    the final evaluation and may leave it out."""
    if last is None:
        last = epoch + 1 >= math.ceil(config.epochs)
    if not last and (every <= 0 or (epoch + 1) % every):
        return None
    return accuracy(predict_views(net, images, 0, config.eval_batch_size)[0], labels)


def epoch_record(
    epoch: int,
    steps: int,
    loss: torch.Tensor,
    outputs: torch.Tensor,
    labels: torch.Tensor,
    val_acc: Any,
    timer: Any,
) -> dict[str, Any]:
    """An epoch's record from its last batch (untimed): the mean training loss and accuracy of that
    batch, the logging evaluation's accuracy, the train time so far. A non-finite loss fails the
    run."""
    train_loss = loss.item() / len(labels)
    if not math.isfinite(train_loss):
        raise RunFailed(f"non-finite training loss ({train_loss}) in epoch {epoch}")
    return {
        "epoch": epoch + 1,
        "steps": steps,
        "train_loss": train_loss,
        "train_acc": accuracy(outputs.detach().float(), labels),
        "val_acc": val_acc,
        "train_time": timer["train"],
    }


def finished_run(
    net: nn.Module,
    data: DeviceData,
    config: Any,
    timer: RegionTimer,
    history: list[dict[str, Any]],
    seed: int,
    keep_weights: bool,
) -> RunResult:
    """The end of a family member's run: its trained weights kept (where asked), the quantized copy
    (untimed), the final evaluation with TTA (timed), every view's logits, and the metrics."""
    trained = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()} if keep_weights else None
    net = quantized(net, data, config)  # untimed; the weights kept are the trained ones
    logits, tta_acc = final_evaluation(net, data, config, timer)
    artifacts = view_artifacts(logits, data.test_labels)
    if trained is not None:
        artifacts["model.pt"] = trained
    dtype = resolve_dtype(config, data.device)
    return RunResult(
        inference=inference_of(net, data, config),
        seed=seed,
        metrics={
            "tta_accuracy": tta_acc,
            "accuracy": accuracy(logits[0], data.test_labels) if config.quant else history[-1]["val_acc"],
            "train_time": timer["train"],
            "eval_time": timer["eval"],
            "total_time": timer["train"] + timer["eval"],
        },
        history=history,
        precision={v: k for k, v in DTYPES.items()}[dtype],
        artifacts=artifacts,
    )
