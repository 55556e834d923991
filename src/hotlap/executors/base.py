"""The executor interface: (config, seed) in, a result out, both plain data.

The engine (the driver) hands `Task`s to an executor and gets `Outcome`s back through futures. Tasks
and outcomes are plain, picklable data (weights travel as bytes), so an executor may run them in
this process, in worker processes on several GPUs, or on a Ray cluster. Executors never touch the
store: only the driver writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Executor", "Outcome", "Task", "get_executor", "list_executors", "register_executor"]


@dataclass(frozen=True)
class Task:
    """One training run to perform."""

    run_id: int
    recipe: str
    config: dict[str, Any]  # the fully resolved recipe config
    dataset: str
    seed: int
    device: str = "auto"
    data_dir: str | None = None
    keep_weights: bool = True
    keep_logits: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What became of a task. `status` is done or failed; failed outcomes carry the error."""

    run_id: int
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)  # accuracy, times, history, precision
    weights: bytes | None = None  # torch.save(state_dict) bytes, for weights_only loading
    logits: bytes | None = (
        None  # .npy bytes: per-view test logits, fp16 (views, test images, classes)
    )
    labels: bytes | None = None  # .npy bytes: the test labels those logits score against
    device: str | None = None
    host: str | None = None
    started: str | None = None
    ended: str | None = None
    wall_time: float | None = None
    error: str | None = None
    traceback: str | None = None
    warmup_time: float | None = None  # seconds of the worker's warmup run before this task, if any

    def fields(self) -> dict[str, Any]:
        data = asdict(self)
        for blob in ("weights", "logits", "labels"):
            data.pop(blob)
        return data


class Executor(ABC):
    """Runs tasks. `capacity` tasks may be in flight at once."""

    capacity: int = 1

    def prepare(self, dataset: str, data_dir: str | None, device: str) -> None:  # noqa: B027
        """Load what every task will need before the first one is submitted (optional)."""

    @abstractmethod
    def submit(self, task: Task) -> Future[Outcome]:
        """Start a task; the future resolves to its Outcome (never to a training exception)."""

    def shutdown(self) -> None:  # noqa: B027
        """Release workers and devices."""


_REGISTRY: dict[str, Callable[..., Executor]] = {}


def register_executor(name: str) -> Callable[[Callable[..., Executor]], Callable[..., Executor]]:
    def decorate(factory: Callable[..., Executor]) -> Callable[..., Executor]:
        _REGISTRY[name] = factory
        return factory

    return decorate


def get_executor(name: str = "inprocess", **options: Any) -> Executor:
    from hotlap.errors import HotlapError

    if name not in _REGISTRY:
        raise HotlapError(f"unknown executor {name!r} (known: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name](**options)


def list_executors() -> list[str]:
    return sorted(_REGISTRY)
