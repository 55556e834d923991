"""Datasets as plain uint8 arrays, and the registry that names them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hotlap.errors import DataError
from hotlap.registry import Registry

__all__ = [
    "Dataset",
    "DatasetSpec",
    "default_data_dir",
    "get_dataset_spec",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled image classification set held in host memory.

    Images are uint8 in NHWC layout (N, 32, 32, 3), labels int64. `mean` and `std` are per channel,
    in units of [0, 1] pixel values; loaders normalize with them.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise DataError(f"{self.name}: {split} images must be uint8 NHWC with 3 channels")
            if len(images) != len(labels):
                raise DataError(f"{self.name}: {len(images)} {split} images but {len(labels)} labels")

    @property
    def train_size(self) -> int:
        return len(self.train_labels)

    @property
    def test_size(self) -> int:
        return len(self.test_labels)


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: how to load it, and the facts known without loading it."""

    name: str
    load: Callable[..., Dataset]
    train_size: int
    test_size: int
    num_classes: int
    summary: str
    sized: bool = False  # accepts `name:N` for a training set of N images


DATASETS: Registry[DatasetSpec] = Registry("dataset", error=DataError)
# The largest `name:N` a sized dataset takes: 10x CIFAR's training set, 1.4 GiB of images held in
# memory (a bigger N is a typo that would allocate terabytes).
MAX_SIZE = 500_000


def register_dataset(
    name: str,
    *,
    train_size: int,
    test_size: int,
    num_classes: int,
    summary: str,
    sized: bool = False,
) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Decorator: register `load(data_dir) -> Dataset` under `name`.

    With `sized=True` the loader also takes `size=N`, and `name:N` selects it.
    """

    def decorate(load: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS.register(name, DatasetSpec(name, load, train_size, test_size, num_classes, summary, sized))
        return load

    return decorate


def list_datasets() -> list[DatasetSpec]:
    return DATASETS.entries()


def parse_dataset_name(name: str) -> tuple[DatasetSpec, int | None]:
    """`synthetic:4096` -> (the synthetic spec, 4096); a size only where the dataset takes one."""
    base, sep, size_text = name.partition(":")
    spec = DATASETS.get(base)
    if not sep:
        return spec, None
    if not spec.sized:
        raise DataError(f"dataset {base!r} has a fixed size; drop ':{size_text}'")
    try:
        size = int(size_text)
    except ValueError:
        raise DataError(f"dataset {name!r}: the size after ':' must be an integer") from None
    if size < 1:
        raise DataError(f"dataset {name!r}: the size after ':' must be at least 1")
    if size > MAX_SIZE:
        raise DataError(
            f"dataset {name!r}: {size:,} images is over the limit of {MAX_SIZE:,} "
            f"({MAX_SIZE * 3072 / 2**30:.1f} GiB of 32x32 images in memory)"
        )
    return spec, size


def get_dataset_spec(name: str) -> DatasetSpec:
    return parse_dataset_name(name)[0]


def dataset_sizes(name: str) -> tuple[int, int, int]:
    """(train_size, test_size, num_classes) of `name` without loading it."""
    spec, size = parse_dataset_name(name)
    if size is not None:
        return size, max(1, size // 5), spec.num_classes
    return spec.train_size, spec.test_size, spec.num_classes


def default_data_dir() -> Path:
    """`$HOTLAP_DATA`, else `~/.cache/hotlap/data`."""
    env = os.environ.get("HOTLAP_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hotlap" / "data"


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a registered dataset by name (`cifar10`, `cifar100`, `digits`, `synthetic[:N]`)."""
    spec, size = parse_dataset_name(name)
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return spec.load(directory) if size is None else spec.load(directory, size=size)
