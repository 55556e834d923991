"""Batched augmentation on the device, a fresh draw per image: colour jitter, random erasing,
random-resized crops, and mixup / cutmix (torchvision.transforms.v2's, one draw per batch as they
define it). Images are normalized NCHW tensors; every random number comes from the run's
generator except mixup / cutmix's, which use torch's global one (seeded by the run)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "color_jitter",
    "erasing_boxes",
    "jittered",
    "mix",
    "random_crop",
    "random_erasing",
    "random_resized_crop",
    "resize",
]


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


# torchvision's grayscale (rgb_to_grayscale): what contrast and saturation blend towards
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)
JITTERS = ("brightness", "contrast", "saturation")  # torchvision's order of ops, hue apart
ERASING_TRIES = 10  # torchvision's RandomErasing tries this many boxes before it erases none


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
    """torchvision's ColorJitter without hue, per image: a factor per property drawn from
    [max(0, 1 - s), 1 + s] and the properties applied in an order drawn per image (torchvision
    permutes them per call), in pixel space ([0, 1]); normalized back."""
    n, device, dtype = len(images), images.device, images.dtype
    m = torch.tensor(mean, device=device, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device, dtype=torch.float32).view(1, 3, 1, 1)
    strengths = (brightness, contrast, saturation)
    order = torch.rand(n, len(JITTERS), generator=generator, device=device).argsort(dim=1)
    factors = torch.stack([_uniform(n, max(0.0, 1 - v), 1 + v, generator, device) for v in strengths], dim=1)
    x = jittered(images.float() * s + m, order, factors, on=[v > 0 for v in strengths])
    return ((x - m) / s).to(dtype)  # elementwise: the memory format (channels_last) is kept


def jittered(
    pixels: torch.Tensor, order: torch.Tensor, factors: torch.Tensor, on: Sequence[bool] = (True,) * 3
) -> torch.Tensor:
    """Images in [0, 1] with each image's brightness, contrast and saturation (`factors[:, k]` for
    JITTERS[k]) applied in its `order` (a row: a permutation of 0-2), as torchvision's
    adjust_brightness, adjust_contrast and adjust_saturation do; the ops not `on` left out."""
    weights = torch.tensor(GRAY_WEIGHTS, device=pixels.device).view(1, 3, 1, 1)

    def blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        factor = factor.view(-1, 1, 1, 1)
        return (factor * x + (1 - factor) * other).clamp(0, 1)

    ops = (
        lambda x, f: blend(x, torch.zeros_like(x), f),
        lambda x, f: blend(x, (x * weights).sum(1, keepdim=True).mean((2, 3), keepdim=True), f),
        lambda x, f: blend(x, (x * weights).sum(1, keepdim=True), f),
    )
    x = pixels
    for position in range(len(JITTERS)):
        step = order[:, position]
        for k, op in enumerate(ops):
            if on[k] and bool((step == k).any()):
                x = torch.where((step == k).view(-1, 1, 1, 1), op(x, factors[:, k]), x)
    return x


def random_erasing(
    images: torch.Tensor,
    *,
    p: float,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """torchvision's RandomErasing (value 0: the mean colour after normalization) per image: with
    probability p, the first of ERASING_TRIES boxes (area scale x the image, aspect ratio in
    `ratio`, log-uniform) that fits inside the image, at a uniform position; none where no try fits."""
    n, _, height, width = images.shape
    device = images.device
    tries = (n, ERASING_TRIES)
    area = scale[0] + (scale[1] - scale[0]) * torch.rand(tries, generator=generator, device=device)
    low, high = math.log(ratio[0]), math.log(ratio[1])
    log_ratio = low + (high - low) * torch.rand(tries, generator=generator, device=device)
    position = torch.rand(n, 2, generator=generator, device=device)
    erase = torch.rand(n, generator=generator, device=device) < p
    top, left, h, w = erasing_boxes(height, width, area, log_ratio, position, erase)
    rows = torch.arange(height, device=device).view(1, -1)
    cols = torch.arange(width, device=device).view(1, -1)
    row_mask = (rows >= top[:, None]) & (rows < (top + h)[:, None])
    col_mask = (cols >= left[:, None]) & (cols < (left + w)[:, None])
    mask = row_mask[:, :, None] & col_mask[:, None, :]
    return images.masked_fill(mask[:, None], 0)


def erasing_boxes(
    height: int,
    width: int,
    area: torch.Tensor,
    log_ratio: torch.Tensor,
    position: torch.Tensor,
    erase: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(top, left, h, w) per image, torchvision's RandomErasing.get_params batched: each try's box
    from its `area` share and `log_ratio` (n x tries), h = round(sqrt(area x aspect)) and w =
    round(sqrt(area / aspect)) in pixels; the first try with h < height and w < width is taken,
    placed at `position` (n x 2 uniforms in [0, 1): the row, the column); h = w = 0 where no try
    fits or `erase` is false."""
    # in float64 from the float32 draws, rounded half to even: torchvision's Python arithmetic
    pixels = area.double() * (height * width)
    aspect = torch.exp(log_ratio).double()
    h = torch.round(torch.sqrt(pixels * aspect)).long()
    w = torch.round(torch.sqrt(pixels / aspect)).long()
    fits = (h < height) & (w < width)
    first = fits.long().argmax(dim=1, keepdim=True)  # the first try that fits (0 where none does)
    h, w = h.gather(1, first).squeeze(1), w.gather(1, first).squeeze(1)
    chosen = erase & fits.any(dim=1)
    h, w = torch.where(chosen, h, 0), torch.where(chosen, w, 0)
    top = (position[:, 0] * (height - h + 1)).floor().long().clamp(max=height - 1)
    left = (position[:, 1] * (width - w + 1)).floor().long().clamp(max=width - 1)
    return top, left, h, w


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


def resize(images: torch.Tensor, size: int, *, first: int | None = None) -> torch.Tensor:
    """The whole image resized to size x size (bilinear): the evaluation's view of a small image
    for a network pretrained at another resolution. With `first`, resized to first x first and its
    centre size x size taken (torchvision's Resize(first) and CenterCrop(size): ImageNet's view)."""
    if first is not None:
        top = round((first - size) / 2.0)  # CenterCrop's
        resized = resize(images, first)
        return _same_format(resized[..., top : top + size, top : top + size], images)
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False).to(
        images.dtype
    )


def random_crop(images: torch.Tensor, size: int, *, generator: torch.Generator) -> torch.Tensor:
    """torchvision's RandomCrop(size) per image (no padding): a size x size window at a position
    drawn uniformly per image."""
    n, _, height, width = images.shape
    device = images.device
    top = (torch.rand(n, generator=generator, device=device) * (height - size + 1)).floor().long()
    left = (torch.rand(n, generator=generator, device=device) * (width - size + 1)).floor().long()
    span = torch.arange(size, device=device)
    rows = (top[:, None] + span).view(n, 1, size, 1).expand(n, images.shape[1], size, width)
    picked = images.gather(2, rows)
    cols = (left[:, None] + span).view(n, 1, 1, size).expand(n, images.shape[1], size, size)
    return _same_format(picked.gather(3, cols), images)


def _same_format(images: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`images` contiguous in `like`'s memory format (channels_last where it was)."""
    last = like.dim() == 4 and like.is_contiguous(memory_format=torch.channels_last)
    return images.contiguous(memory_format=torch.channels_last if last else torch.contiguous_format)


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
