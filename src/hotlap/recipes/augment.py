"""Batched augmentation on the device, a fresh draw per image: colour jitter, random erasing,
random-resized crops, and mixup / cutmix (torchvision.transforms.v2's, one draw per batch as they
define it). Images are normalized NCHW tensors; every random number comes from the run's
generator except mixup / cutmix's, which use torch's global one (seeded by the run)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["color_jitter", "mix", "random_erasing", "random_resized_crop", "resize"]


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


def color_jitter(
    images: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    brightness: float,
    contrast: float,
    saturation: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """torchvision's ColorJitter without hue, a factor per image and property drawn from
    [1 - s, 1 + s], applied in pixel space ([0, 1]) in its order (brightness, contrast,
    saturation), clamped to [0, 1], and normalized back."""
    n, device, dtype = len(images), images.device, images.dtype
    m = torch.tensor(mean, device=device, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device, dtype=torch.float32).view(1, 3, 1, 1)
    x = images.float() * s + m
    gray_weights = torch.tensor((0.299, 0.587, 0.114), device=device).view(1, 3, 1, 1)
    if brightness > 0:
        x = (x * _uniform(n, 1 - brightness, 1 + brightness, generator, device).view(-1, 1, 1, 1)).clamp(0, 1)
    if contrast > 0:
        factor = _uniform(n, 1 - contrast, 1 + contrast, generator, device).view(-1, 1, 1, 1)
        gray_mean = (x * gray_weights).sum(1, keepdim=True).mean((2, 3), keepdim=True)
        x = (factor * x + (1 - factor) * gray_mean).clamp(0, 1)
    if saturation > 0:
        factor = _uniform(n, 1 - saturation, 1 + saturation, generator, device).view(-1, 1, 1, 1)
        gray = (x * gray_weights).sum(1, keepdim=True)
        x = (factor * x + (1 - factor) * gray).clamp(0, 1)
    return ((x - m) / s).to(dtype)  # elementwise: the memory format (channels_last) is kept


def random_erasing(
    images: torch.Tensor,
    *,
    p: float,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """torchvision's RandomErasing (value 0: the mean colour after normalization) per image: with
    probability p, a rectangle of area scale x the image and aspect ratio in `ratio` (log-uniform)."""
    n, _, height, width = images.shape
    device = images.device
    area = _uniform(n, *scale, generator, device) * height * width
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator, device)
    aspect = torch.exp(log_ratio)
    h = torch.sqrt(area * aspect).round().clamp(1, height).long()
    w = torch.sqrt(area / aspect).round().clamp(1, width).long()
    top = (torch.rand(n, generator=generator, device=device) * (height - h + 1)).floor().long()
    left = (torch.rand(n, generator=generator, device=device) * (width - w + 1)).floor().long()
    erase = torch.rand(n, generator=generator, device=device) < p
    rows = torch.arange(height, device=device).view(1, -1)
    cols = torch.arange(width, device=device).view(1, -1)
    row_mask = (rows >= top[:, None]) & (rows < (top + h)[:, None])
    col_mask = (cols >= left[:, None]) & (cols < (left + w)[:, None])
    mask = row_mask[:, :, None] & col_mask[:, None, :] & erase[:, None, None]
    return images.masked_fill(mask[:, None], 0)


def random_resized_crop(
    images: torch.Tensor,
    size: int,
    *,
    scale: tuple[float, float],
    generator: torch.Generator,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> torch.Tensor:
    """torchvision's RandomResizedCrop per image in one batched call (torchvision.ops.roi_align,
    bilinear): a box of area scale x the image and aspect ratio in `ratio` (log-uniform), resized
    to size x size."""
    from torchvision.ops import roi_align

    n, _, height, width = images.shape
    device = images.device
    area = _uniform(n, *scale, generator, device) * height * width
    aspect = torch.exp(_uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator, device))
    w = torch.sqrt(area * aspect).clamp(1, width)
    h = torch.sqrt(area / aspect).clamp(1, height)
    left = torch.rand(n, generator=generator, device=device) * (width - w)
    top = torch.rand(n, generator=generator, device=device) * (height - h)
    boxes = torch.stack([torch.arange(n, device=device, dtype=left.dtype), left, top, left + w, top + h], 1)
    out = roi_align(
        images.float(), boxes, output_size=size, spatial_scale=1.0, sampling_ratio=2, aligned=True
    )
    return out.to(images.dtype)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """The whole image resized to size x size (bilinear): the evaluation's view of a small image
    for a network pretrained at another resolution."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False).to(
        images.dtype
    )


def mix(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int, *, mixup_alpha: float, cutmix_alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision.transforms.v2's MixUp and CutMix (one chosen at random per batch where both
    alphas are set): the images mixed and the labels as soft targets (rows summing to 1)."""
    from torchvision.transforms import v2

    chosen = []
    if mixup_alpha > 0:
        chosen.append(v2.MixUp(alpha=mixup_alpha, num_classes=num_classes))
    if cutmix_alpha > 0:
        chosen.append(v2.CutMix(alpha=cutmix_alpha, num_classes=num_classes))
    if not chosen:
        return images, labels
    transform = chosen[0] if len(chosen) == 1 else v2.RandomChoice(chosen)
    return transform(images, labels)  # type: ignore[no-any-return]
