"""Device-resident data in the airbench style.

The whole uint8 dataset sits on the device once per process (`DeviceData`). Each run builds a
`DeviceLoader` over it: the loader normalizes the set on its first epoch, then makes every epoch's
augmented copy with a few whole-set tensor operations (flip, translate by cropping a reflect-padded
copy, cutout) and yields shuffled batches by indexing. All randomness comes from one
`torch.Generator` seeded with the run's seed, so a run is reproducible from (config, seed) on the
same device.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

import torch
import torch.nn.functional as F

from hotlap.data.base import Dataset

__all__ = ["DeviceData", "DeviceLoader", "batch_crop", "cyclic_offsets", "make_generator"]

FlipMode = Literal["alternating", "random", "none"]
TranslateSchedule = Literal["random", "cyclic"]
PadMode = Literal["reflect", "black"]


def make_generator(seed: int, device: torch.device | str) -> torch.Generator:
    """A generator on `device` seeded with `seed`: the only source of a loader's randomness."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(seed)
    return generator


@dataclass(frozen=True, eq=False)
class DeviceData:
    """A dataset moved to a device once: uint8 NCHW images, int64 labels."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_dataset(cls, dataset: Dataset, device: torch.device | str) -> DeviceData:
        def images(array):  # type: ignore[no-untyped-def]
            return torch.from_numpy(array).to(device).permute(0, 3, 1, 2).contiguous()

        def labels(array):  # type: ignore[no-untyped-def]
            return torch.from_numpy(array).to(device=device, dtype=torch.int64)

        return cls(
            name=dataset.name,
            train_images=images(dataset.train_images),
            train_labels=labels(dataset.train_labels),
            test_images=images(dataset.test_images),
            test_labels=labels(dataset.test_labels),
            num_classes=dataset.num_classes,
            mean=dataset.mean,
            std=dataset.std,
        )

    @property
    def device(self) -> torch.device:
        return self.train_images.device

    @property
    def train_size(self) -> int:
        return len(self.train_labels)

    def with_random_labels(self, seed: int) -> DeviceData:
        """The same images with random labels: the warmup run trains on these."""
        generator = make_generator(seed, self.device)
        size = (self.train_size,)
        labels = torch.randint(0, self.num_classes, size, generator=generator, device=self.device)
        return replace(self, train_labels=labels)

    def normalize(
        self, images: torch.Tensor, dtype: torch.dtype = torch.float32, channels_last: bool = False
    ) -> torch.Tensor:
        """uint8 NCHW -> (x / 255 - mean) / std in `dtype`."""
        mean = torch.tensor(self.mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, 3, 1, 1)
        out = ((images.float() / 255.0 - mean) / std).to(dtype)
        if channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out


def cyclic_offsets(radius: int) -> list[tuple[int, int]]:
    """The fixed list of (dy, dx) offsets that the `cyclic` translate schedule walks through.

    All (2r+1)^2 offsets, (0, 0) first, the rest in a fixed shuffled order so that any run of
    consecutive epochs covers the square evenly rather than sweeping it row by row.
    """
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    offsets.remove((0, 0))
    random.Random(0).shuffle(offsets)
    return [(0, 0), *offsets]


def batch_crop(padded: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Crop a `size` window from each padded image, shifted by its (dy, dx) row of `offsets`.

    Two passes of masked copies (rows, then columns), 2(2r+1) copies in all: fast on GPUs,
    where a per-image gather index would cost as much memory as the images.
    """
    radius = (padded.shape[-1] - size) // 2
    n, c = padded.shape[:2]
    fmt = torch.channels_last if padded.is_contiguous(memory_format=torch.channels_last) else None
    kwargs = {"memory_format": fmt} if fmt is not None else {}
    rows = torch.empty((n, c, size, padded.shape[-1]), dtype=padded.dtype, device=padded.device, **kwargs)
    for dy in range(-radius, radius + 1):
        mask = offsets[:, 0] == dy
        rows[mask] = padded[mask, :, radius + dy : radius + dy + size, :]
    out = torch.empty((n, c, size, size), dtype=padded.dtype, device=padded.device, **kwargs)
    for dx in range(-radius, radius + 1):
        mask = offsets[:, 1] == dx
        out[mask] = rows[mask, :, :, radius + dx : radius + dx + size]
    return out


