"""Cost metrics measured per run by the worker, never inside the timed training region: latency,
throughput, device and host memory, energy and power, model size, parameters, FLOPs, and the bit
counts of a `quant` config. The probes that measure them are registered in hotlap.probes. A measure
the device lacks (energy on a CPU) is left out of the run's metrics, never recorded as 0. The table
of metrics, units and where each is missing: docs/how-to/costs-pareto.md."""

from __future__ import annotations

import functools
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hotlap.metrics import Metric, register_metric

if TYPE_CHECKING:
    from hotlap.recipes.base import Inference  # what a recipe hands over to be measured

__all__ = [
    "COSTS",
    "EnergyMeter",
    "measure_inference",
    "peak_host_memory",
    "state_bytes",
    "static_costs",
]

COSTS = tuple(
    register_metric(m)
    for m in (
        Metric("latency_batch1", "s", "minimize", "time", description="median forward time of one example"),
        Metric("latency_batch", "s", "minimize", "time", description="median forward time of an evaluation batch"),
        Metric("throughput", "img/s", "maximize", "cost", description="evaluation images per second"),
        Metric("peak_memory", "B", "minimize", "cost", description="peak device memory of the run (CUDA)"),
        Metric("peak_host_memory", "B", "minimize", "cost", description="peak resident memory of the worker"),
        Metric("energy", "J", "minimize", "cost", description="GPU energy of the run (NVIDIA driver counter)"),
        Metric("mean_power", "W", "minimize", "cost", description="GPU energy / the run's wall time"),
        Metric("model_bytes", "B", "minimize", "cost", description="the trained weights' size as the run stores them"),
        Metric("parameters", "", "minimize", "count", "config", "parameters of the network"),
        Metric("forward_flops", "FLOPs", "minimize", "cost", "config", "FLOPs of one example's forward pass"),
        Metric("run_flops", "FLOPs", "minimize", "cost", "config", "FLOPs of a run: 3x forward per trained example + the evaluation"),
        Metric("avg_bits", "bits", "minimize", "cost", "config", "mean bit width of the parameters (quantized)"),
        Metric("memory_density", "x", "maximize", "cost", "config", "32 / the mean bit width of the parameters"),
        Metric("quantized_bytes", "B", "minimize", "cost", "config", "the parameters at their quantized widths"),
        Metric("weight_avg_bits", "bits", "minimize", "cost", "config", "mean bit width of the quantized layers' weights (Mase's average bitwidth)"),
        Metric("weight_memory_density", "x", "maximize", "cost", "config", "32 / weight_avg_bits (Mase's memory density)"),
    )
)  # fmt: skip
# known from the config alone, before any run
STATIC = (
    "parameters",
    "forward_flops",
    "run_flops",
    "avg_bits",
    "memory_density",
    "quantized_bytes",
    "weight_avg_bits",
    "weight_memory_density",
)
COST_NAMES = tuple(m.name for m in COSTS)
REPEATS_BATCH1 = 20
REPEATS_BATCH = 3  # an evaluation batch (airbench: 2,000 images x 6 TTA views) takes seconds on a CPU
WARMUP_PASSES = 1


