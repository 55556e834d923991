"""The handwritten digits that ship with scikit-learn, shaped like CIFAR.

1,797 real 8x8 grey images of the digits 0-9 (UCI optical recognition set), scaled to 32x32 by
pixel replication and repeated over 3 channels so every CIFAR recipe runs on them unchanged. The
train/test split is fixed and stratified (80/20, split seed 0): 1,437 train, 360 test. This is the
real data that CPU tests and the demo train on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hotlap.data.base import Dataset, register_dataset

SPLIT_SEED = 0  # fixed: the split is part of the dataset's definition, not of a run
TEST_FRACTION = 0.2


@register_dataset(
    "digits",
    train_size=1437,
    test_size=360,
    num_classes=10,
    summary="scikit-learn's 1,797 handwritten digits, upscaled to 3x32x32 (no download)",
)
def digits(data_dir: Path) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    # Pixel values are 0..16; map to 0..255, replicate each pixel 4x4, repeat over RGB.
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    images = images.repeat(4, axis=1).repeat(4, axis=2)
    images = np.ascontiguousarray(np.repeat(images[..., None], 3, axis=-1))
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    pixels = images[train_idx].astype(np.float64) / 255.0
    mean = float(pixels.mean())
    std = float(pixels.std())
    return Dataset(
        name="digits",
        train_images=images[train_idx],
        train_labels=labels[train_idx],
        test_images=images[test_idx],
        test_labels=labels[test_idx],
        num_classes=10,
        mean=(mean, mean, mean),
        std=(std, std, std),
    )
