"""The executor interface: (config, seed) in, a result out, both plain data.

The engine (the driver) hands `Task`s to an executor and gets `Outcome`s back through futures. Tasks
and outcomes are plain, picklable data (weights travel as bytes), so an executor may run them in
this process, in worker processes on several GPUs, or on a Ray cluster. Executors never touch the
store: only the driver writes.
"""

from __future__ import annotations

import inspect
import io
import sys
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from hotlap.envinfo import device_type
from hotlap.errors import plain_text
from hotlap.registry import Registry

__all__ = [
    "EpochSink",
    "Executor",
    "Outcome",
    "Task",
    "check_executor",
    "encode_artifacts",
    "error_line",
    "executor_options",
    "get_executor",
    "list_executors",
    "register_executor",
]


@dataclass(frozen=True)
class Task:
    """One run to perform: training a (config, seed), or, with `source`, evaluating the config on
    the network a run of another config trained (configs that differ only in the recipe's
    evaluation-only fields). `source` is plain data: the source run's `run_id`, `directory` (its
    run folder), `config`, `metrics`, `history` and `device`."""

    run_id: int
    recipe: str
    config: dict[str, Any]  # the fully resolved recipe config
    dataset: str
    seed: int
    device: str = "auto"
    data_dir: str | None = None
    keep_weights: bool = True  # model.pt
    keep_artifacts: bool = True  # every other artifact of the run (logits, ...)
    source: dict[str, Any] | None = None
    costs: tuple[str, ...] = ()  # cost metrics the worker measures after the run (hotlap.costs)
    # A mid-run checkpoint (spec `checkpoint_every`): the file the run's training state is saved
    # to every `checkpoint_every` epochs and resumed from (hotlap.recipes.checkpoint).
    checkpoint: str | None = None
    checkpoint_every: int | None = None
    # Epochs between a recipe's untimed logging evaluations (spec `log_every`; 0: the last epoch
    # only); None: the recipe's own default (every epoch).
    log_every: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What became of a task. `status` is done, failed or pruned (stopped at an epoch by the
    engine's pruner); failed and pruned outcomes carry the error (or the reason).

    `artifacts` are the run folder's files as bytes (`model.pt`, `logits.npy`, ...), so an outcome
    can cross a process or a network unchanged.
    """

    run_id: int
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    precision: str | None = None
    artifacts: dict[str, bytes] = field(default_factory=dict)
    device: str | None = None
    host: str | None = None
    started: str | None = None
    ended: str | None = None
    wall_time: float | None = None
    error: str | None = None
    traceback: str | None = None
    warmup_time: float | None = None  # seconds of the worker's warmup before this task, if any
    source_run: int | None = None  # the run whose trained network this evaluation used

    def fields(self) -> dict[str, Any]:
        """Everything but the artifacts: what the store and metrics.json keep."""
        return {f.name: getattr(self, f.name) for f in _OUTCOME_FIELDS}  # shallow: read, never changed

    @classmethod
    def failure(cls, run_id: int, exc: BaseException, **fields: Any) -> Outcome:
        """A failed outcome naming the exception in one line, with its traceback."""
        return cls(
            run_id=run_id,
            status="failed",
            error=error_line(exc),
            traceback="".join(traceback.format_exception(exc)),
            **fields,
        )


_OUTCOME_FIELDS = tuple(f for f in dataclass_fields(Outcome) if f.name != "artifacts")

ERROR_CHARS = 500  # of a failed run's error line; the whole traceback is stored beside it


def error_line(exc: BaseException) -> str:
    """`ValueError: the message` on one line: every line of the message, joined by " / " (the first
    often names the cause, a later one the detail), cut at ERROR_CHARS."""
    message = plain_text(str(exc))  # no terminal escapes reach the display, log.txt or status
    text = " / ".join(line.strip() for line in message.strip().splitlines() if line.strip())
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 1] + "…"
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def encode_artifacts(artifacts: dict[str, Any]) -> dict[str, bytes]:
    """A RunResult's artifacts as file contents: state_dicts through torch.save (for loading with
    weights_only=True), tensors and arrays as .npy, text as UTF-8, bytes as they are."""
    out: dict[str, bytes] = {}
    for name, value in artifacts.items():
        if "/" in name or name.startswith(".") or not name:
            raise ValueError(f"artifact name {name!r} is not a plain file name")
        if isinstance(value, bytes):
            out[name] = value
        elif isinstance(value, str):
            out[name] = value.encode()
        elif name.endswith(".npy"):
            import numpy as np

            torch = sys.modules.get("torch")  # (not imported: the value is no tensor)
            array = (
                value.numpy() if torch is not None and isinstance(value, torch.Tensor) else np.asarray(value)
            )
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            out[name] = buffer.getvalue()
        else:
            import torch

            buffer = io.BytesIO()
            torch.save(value, buffer)
            out[name] = buffer.getvalue()
    return out


class Executor(ABC):
    """Runs tasks. `capacity` tasks may be in flight at once.

    One method to write (`submit`); `prepare` and `shutdown` have defaults that do nothing. A new
    executor is a class registered with `@register_executor("name")`; its constructor's keyword
    arguments are the options of `executor: {name: ..., option: value}` in a spec.
    """

    capacity: int = 1

    def prepare(self, dataset: str | None, data_dir: str | None, device: str) -> None:  # noqa: B027
        """Load what every task will need before the first one is submitted (optional). `dataset`
        None: the recipe loads no data (a script); only the device is checked."""

    @abstractmethod
    def submit(self, task: Task, on_epoch: EpochSink | None = None) -> Future[Outcome]:
        """Start a task; the future resolves to its Outcome. `on_epoch(run_id, record)` receives
        each epoch's record while the run trains (in the driver's process)."""

    def shutdown(self) -> None:  # noqa: B027
        """Release workers and devices. The engine always calls it, on errors and Ctrl-C too."""

    def poll(self) -> list[str]:
        """Called by the engine in its own thread, between runs and at least every second while
        runs are in flight: hand over what came in from remote workers (their epoch records, to
        the `on_epoch` given with each task) and return what the sweep's log should say since the
        last call (a worker that died, the run it re-queued). Default: nothing (an executor that
        calls `on_epoch` itself, as the in-process one does)."""
        return []


EpochSink = Callable[[int, dict[str, Any]], None]


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")


def register_executor(name: str) -> Callable[[Callable[..., Executor]], Callable[..., Executor]]:
    """Class decorator: register an Executor (its keyword arguments are its spec options) as `name`."""
    return EXECUTORS.register(name)


def executor_options(name: str) -> list[str]:
    """The options an executor takes: its constructor's keyword arguments."""
    check_executor(name, None)
    signature = inspect.signature(EXECUTORS.get(name))
    return [
        p.name for p in signature.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def check_executor(name: str, options: dict[str, Any] | None = None) -> None:
    """A one-line HotlapError for an unknown executor or option."""
    from hotlap.errors import HotlapError

    if name not in EXECUTORS:
        raise HotlapError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS.names())})")
    if not options:
        return
    unknown = sorted(set(options or {}) - set(executor_options(name)))
    if unknown:
        valid = ", ".join(executor_options(name)) or "none"
        raise HotlapError(f"executor {name}: unknown option(s) {', '.join(unknown)} (valid: {valid})")


def get_executor(name: str = "inprocess", **options: Any) -> Executor:
    from hotlap.errors import HotlapError

    check_executor(name, options)
    try:
        return EXECUTORS.get(name)(**options)
    except (TypeError, ValueError) as exc:
        raise HotlapError(f"executor {name}: {exc}") from None


def list_executors() -> list[str]:
    return EXECUTORS.names()


Warmup = bool | str  # True (always), False (never) or "auto" (on an accelerator, not on a CPU)


def check_warmup(warmup: Any) -> Warmup:
    """An executor's `warmup` option: auto, true or false (a ValueError otherwise)."""
    if isinstance(warmup, bool) or warmup == "auto":
        return warmup  # type: ignore[no-any-return]
    raise ValueError(f"warmup is auto, true or false (got {warmup!r})")


def warms(warmup: Warmup, device: Any) -> bool:
    """Whether runs on `device` warm up first: `auto` on an accelerator only (cuDNN's autotuning
    and compilation are what a warmup absorbs; a CPU has neither), else as told."""
    return warmup is True or (warmup == "auto" and device_type(device) != "cpu")
