"""Datasets (`cifar10`, `cifar100`, `digits`, `synthetic`) and the device-resident loader."""

from __future__ import annotations

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
from hotlap.data.loader import DeviceData, DeviceLoader, batch_crop, cyclic_offsets, make_generator

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
