"""torch.compile for the recipes: one compiled network per worker and training shape, reused by
every seed, and never compiled inside a timed region.

A run asks for its network with `compiled(net, key, exercise)`. The first time a worker sees a
`key` (the recipe's training shape, device, dtype, classes), it compiles `net` (mode max-autotune
on CUDA, the reference's). Where the graphs compile is the device's:
- on the CPU, `exercise` runs on it, untimed: a forward and backward pass in every state the run
  will train in (the whitening bias trainable and frozen, ...), so that each graph is compiled
  before the clock starts and a state change mid-run finds its graph ready;
- on CUDA, max-autotune records CUDA graphs, and a lone forward and backward pass per state fails
  there ("accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run",
  torch 2.11 on an H200, 2026-12-04: benchmarks/gpu_findings.py). The graphs compile and record in
  the first training steps instead, which the worker's untimed warmup run holds: each recipe's
  warmup of a compiled config trains through every state change (`warmup_epochs`), as the
  reference's warmup run does. A worker run with `warmup: false` pays the compilation in its
  first timed run.
Later runs of the same key get the same module with their own freshly initialized weights loaded
into it: re-initialized, not recompiled. `COMPILES` counts the compilations per key.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import torch
from torch import nn

from hotlap.errors import RunFailed

__all__ = ["COMPILES", "compiled", "compiled_function", "warmup_epochs"]

COMPILES: collections.Counter[Hashable] = collections.Counter()
_CACHE: dict[Hashable, tuple[nn.Module, Callable[..., Any]]] = {}


def _reset(module: nn.Module, fresh: nn.Module) -> None:
    """`fresh`'s weights, buffers and trainable flags in `module` (the same architecture)."""
    module.load_state_dict(fresh.state_dict())
    for kept, new in zip(module.parameters(), fresh.parameters(), strict=True):
        kept.requires_grad_(new.requires_grad)
        kept.grad = None


def compiled(
    net: nn.Module,
    key: Hashable,
    exercise: Callable[[Callable[..., Any]], None],
    device: torch.device,
) -> tuple[nn.Module, Callable[..., Any]]:
    """(the module to train, its compiled forward) for a run whose fresh network is `net`."""
    entry = _CACHE.get(key)
    if entry is not None:
        module, forward = entry
        _reset(module, net)
        return module, forward
    fresh = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [p.requires_grad for p in net.parameters()]
    try:
        forward = torch.compile(net, mode="max-autotune" if device.type == "cuda" else None)
        net.train()
        if device.type == "cuda":  # the warmup run's first steps compile (see above)
            forward = _compile_errors_in_one_line(forward)
        else:
            exercise(forward)
    except Exception as exc:  # a platform without a compiler (or a backend error): say which
        raise _failed("torch.compile", exc) from None
    net.load_state_dict(fresh)
    for p, flag in zip(net.parameters(), flags, strict=True):
        p.requires_grad_(flag)
        p.grad = None
    COMPILES[key] += 1
    _CACHE[key] = (net, forward)
    return net, forward


def _failed(what: str, exc: Exception) -> RunFailed:
    reason = " ".join(str(exc).split())[:300] or type(exc).__name__
    return RunFailed(f"{what} failed on this platform ({type(exc).__name__}: {reason}); set compile=false")


def _compile_errors_in_one_line(forward: Callable[..., Any]) -> Callable[..., Any]:
    """`forward`, whose compiler errors (Dynamo's and its backend's, raised by the call that
    compiles a graph: on CUDA, in the warmup run's first steps) fail the run with the one line
    `compiled` gives on the CPU; any other error passes as it is."""
    from torch._dynamo.exc import TorchDynamoException

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return forward(*args, **kwargs)
        except TorchDynamoException as exc:
            raise _failed("torch.compile", exc) from None

    return call


_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}


def compiled_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` compiled once per process and reused by every run (airbench94_muon's Newton-Schulz, as
    the record compiles it). It compiles on its first call, for each new shape, which a worker's
    warmup run pays; a compiler error there fails the run with one line, as `compiled` does."""
    if fn not in _FUNCTIONS:
        graph = torch.compile(fn)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return graph(*args, **kwargs)
            except Exception as exc:
                raise _failed(f"torch.compile of {fn.__name__}", exc) from None

        _FUNCTIONS[fn] = call
    return _FUNCTIONS[fn]


def warmup_epochs(config: Any, changes: Iterable[float | None]) -> Any:
    """The worker's warmup config: one epoch (cuDNN's shapes all come up in it), or, where the
    config compiles (`compile` true or auto), through the epoch of the last state change that falls
    inside the run (`changes`: the epochs where a state changes, None where it never does), so that
    CUDA's graphs compile and record for every state before a timed run. Never past the run."""
    epochs = 1
    if config.compile is not False:
        inside = [change for change in changes if change is not None and change < config.epochs]
        if inside:
            epochs = math.ceil(max(inside)) + 1
    return config.model_copy(update={"epochs": min(config.epochs, epochs)})