class DeviceLoader:
    """Yields (inputs, labels) batches of a device-resident set, augmented per epoch.

    flip: `alternating` (each image's orientation is drawn once, then the whole set is mirrored
    on every odd epoch, so each image is seen both ways on consecutive epochs), `random` (a fresh
    coin per image per epoch) or `none`. translate: shift by up to `translate` px, reading from
    a padded copy (`pad`: reflect, airbench's; or black, the padding of torchvision's RandomCrop
    before normalization); `random` draws an offset per image per epoch, `cyclic` applies one
    offset to the whole set, taken from `cyclic_offsets` in turn epoch by epoch. cutout: zero a
    random `cutout` x `cutout` square inside each image.
    """

    def __init__(
        self,
        data: DeviceData,
        *,
        train: bool,
        batch_size: int,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = False,
        flip: FlipMode = "none",
        translate: int = 0,
        translate_schedule: TranslateSchedule = "random",
        cutout: int = 0,
        pad: PadMode = "reflect",
        shuffle: bool | None = None,
        drop_last: bool | None = None,
    ) -> None:
        self.data = data
        self.images = data.train_images if train else data.test_images
        self.labels = data.train_labels if train else data.test_labels
        self.batch_size = batch_size
        self.generator = generator
        self.dtype = dtype
        self.channels_last = channels_last
        self.flip = flip
        self.translate = translate
        self.translate_schedule = translate_schedule
        self.cutout = cutout
        self.pad = pad
        self.shuffle = train if shuffle is None else shuffle
        self.drop_last = train if drop_last is None else drop_last
        self.epoch = 0
        # Filled on the first epoch, inside the timed region, as the reference does.
        self._normalized: torch.Tensor | None = None
        self._base: torch.Tensor | None = None  # normalized, pre-flipped, padded
        self._base_flip: torch.Tensor | None = None
        # What the last epoch did, for inspection and tests.
        self.last_flip_mask: torch.Tensor | None = None
        self.last_offsets: torch.Tensor | None = None

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def normalized(self) -> torch.Tensor:
        """The whole set, normalized once and kept."""
        if self._normalized is None:
            self._normalized = self.data.normalize(self.images, self.dtype, self.channels_last)
        return self._normalized

    def _coin(self, n: int) -> torch.Tensor:
        return torch.rand(n, generator=self.generator, device=self.images.device) < 0.5

    def _prepare(self) -> torch.Tensor:
        if self._base is None:
            images = self.normalized()
            if self.flip == "alternating":
                self._base_flip = self._coin(len(images))
                images = torch.where(self._base_flip.view(-1, 1, 1, 1), images.flip(-1), images)
            if self.translate > 0 and self.pad == "reflect":
                images = F.pad(images, (self.translate,) * 4, mode="reflect")
            elif self.translate > 0:  # black borders, as RandomCrop(padding=...) before Normalize
                black = self.data.normalize(
                    torch.zeros(1, 3, 1, 1, dtype=torch.uint8, device=images.device), images.dtype
                )
                images = F.pad(images - black, (self.translate,) * 4) + black
            self._base = images
        return self._base

    def augmented_epoch(self) -> torch.Tensor:
        """The next epoch's augmented copy of the whole set (advances the epoch counter)."""
        images = self._prepare()
        n, size, radius = len(images), self.images.shape[-1], self.translate
        device = self.images.device
        if radius > 0:
            if self.translate_schedule == "cyclic":
                cycle = cyclic_offsets(radius)
                dy, dx = cycle[self.epoch % len(cycle)]
                offsets = torch.tensor([[dy, dx]], device=device).expand(n, 2)
                images = images[:, :, radius + dy : radius + dy + size, radius + dx : radius + dx + size]
            else:
                offsets = torch.randint(-radius, radius + 1, (n, 2), generator=self.generator, device=device)
                images = batch_crop(images, offsets, size)
            self.last_offsets = offsets
        if self.flip == "alternating":
            assert self._base_flip is not None
            odd = self.epoch % 2 == 1
            if odd:
                images = images.flip(-1)
            self.last_flip_mask = self._base_flip ^ odd
        elif self.flip == "random":
            mask = self._coin(n)
            images = torch.where(mask.view(-1, 1, 1, 1), images.flip(-1), images)
            self.last_flip_mask = mask
        if self.cutout > 0:
            images = self._apply_cutout(images)
        self.epoch += 1
        return images

    def _apply_cutout(self, images: torch.Tensor) -> torch.Tensor:
        n, _, height, width = images.shape
        size, device = self.cutout, images.device
        top = torch.randint(0, height - size + 1, (n, 1), generator=self.generator, device=device)
        left = torch.randint(0, width - size + 1, (n, 1), generator=self.generator, device=device)
        rows = torch.arange(height, device=device).view(1, -1)
        cols = torch.arange(width, device=device).view(1, -1)
        row_mask = (rows >= top) & (rows < top + size)
        col_mask = (cols >= left) & (cols < left + size)
        mask = (row_mask[:, :, None] & col_mask[:, None, :])[:, None]
        return images.masked_fill(mask, 0)

    def _order(self, n: int) -> torch.Tensor:
        if self.shuffle:
            return torch.randperm(n, generator=self.generator, device=self.images.device)
        return torch.arange(n, device=self.images.device)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images = self.augmented_epoch()
        indices = self._order(len(images))
        for i in range(len(self)):
            batch = indices[i * self.batch_size : (i + 1) * self.batch_size]
            yield images[batch], self.labels[batch]

    def stream(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Full batches without end, epoch after epoch: a batch that reaches the end of an epoch
        takes the rest of its examples from the start of the next one (each epoch with its own
        augmentation and order), so no example is dropped (airbench96_faster's loader)."""
        parts: list[tuple[torch.Tensor, torch.Tensor]] = []
        pending = 0
        while True:
            images = self.augmented_epoch()
            indices = self._order(len(images))
            start = 0
            while start < len(indices):
                take = indices[start : start + self.batch_size - pending]
                parts.append((images[take], self.labels[take]))
                pending += len(take)
                start += len(take)
                if pending == self.batch_size:
                    if len(parts) == 1:
                        yield parts[0]
                    else:
                        yield torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
                    parts, pending = [], 0
