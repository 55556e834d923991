"""Cost probes: what measures each cost metric of a run (hotlap.costs names them), one registry.

A probe is a small class with the metrics it yields and three hooks, each given the `ProbeRun`:
`start` just before the run, `stop` just after it (before any probe measures) and `measure`, which
returns its metrics; nothing it does is inside the run's timed region. The worker keeps one
instance of each, so a probe may cache per config. Writing one: docs/extending/cost-probe.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotlap.costs import (
    STATIC,
    EnergyMeter,
    measure_inference,
    peak_host_memory,
    state_bytes,
    static_costs,
)
from hotlap.errors import HotlapError
from hotlap.metrics import Metric, register_metric
from hotlap.registry import Registry

__all__ = [
    "PROBES",
    "CostProbe",
    "ProbeRun",
    "cost_names",
    "list_probes",
    "probes_for",
    "register_cost_probe",
]


@dataclass
class ProbeRun:
    """One run as the probes see it: before it (`result` None) and after it."""

    recipe: Any  # hotlap.recipes.Recipe
    config: Any  # its validated config
    data: Any  # the worker's DeviceData, or a Placement for recipes without data
    wanted: tuple[str, ...]  # the cost metrics the run asks for
    result: Any = None  # the RunResult, once the run is done
    notes: dict[str, Any] = field(default_factory=dict)  # what a probe keeps between its hooks

    @property
    def device(self) -> Any:
        return self.data.device


class CostProbe:
    """Measures `metrics` of a run; each hook does nothing by default."""

    metrics: tuple[str, ...] = ()
    needs_weights = False  # the run must keep its trained weights until `measure`

    def start(self, run: ProbeRun) -> None:
        """Just before the run."""

    def stop(self, run: ProbeRun) -> None:
        """Just after the run, before any probe measures."""

    def measure(self, run: ProbeRun) -> dict[str, float]:
        """The probe's metrics of the run (those the device has)."""
        return {}


PROBES: Registry[type[CostProbe]] = Registry("cost probe", error=HotlapError)


def register_cost_probe(name: str, *metrics: Metric | str) -> Callable[[type[CostProbe]], type[CostProbe]]:
    """Class decorator: register a probe under `name`, yielding `metrics` (Metric objects are
    registered as metrics too; a name refers to one registered already)."""

    def decorate(cls: type[CostProbe]) -> type[CostProbe]:
        names = tuple(m if isinstance(m, str) else register_metric(m).name for m in metrics)
        taken = {metric: other for other, probe in PROBES.items() for metric in probe.metrics}
        clash = [m for m in names if m in taken and taken[m] != name]
        if clash:
            raise HotlapError(f"cost probe {name!r}: {clash[0]!r} is measured by probe {taken[clash[0]]!r}")
        cls.metrics = names
        PROBES.register(name, cls)
        return cls

    return decorate


def cost_names() -> tuple[str, ...]:
    """Every cost metric some probe measures, in the order the probes were registered (hotlap's
    own first, in hotlap.costs' order)."""
    return tuple(metric for name in PROBES.in_order() for metric in PROBES.get(name).metrics)


def list_probes() -> list[str]:
    return PROBES.names()


def probes_for(wanted: tuple[str, ...], kept: dict[str, CostProbe]) -> list[CostProbe]:
    """The probes (instances from `kept`, made on first use) that measure something `wanted`."""
    out = []
    for name in PROBES.in_order():
        cls = PROBES.get(name)
        if set(cls.metrics) & set(wanted):
            if name not in kept:
                kept[name] = cls()
            out.append(kept[name])
    return out


# hotlap's own probes: their metrics are in hotlap.costs' table (registered there).


@register_cost_probe("inference", "latency_batch1", "latency_batch", "throughput")
class InferenceProbe(CostProbe):
    """The trained network's latencies and throughput, as the recipe evaluates it (warm)."""

    def measure(self, run: ProbeRun) -> dict[str, float]:
        inference = getattr(run.result, "inference", None)
        return measure_inference(inference, run.wanted) if inference is not None else {}


@register_cost_probe("peak_memory", "peak_memory")
class DeviceMemoryProbe(CostProbe):
    """The run's peak device memory (CUDA only), its counter reset before the run."""

    def start(self, run: ProbeRun) -> None:
        if run.device.type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(run.device)

    def measure(self, run: ProbeRun) -> dict[str, float]:
        if run.device.type != "cuda":
            return {}
        import torch

        return {"peak_memory": float(torch.cuda.max_memory_allocated(run.device))}


@register_cost_probe("peak_host_memory", "peak_host_memory")
class HostMemoryProbe(CostProbe):
    def measure(self, run: ProbeRun) -> dict[str, float]:
        return {"peak_host_memory": float(peak_host_memory())}


@register_cost_probe("energy", "energy", "mean_power")
class EnergyProbe(CostProbe):
    """The GPU's energy over the run from the driver's counter, and its mean power."""

    def start(self, run: ProbeRun) -> None:
        run.notes["energy"] = EnergyMeter.for_device(run.device).__enter__()

    def stop(self, run: ProbeRun) -> None:
        run.notes["energy"].__exit__(None, None, None)

    def measure(self, run: ProbeRun) -> dict[str, float]:
        return run.notes["energy"].metrics()


@register_cost_probe("model_bytes", "model_bytes")
class ModelBytesProbe(CostProbe):
    """The trained weights' size at the precision the run stores them."""

    needs_weights = True

    def measure(self, run: ProbeRun) -> dict[str, float]:
        state = run.result.artifacts.get("model.pt") if run.result is not None else None
        return {"model_bytes": float(state_bytes(state))} if isinstance(state, dict) else {}


@register_cost_probe("static", *STATIC)
class StaticProbe(CostProbe):
    """What a config costs before it trains (parameters, FLOPs, bit widths): once per config."""

    def __init__(self) -> None:
        self.cache: dict[tuple[Any, ...], dict[str, float]] = {}

    def measure(self, run: ProbeRun) -> dict[str, float]:
        from hotlap.config import config_hash

        data = run.data
        if not hasattr(data, "num_classes"):  # a recipe without data: no network to count
            return {}
        wanted = tuple(sorted(set(STATIC) & set(run.wanted)))
        key = (run.recipe.name, config_hash(run.recipe.name, run.config), wanted)
        if key not in self.cache:  # (the FLOP count, the slow part, only where it is wanted)
            self.cache[key] = static_costs(
                run.recipe,
                run.config,
                data.num_classes,
                data.train_size,
                len(data.test_labels),
                wanted=wanted,
            )
        return self.cache[key]
