from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from hotlap.data import DeviceData, load_dataset
from hotlap.data.synthetic import make_synthetic

PLUGINS = Path(__file__).parent / "plugins"
sys.path.insert(0, str(PLUGINS))
import toy_recipe  # noqa: E402, F401  (registers the cheap `toy` recipe for engine tests)

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs a worker per core: one thread each
    torch.set_num_threads(1)
    # ... and so does every process a test starts (a `hotlap` command, a script's program): two
    # workers each starting a process with a thread per core oversubscribe the cores, and small
    # networks then train 2-3x slower (the extension pages' commands: 120 s -> 50 s).
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")
# glibc's malloc keeps freed blocks for reuse (`make test` sets the same for the tests' own
# processes; read at a process's start, so here for the processes the tests start): docs/how-to/cpu.md
for _name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
    os.environ.setdefault(_name, str(256 << 20))


@pytest.fixture(autouse=True)
def _isolated_homes(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's data cache, hotlap's cache or ./hotlap-runs (the cache of
    calibrated levels is shared by the session's tests: computing each once is enough)."""
    monkeypatch.setenv("HOTLAP_DATA", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("HOTLAP_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def plugin_env() -> dict[str, str]:
    """Environment for a `hotlap` subprocess that knows the toy recipe."""
    path = os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path, "HOTLAP_PLUGINS": "toy_recipe", "COLUMNS": "200"}


def hotlap_script() -> str:
    return str(Path(sys.executable).parent / "hotlap")


# A small sweep of the toy recipe: two configs, two seeds.
TOY_SPEC = {
    "name": "hard",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "seeds": 2,
    "space": {"x": [0.1, 0.2]},
}


def run_toy(store, raw: dict):  # type: ignore[no-untyped-def]
    """Run a raw spec to its end in `store`, in this process, without warmup."""
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor
    from hotlap.spec import parse_spec

    record, _ = open_sweep(store, parse_spec(raw))
    return Engine(store, record, InProcessExecutor(warmup=False)).run()


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run the CLI in this process: cli("status", ...) -> (exit code, stdout, stderr)."""
    from hotlap.cli import main
    from hotlap.cli.app import console

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["hotlap", *args])
        monkeypatch.setenv("COLUMNS", "200")
        # The console read COLUMNS when hotlap.cli was first imported, in whichever test that was.
        monkeypatch.setattr(console, "_width", 200)
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="session")
def digits_data() -> DeviceData:
    return DeviceData.from_dataset(load_dataset("digits"), "cpu")


@pytest.fixture(scope="session")
def small(digits_data) -> DeviceData:
    """456 of the digits' training images (256 to train on beside 200 held out) and 120 test
    images: what the ResNet training-behaviour tests need, at a third of the work."""
    from dataclasses import replace

    return replace(
        digits_data,
        train_images=digits_data.train_images[:456],
        train_labels=digits_data.train_labels[:456],
        test_images=digits_data.test_images[:120],
        test_labels=digits_data.test_labels[:120],
    )


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
