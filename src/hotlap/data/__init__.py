"""Datasets (`cifar10`, `cifar100`, `digits`, `synthetic`) and the device-resident loader.

The loader (torch) is imported on first use: reading a dataset's sizes, as the statistics do,
needs only numpy.
"""

from __future__ import annotations

from typing import Any

from hotlap.data import cifar, digits, synthetic  # noqa: F401  (registers the datasets)
from hotlap.data.base import (
    Dataset,
    DatasetSpec,
    dataset_sizes,
    default_data_dir,
    get_dataset_spec,
    list_datasets,
    load_dataset,
    register_dataset,
)

_LOADER = ("DeviceData", "DeviceLoader", "batch_crop", "cyclic_offsets", "make_generator")


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from hotlap.data import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'hotlap.data' has no attribute {name!r}")


__all__ = [
    "Dataset",
    "DatasetSpec",
    "DeviceData",
    "DeviceLoader",
    "batch_crop",
    "cyclic_offsets",
    "dataset_sizes",
    "default_data_dir",
    "get_dataset_spec",
    "list_datasets",
    "load_dataset",
    "make_generator",
    "register_dataset",
]
