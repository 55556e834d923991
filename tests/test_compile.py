"""`compile=true`: torch.compile once per worker and training shape, reused (re-initialized) by
every seed, with the accuracy of the plain network for the same seed."""

from __future__ import annotations

import pytest
import torch

from hotlap.recipes import get_recipe
from hotlap.recipes.compiling import COMPILES

TINY = {"width": 0.125, "epochs": 3, "batch_size": 128, "lr": 30.0}


def traced_without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile traces and differentiates as it does (dynamo, AOTAutograd: graph breaks,
    guards, recompilations are its own), without generating inductor's C++ kernels: on the CPU
    they cost 40-60 s on a cold cache, as a CI machine has, and are not the CUDA kernels a GPU run
    compiles (benchmarks/gpu_check.py times those)."""
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **_: compile_(fn, backend="aot_eager"))


@pytest.mark.slow
def test_a_compiled_airbench94_compiles_once_per_shape_and_learns_as_the_plain_one(digits_data, monkeypatch):
    traced_without_kernels(monkeypatch)
    recipe = get_recipe("airbench94")
    before = sum(COMPILES.values())
    plain = recipe.train(recipe.config(TINY), digits_data, seed=0)
    fast = [recipe.train(recipe.config({**TINY, "compile": True}), digits_data, seed=s) for s in (0, 1)]
    assert sum(COMPILES.values()) == before + 1  # two seeds, one compilation
    # The same seed: the same run, up to kernel rounding.
    assert abs(plain["tta_accuracy"] - fast[0]["tta_accuracy"]) <= 0.03  # 360 test images: 11 of them
    assert len(plain.history) == len(fast[0].history) and fast[1]["tta_accuracy"] > 0.5
    recipe.train(recipe.config({**TINY, "compile": True, "lr": 20.0}), digits_data, seed=2)
    assert sum(COMPILES.values()) == before + 1  # another lr: the same shape, no compilation
    # A new shape compiles again (torch.compile stood in for by the eager network: a second real
    # compilation would only spend half a minute).
    monkeypatch.setattr(torch, "compile", lambda net, **_: net)
    recipe.train(recipe.config({**TINY, "compile": True, "width": 0.25, "epochs": 1}), digits_data, seed=0)
    assert sum(COMPILES.values()) == before + 2


@pytest.mark.slow
def test_a_compiled_airbench94_muon_makes_the_plain_ones_steps_and_compiles_once(monkeypatch):
    """On random CIFAR-shaped images (the digits have whitening channels of zero variance, where
    BatchNorm's eps of 1e-12 turns kernel rounding into different runs, compiled or not), one
    optimizer step of the compiled network gives the plain one's weights, seed by seed; the
    Newton-Schulz iterations in fp32 so that bf16 rounding does not hide a difference."""
    traced_without_kernels(monkeypatch)
    from hotlap.data.loader import DeviceData
    from hotlap.data.synthetic import make_synthetic

    recipe = get_recipe("airbench94_muon")
    data = DeviceData.from_dataset(make_synthetic(train_size=512, test_size=64), "cpu")
    one_step = {"width": 0.125, "batch_size": 128, "epochs": 0.25, "muon_dtype": "fp32"}
    before = sum(COMPILES.values())
    for seed in (0, 1):
        plain = recipe.train(recipe.config(one_step), data, seed=seed)
        fast = recipe.train(recipe.config({**one_step, "compile": True}), data, seed=seed)
        assert plain.history[-1]["steps"] == fast.history[-1]["steps"] == 1
        a, b = plain.artifacts["model.pt"], fast.artifacts["model.pt"]
        assert a.keys() == b.keys()
        assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) < 1e-4
        torch.manual_seed(seed)  # the run's initial weights, as train makes them
        initial = recipe.build_model(recipe.config(one_step), 10).state_dict()
        moved = max((a[k] - initial[k]).abs().max().item() for k in a if k.endswith("conv1.weight"))
        assert moved > 1e-3  # the step did change the weights: agreeing is not trivial
        assert torch.equal(plain.artifacts["labels.npy"], fast.artifacts["labels.npy"])
    assert sum(COMPILES.values()) == before + 1  # two seeds, one compilation
    # Muon's Newton-Schulz ran compiled too, as the record compiles it (and agreed, above).
    from hotlap.optim.muon import orthogonalize
    from hotlap.recipes.compiling import _FUNCTIONS

    assert orthogonalize in _FUNCTIONS


def test_the_exercise_compiles_before_the_clock_on_the_cpu_and_is_left_to_the_warmup_on_cuda():
    """On the CPU the exercise runs each trainable state once, untimed. On CUDA it must not: a lone
    forward and backward per state fails under max-autotune's CUDA graphs (torch 2.11, H200,
    benchmarks/gpu_findings.py); the worker's warmup run compiles and records there. torch.compile
    is lazy, so a CUDA device compiles nothing here (no GPU needed)."""
    from hotlap.recipes.compiling import compiled

    exercised = []
    for device in ("cpu", "cuda"):
        net = torch.nn.Linear(2, 2)
        key = ("test_exercise", device)
        module, forward = compiled(net, key, exercised.append, torch.device(device))
        assert module is net and callable(forward)
    assert len(exercised) == 1  # the CPU's only


def test_on_cuda_a_compiler_error_in_the_first_steps_fails_the_run_in_one_line():
    """On CUDA the graphs compile in the warmup run's first calls: a compiler error there fails
    the run with the line the CPU's exercise gives (naming compile=false); any other error, an out
    of memory say, passes as it is."""
    from torch._dynamo.exc import TorchDynamoException

    from hotlap.errors import RunFailed
    from hotlap.recipes.compiling import _compile_errors_in_one_line

    def broken(error):
        def forward(x):
            raise error

        return _compile_errors_in_one_line(forward)

    with pytest.raises(
        RunFailed,
        match=r"^torch.compile failed on this platform \(TorchDynamoException: no\s+triton\).*compile=false$",
    ):
        broken(TorchDynamoException("no\n  triton"))(1)
    with pytest.raises(MemoryError):
        broken(MemoryError("out of memory"))(1)
    assert _compile_errors_in_one_line(lambda x: x + 1)(1) == 2


@pytest.mark.parametrize("name", ["airbench94", "airbench94_muon"])
def test_a_compiled_config_is_a_training_shape_of_its_own(name):
    """A worker warm on the plain config warms up again for the compiled one, so that compiling
    (airbench94_muon's Newton-Schulz compiles in its first optimizer steps) and recording CUDA
    graphs never land in a timed run."""
    recipe = get_recipe(name)
    plain = recipe.config({"width": 0.125})
    assert recipe.shape_of(plain) != recipe.shape_of(recipe.config({"width": 0.125, "compile": True}))


def test_airbench94_muons_optimizers_compile_newton_schulz_under_compile_and_fuse_sgd_on_cuda_only():
    """The record's speed path: with `compile`, Muon orthogonalizes through the compiled
    Newton-Schulz (without, the plain function); SGD is fused on CUDA only (here, on the CPU, not)."""
    from hotlap.optim.muon import orthogonalize
    from hotlap.recipes.airbench94_muon import make_optimizers

    recipe = get_recipe("airbench94_muon")
    for compile_ in (False, True, "auto"):
        config = recipe.config({"width": 0.25, "compile": compile_})
        sgd, muon = make_optimizers(recipe.build_model(config, 10), config)
        assert (muon.orthogonalize is orthogonalize) is not (compile_ is True)  # auto: not on a CPU
        assert not sgd.defaults.get("fused")
    default = recipe.config({})  # compiled on CUDA by default, as the record is; not on a CPU
    assert default.compiles(torch.device("cuda")) and not default.compiles(torch.device("cpu"))
    assert not recipe.config({"compile": False}).compiles(torch.device("cuda"))
