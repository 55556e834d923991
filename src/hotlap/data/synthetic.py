"""Random CIFAR-shaped data of any size, for throughput measurements (nothing to learn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hotlap.data.base import Dataset, register_dataset

DATA_SEED = 0  # the images are fixed, so throughput runs see the same data every time


def make_synthetic(train_size: int = 50_000, test_size: int = 10_000, num_classes: int = 10) -> Dataset:
    rng = np.random.default_rng(DATA_SEED)
    return Dataset(
        name="synthetic",
        train_images=rng.integers(0, 256, size=(train_size, 32, 32, 3), dtype=np.uint8),
        train_labels=rng.integers(0, num_classes, size=train_size, dtype=np.int64),
        test_images=rng.integers(0, 256, size=(test_size, 32, 32, 3), dtype=np.uint8),
        test_labels=rng.integers(0, num_classes, size=test_size, dtype=np.int64),
        num_classes=num_classes,
        mean=(0.5, 0.5, 0.5),
        std=(0.2887, 0.2887, 0.2887),  # std of a uniform distribution on [0, 1]
    )


@register_dataset(
    "synthetic",
    train_size=50_000,
    test_size=10_000,
    num_classes=10,
    sized=True,
    summary="random CIFAR-shaped images and labels; `synthetic:N` for N train (N/5 test) images",
)
def synthetic(data_dir: Path, size: int | None = None) -> Dataset:
    if size is None:
        return make_synthetic()
    return make_synthetic(train_size=size, test_size=max(1, size // 5))
