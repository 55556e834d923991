"""Device names: a CPU by its model (not `x86_64`), CUDA fields only where CUDA ran, and runs
recorded under the bare architecture still one device with the named CPU."""

from __future__ import annotations

import platform

import torch

from hotlap.devices import merge_devices, same_device
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.envinfo import cpu_model, device_name, environment
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store


def test_a_cpu_run_names_the_cpu_and_no_cuda():
    env = environment(torch.device("cpu"))
    assert env["cuda"] is None and env["cudnn"] is None
    name = device_name(torch.device("cpu"))
    if cpu_model():
        assert name == f"{cpu_model()} ({platform.machine()})"


def test_a_bare_architecture_is_the_named_cpu_of_that_architecture():
    assert same_device("x86_64", "AMD EPYC 7B13 (x86_64)") and same_device("AMD EPYC 7B13 (x86_64)", "x86_64")
    assert not same_device("x86_64", "NVIDIA A100-SXM4-40GB") and not same_device("aarch64", "Intel (x86_64)")
    assert not same_device("AMD EPYC 7B13 (x86_64)", "Intel Xeon (x86_64)")
    assert merge_devices({"x86_64": 2, "AMD EPYC (x86_64)": 3}) == {"AMD EPYC (x86_64)": 5}
    assert merge_devices({"x86_64": 2, "A (x86_64)": 3, "B (x86_64)": 1}) == {
        "A (x86_64)": 3,
        "x86_64": 2,
        "B (x86_64)": 1,
    }


def test_a_sweep_recorded_under_the_architecture_resumes_as_one_device(tmp_path):
    spec = {
        "name": "old",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 2,
        "space": {"x": [0.1, 0.2]},
    }
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        store.db.execute("UPDATE runs SET device = ?", (platform.machine(),))  # as hotlap 0.1 wrote
        store.db.execute("UPDATE sessions SET device_name = ?", (platform.machine(),))
        store.db.execute("UPDATE runs SET status = 'failed' WHERE seed = 1")  # to run again
        again, _ = open_sweep(store, parse_spec(spec))
        result = Engine(store, again, InProcessExecutor(warmup=False), retry_failed=True).run()  # no refusal
        assert result.state == "done" and len(store.run_devices(record.id)) == 1
