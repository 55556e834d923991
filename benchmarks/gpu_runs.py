"""The GPU check's runs: hotlap's own executor (the warm in-process worker a sweep uses), shared by
every section, and the small measures they all take (medians, spreads, NVML's readings)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from hotlap.executors.base import Outcome, Task
from hotlap.executors.inprocess import InProcessExecutor

# The reference's published times, for scale (A100 unless said; ../shared/reference/airbench.md).
REFERENCE = {
    "airbench94": "3.83 s (A100-SXM4-80GB, torch 2.1.2)",
    "airbench94 compiled": "3.29 s in the paper, 3.09 s later (A100)",
    "airbench94_muon": "2.59 s (400 W A100, torch 2.4.1)",
    "airbench95": "10.4 s",
    "airbench96": "34.7 s",
    "airbench96_faster": "27.3 s (400 W A100, torch 2.4.1)",
}


class _KeptWarm(InProcessExecutor):
    """The in-process executor, whose workers (data on the device, warm shapes, compiled networks)
    outlive a sweep: the sections share one."""

    def shutdown(self) -> None:
        pass


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> float:
    """Relative spread: the standard deviation over the median (0 with one value)."""
    return statistics.stdev(values) / statistics.median(values) if len(values) > 1 else 0.0


def executor(check: Any) -> InProcessExecutor:
    if "executor" not in check.shared:
        check.shared["executor"] = _KeptWarm()
    return check.shared["executor"]


def task_of(
    recipe: str, config: dict[str, Any], dataset: str, seed: int, device: str, costs: tuple[str, ...] = ()
) -> Task:
    """A measured run's task: no weights or artifacts kept."""
    return Task(
        run_id=seed,
        recipe=recipe,
        config=dict(config),
        dataset=dataset,
        seed=seed,
        device=device,
        keep_weights=False,
        keep_artifacts=False,
        costs=costs,
    )


def run(check: Any, seed: int, recipe: str = "airbench94", **options: Any) -> tuple[Outcome, float]:
    """One (config, seed) through hotlap's executor, and its wall time. `options`: config (the
    recipe's overrides; airbench94 on the check's sizes by default), dataset, device, costs."""
    from hotlap.recipes import get_recipe

    config = options.get("config")
    if config is None and recipe == "airbench94":
        config = check.sizes.config
    elif config is None:
        config = {**(get_recipe(recipe).smoke if check.tiny else {}), **check.sizes.family}
    task = task_of(
        recipe,
        config,
        options.get("dataset", check.dataset),
        seed,
        str(options.get("device", check.device)),
        tuple(options.get("costs", ())),
    )
    device = torch.device(task.device)
    sync(device)
    begin = time.perf_counter()
    outcome = executor(check).submit(task).result()
    wall = time.perf_counter() - begin
    if outcome.status != "done":
        raise RuntimeError(f"{recipe} seed {seed} on {task.device} failed: {outcome.error}")
    return outcome, wall


def run_seconds(check: Any) -> float:
    """A run's wall time, from the runs so far (a guess before the first)."""
    return check.shared.get("run_s", 6.0 if check.gpu else 2.0)


def nvml(device: torch.device) -> dict[str, Any]:
    """The GPU's clocks (MHz), power (W) and temperature (C) now, from NVML; {} without one."""
    if device.type != "cuda":
        return {}
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
        return {
            "sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM),
            "memory_clock_mhz": pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_MEM),
            "power_w": pynvml.nvmlDeviceGetPowerUsage(handle) / 1000,
            "power_limit_w": pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000,
            "temperature_c": pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU),
        }
    except Exception as exc:  # no nvidia-ml-py, or a counter the driver lacks
        return {"nvml": f"unavailable ({type(exc).__name__}: {exc})"}
