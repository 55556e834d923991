"""The handwritten digits that ship with scikit-learn, shaped like CIFAR.

1,797 real 8x8 grey images of the digits 0-9 (UCI optical recognition set), scaled to 32x32 by
pixel replication and repeated over 3 channels so every CIFAR recipe runs on them unchanged. The
train/test split is fixed and stratified (80/20, split seed 0): 1,437 train, 360 test. This is the
real data that CPU tests and the demo train on.

The first load builds them with scikit-learn (whose import alone takes seconds) and keeps the
arrays in `<data dir>/digits-v1.npz`; later loads read that file. A cache that cannot be written
(a read-only data dir) or read back (damaged) is built again, silently.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path

import numpy as np

from hotlap.data.base import Dataset, register_dataset
from hotlap.io import atomic_write

CACHE = "digits-v1.npz"  # v2 if what is built ever changes
ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")
SHAPES = {
    "train_images": (1437, 32, 32, 3),
    "train_labels": (1437,),
    "test_images": (360, 32, 32, 3),
    "test_labels": (360,),
}
DTYPES = {k: np.dtype(np.uint8 if k.endswith("images") else np.int64) for k in ARRAYS}
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
    cache = data_dir / CACHE
    found = _cached(cache)
    if found is not None:
        return found
    dataset = _built()
    with contextlib.suppress(OSError):
        data_dir.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(dataset, k) for k in ARRAYS}
        atomic_write(cache, lambda handle: np.savez(handle, **arrays))
    return dataset


def _cached(path: Path) -> Dataset | None:
    """The digits from their cache file; None where it is missing or not what `_built` wrote."""
    try:
        with np.load(path, allow_pickle=False) as found:
            arrays = {k: found[k] for k in ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    shapes = {k: v.shape for k, v in arrays.items()}
    if shapes != SHAPES or any(arrays[k].dtype != t for k, t in DTYPES.items()):
        return None
    return _dataset(**arrays)


def _built() -> Dataset:
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
    return _dataset(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def _dataset(
    train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray, test_labels: np.ndarray
) -> Dataset:
    pixels = train_images.astype(np.float64) / 255.0
    mean = float(pixels.mean())
    std = float(pixels.std())
    return Dataset(
        name="digits",
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=10,
        mean=(mean, mean, mean),
        std=(std, std, std),
    )
