"""The resnet recipe's evaluation: predictions batch by batch (autocast, resized for the imagenet
stem), top-k accuracy, and the final evaluation of a trained network (the test set once, timed;
the validation split; its post-training quantization), shared by a run and by `evaluate`, which
evaluates a trained network again."""

from __future__ import annotations

import contextlib
import resource
import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hotlap.data.loader import DeviceData
from hotlap.recipes.augment import resize
from hotlap.recipes.base import Inference
from hotlap.recipes.layers import DTYPES
from hotlap.recipes.quantize import CALIBRATION_IMAGES, quantized_copy
from hotlap.timing import RegionTimer

__all__ = ["Final", "amp", "host_rss", "predict", "top_k", "validate"]


def amp(device: torch.device, dtype: torch.dtype | None) -> Any:
    """Autocast to `dtype` on the device; nothing for fp32 (None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def predict(
    net: nn.Module,
    images: torch.Tensor,
    data: DeviceData,
    config: Any,
    dtype: torch.dtype | None,
    normalize: Any,
    channels_last: bool,
) -> torch.Tensor:
    """Logits of uint8 images, batch by batch, in eval mode (resized for the imagenet stem)."""
    net.eval()
    out = []
    with torch.no_grad(), amp(data.device, dtype):
        for start in range(0, len(images), config.eval_batch_size):
            x = resize(
                normalize(images[start : start + config.eval_batch_size], torch.float32, channels_last),
                config.input_size(),
                first=config.resize_to,
            )
            out.append(net(x).float())
    return torch.cat(out) if out else torch.empty(0, data.num_classes, device=data.device)


def host_rss() -> int:
    """Peak resident memory of this process so far, in bytes (ru_maxrss: KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def validate(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    train_data: DeviceData,
    config: Any,
    amp_dtype: torch.dtype | None,
    channels_last: bool,
) -> tuple[float | None, float | None]:
    """(accuracy, loss) on the held-out training images (None, None: none held out)."""
    import torch.nn.functional as F

    if not len(labels):
        return None, None
    logits = predict(net, images, train_data, config, amp_dtype, train_data.normalize, channels_last)
    return top_k(logits, labels, 1), F.cross_entropy(logits.float(), labels).item()


def top_k(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == labels[:, None]).any(1).float().mean().item()


@dataclass(frozen=True)
class Final:
    """The final evaluation of a trained network: the test set (timed), the validation split."""

    data: DeviceData
    train_data: DeviceData  # the training images kept (its normalization: ImageNet's for that stem)
    val_images: torch.Tensor
    val_labels: torch.Tensor
    config: Any
    amp_dtype: torch.dtype | None
    channels_last: bool

    @property
    def precision(self) -> str:
        return "fp32" if self.amp_dtype is None else {v: k for k, v in DTYPES.items()}[self.amp_dtype]

    def predict(self, net: nn.Module, images: torch.Tensor) -> torch.Tensor:
        return predict(
            net,
            images,
            self.train_data,
            self.config,
            self.amp_dtype,
            self.train_data.normalize,
            self.channels_last,
        )

    def quantized(self, net: nn.Module) -> nn.Module:
        """Untimed: the config's post-training quantization of a copy (integer inputs calibrated on
        the first training images), or the network itself."""
        size = self.config.input_size()
        return quantized_copy(
            net,
            self.config.quant,
            lambda: resize(
                self.train_data.normalize(
                    self.train_data.train_images[:CALIBRATION_IMAGES], torch.float32, self.channels_last
                ),
                size,
                first=self.config.resize_to,
            ),
            self.config.eval_batch_size,
        )

    def evaluate(self, net: nn.Module, timer: RegionTimer) -> tuple[torch.Tensor, dict[str, float]]:
        """The test set's logits (timed: `eval`), top-1 and top-5 accuracy, and the validation
        split's accuracy where there is one (untimed)."""
        with timer.region("eval"):  # timed: the test set, once
            logits = self.predict(net, self.data.test_images)
            top1, top5 = (
                top_k(logits, self.data.test_labels, 1),
                top_k(logits, self.data.test_labels, 5),
            )
        metrics = {"accuracy": top1, "top5_accuracy": top5, "eval_time": timer["eval"]}
        if len(self.val_labels):
            metrics["val_accuracy"] = top_k(self.predict(net, self.val_images), self.val_labels, 1)
        return logits, metrics

    def artifacts(self, logits: torch.Tensor) -> dict[str, Any]:
        return {
            "logits.npy": logits.half().cpu(),
            "labels.npy": self.data.test_labels.to(torch.int16).cpu(),
        }

    def inference(self, net: nn.Module) -> Inference:
        device, amp_dtype, size = self.data.device, self.amp_dtype, self.config.input_size()

        def infer(batch: torch.Tensor) -> torch.Tensor:  # as the test set is evaluated
            net.eval()
            with amp(device, amp_dtype):
                return net(resize(batch, size, first=self.config.resize_to)).float()

        example = self.train_data.normalize(self.data.test_images[:1], torch.float32, self.channels_last)
        return Inference(infer, example, self.config.eval_batch_size, self.channels_last)
