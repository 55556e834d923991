from __future__ import annotations

import pytest
import torch

from hotlap.data import DeviceData, load_dataset
from hotlap.data.synthetic import make_synthetic


@pytest.fixture(autouse=True)
def _isolated_homes(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's data cache or ./hotlap-runs."""
    monkeypatch.setenv("HOTLAP_DATA", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def digits_data() -> DeviceData:
    return DeviceData.from_dataset(load_dataset("digits"), "cpu")


@pytest.fixture(scope="session")
def small_data() -> DeviceData:
    """64 random CIFAR-shaped training images: for loader and shape tests."""
    return DeviceData.from_dataset(make_synthetic(train_size=64, test_size=16), "cpu")


@pytest.fixture(autouse=True)
def _few_threads():
    # Two cores on CI: keep torch from oversubscribing when pytest runs alongside other work.
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