def _timer(device: Any) -> Callable[[Callable[[], Any]], float]:
    import torch

    if device.type == "cuda":

        def timed(call: Callable[[], Any]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000

        return timed

    def timed_cpu(call: Callable[[], Any]) -> float:
        begin = time.perf_counter()
        call()
        return time.perf_counter() - begin

    return timed_cpu


def _median_time(call: Callable[[], Any], repeats: int, device: Any) -> float:
    for _ in range(WARMUP_PASSES):
        call()
    timed = _timer(device)
    return statistics.median(timed(call) for _ in range(repeats))


def measure_inference(inference: Inference, wanted: Iterable[str]) -> dict[str, float]:
    """The latencies and throughput asked for, of the trained network."""
    import torch

    wanted = set(wanted)
    out: dict[str, float] = {}
    if not wanted & {"latency_batch1", "latency_batch", "throughput"}:
        return out
    example = inference.example
    device = example.device
    with torch.no_grad():
        if "latency_batch1" in wanted:
            out["latency_batch1"] = _median_time(lambda: inference.forward(example), REPEATS_BATCH1, device)
        if wanted & {"latency_batch", "throughput"}:
            layout = torch.channels_last if inference.channels_last else torch.contiguous_format
            batch = example.expand(inference.batch_size, *example.shape[1:]).contiguous(memory_format=layout)
            latency = _median_time(lambda: inference.forward(batch), REPEATS_BATCH, device)
            if "latency_batch" in wanted:
                out["latency_batch"] = latency
            if "throughput" in wanted:
                out["throughput"] = inference.batch_size / latency
    return out


def static_costs(
    recipe: Any,
    config: Any,
    num_classes: int,
    train_size: int,
    test_size: int,
    wanted: Iterable[str] | None = None,
) -> dict[str, float]:
    """The costs a config has before it trains: parameters (frozen ones included), FLOPs of one
    example's forward pass (torch.utils.flop_counter: 2 per multiply-add), and FLOPs of a run:
    3x the forward pass for each trained example (forward and backward) plus the forward pass of
    each evaluation view of each test image (`config.eval_views()`: airbench's TTA, 1, 2 or 6).
    Empty for a recipe without a network. Trained examples are optimizer steps x `batch_size`
    (with a batch schedule, the first batch size; a recipe with its own `run_flops` counts them
    itself). A recipe with a `quant` field adds its bit widths (avg_bits, memory_density,
    quantized_bytes: hotlap.recipes.quantize.bit_widths; 32 bits where `quant` is {}). `wanted`:
    only those (the FLOP count, the slow part, is skipped where neither FLOPs metric is wanted)."""
    from hotlap.recipes.measure import count_parameters, forward_flops

    if recipe.build_model is None:
        return {}
    model = recipe.build_model(config, num_classes)
    quant = {}
    if hasattr(config, "quant"):
        from hotlap.recipes.quantize import bit_widths

        quant = bit_widths(model, config.quant).metrics()
    out = {"parameters": float(count_parameters(model)), **{k: float(v) for k, v in quant.items()}}
    names = set(STATIC if wanted is None else wanted)
    if names & {"forward_flops", "run_flops"}:
        side = config.input_size() if hasattr(config, "input_size") else 32
        forward = forward_flops(model, (3, side, side))
        out["forward_flops"] = float(forward)
        batch = getattr(config, "batch_size", None)
        if recipe.run_flops is not None:
            out["run_flops"] = float(recipe.run_flops(config, num_classes, train_size, test_size))
        elif recipe.total_steps is not None and batch:
            views = config.eval_views()
            examples = recipe.total_steps(config, train_size) * batch
            out["run_flops"] = float(forward * (3 * examples + views * test_size))
    return {k: v for k, v in out.items() if k in names}


def state_bytes(state: Any) -> int:
    """Bytes of a state dict's tensors at the precision they are stored in."""
    return int(sum(t.numel() * t.element_size() for t in state.values() if hasattr(t, "element_size")))


def peak_host_memory() -> int:
    """Peak resident memory of this process, bytes (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


@functools.cache
def _nvml_handle(index: int) -> Any:
    """NVML's handle of torch's CUDA device `index`, found by the GPU's UUID (NVML counts every
    GPU of the machine, torch only those CUDA_VISIBLE_DEVICES shows); resolved once per device.
    None where NVML or the GPU cannot be reached."""
    try:
        import pynvml
        import torch

        pynvml.nvmlInit()
        uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
        if uuid is not None:
            return pynvml.nvmlDeviceGetHandleByUUID(f"GPU-{uuid}")
        return pynvml.nvmlDeviceGetHandleByIndex(index)
    except Exception:
        return None


class EnergyMeter:
    """The GPU's energy over a region, from the driver's cumulative counter (millijoules).

    `counter` returns the counter's value in mJ, or None where there is none (no NVIDIA GPU, no
    nvidia-ml-py, a GPU without the counter); `for_device` builds it from nvidia-ml-py."""

    def __init__(self, counter: Callable[[], int | None]) -> None:
        self.counter = counter
        self.start: int | None = None
        self.begin = 0.0

    @classmethod
    def for_device(cls, device: Any) -> EnergyMeter:
        if getattr(device, "type", None) != "cuda":
            return cls(lambda: None)
        handle = _nvml_handle(device.index or 0)
        if handle is None:  # no driver or no nvidia-ml-py: energy is missing, not 0
            return cls(lambda: None)

        def counter() -> int | None:
            import pynvml

            try:
                return int(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            except Exception:  # the counter is not supported on this GPU
                return None

        return cls(counter)

    def __enter__(self) -> EnergyMeter:
        self.start = self.counter()
        self.begin = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.begin
        self.end = self.counter()

    def metrics(self) -> dict[str, float]:
        """energy (J) and mean_power (W) of the region; nothing where the counter is missing."""
        if self.start is None or self.end is None or self.end < self.start:
            return {}
        joules = (self.end - self.start) / 1000
        out = {"energy": joules}
        if self.wall > 0:
            out["mean_power"] = joules / self.wall
        return out
