"""The in-process executor: one warm worker in this process, tasks run one at a time."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotlap.config import RecipeConfig
from hotlap.data import load_dataset
from hotlap.envinfo import device_name, device_type, resolve_device, resolve_device_name
from hotlap.errors import RunPruned, is_full_disk
from hotlap.executors.base import (
    EpochSink,
    Executor,
    Outcome,
    Task,
    Warmup,
    check_warmup,
    encode_artifacts,
    register_executor,
    warms,
)
from hotlap.probes import CostProbe, ProbeRun, probes_for
from hotlap.recipes import Recipe, RunResult, get_recipe
from hotlap.recipes.base import Placement, SourceRun
from hotlap.recipes.checkpoint import Checkpoint
from hotlap.recipes.divergence import check_learned

if TYPE_CHECKING:
    from hotlap.data import DeviceData

__all__ = ["InProcessExecutor", "Worker"]

WARMUP_SEED = 0x5EED  # the warmup run's seed; never reported


def _load(dataset: str, data_dir: str | None, device: Any) -> DeviceData:
    from hotlap.data.loader import DeviceData  # (torch: imported where a dataset is loaded)

    return DeviceData.from_dataset(load_dataset(dataset, data_dir), device)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class LazyData:
    """A worker's dataset, loaded on first use of anything but its device: an evaluation that only
    re-weights a source's stored logits (`hotlap eval --reweight`) never loads it."""

    def __init__(self, load: Callable[[], DeviceData], device: Any) -> None:
        self.device = device
        self._load = load
        self._data: DeviceData | None = None

    def loaded(self) -> DeviceData:
        if self._data is None:
            self._data = self._load()
        return self._data

    def __getattr__(self, name: str) -> Any:  # anything but the device: the dataset's
        return getattr(self.loaded(), name)


class Worker:
    """Holds one dataset on one device and trains (config, seed) pairs, warm after the first.

    `warmup` trains once on random labels for every distinct training shape the worker meets (the
    recipe's `shape`: widths, batch size, dtype...), so that cuDNN autotuning and compilation are
    paid outside every measured run, also when a later config has another shape. An evaluation of a
    shared network warms up its evaluation the same way, once per shape (the recipe's untimed pass).
    The dataset is loaded when a run first needs it (`LazyData`).
    """

    def __init__(self, data: LazyData | Placement) -> None:
        self.lazy = data
        # (a Placement's device by its name: a recipe without data may never need torch here)
        self.device: Any = data.name if isinstance(data, Placement) else data.device
        self.warmed: set[tuple[str, Hashable]] = set()
        self.probes: dict[str, CostProbe] = {}  # one of each cost probe, made on first use
        if device_type(self.device) == "cuda":
            import torch

            torch.backends.cudnn.benchmark = True

    @property
    def data(self) -> DeviceData | Placement:
        return self.lazy.loaded() if isinstance(self.lazy, LazyData) else self.lazy

    def needs_warmup(self, recipe: Recipe, config: RecipeConfig) -> bool:
        return recipe.uses_data and (recipe.name, recipe.shape_of(config)) not in self.warmed

    def warmup(self, recipe: Recipe, config: RecipeConfig) -> RunResult | None:
        if not self.needs_warmup(recipe, config):
            return None
        self.warmed.add((recipe.name, recipe.shape_of(config)))
        assert not isinstance(self.data, Placement)
        return recipe.train(
            recipe.warmup_config(config),
            self.data.with_random_labels(WARMUP_SEED),
            WARMUP_SEED,
            keep_weights=False,
        )

    def run(
        self,
        recipe: Recipe,
        config: RecipeConfig,
        seed: int,
        on_epoch: Any = None,
        keep_weights: bool = True,
        checkpoint: Checkpoint | None = None,
        log_every: int | None = None,
    ) -> RunResult:
        extra: dict[str, Any] = {"checkpoint": checkpoint} if checkpoint is not None else {}
        if log_every is not None and recipe.accepts("log_every"):
            extra["log_every"] = log_every
        result = recipe.train(config, self.data, seed, on_epoch=on_epoch, keep_weights=keep_weights, **extra)
        if not isinstance(self.data, Placement):
            check_learned(result.history, self.data.num_classes)
        return result

    def measure(self, run: ProbeRun, probes: list[CostProbe]) -> dict[str, float]:
        """The cost metrics the run asked for, untimed, after it; those the device lacks are left
        out."""
        out: dict[str, float] = {}
        for probe in probes:
            out.update({k: float(v) for k, v in probe.measure(run).items() if k in run.wanted})
        return out

    def evaluate(self, recipe: Recipe, config: RecipeConfig, source: SourceRun, warmup: bool) -> RunResult:
        """`config` evaluated on the network `source` trained (the recipe's `evaluate`)."""
        assert recipe.evaluate is not None
        key = (recipe.name, ("evaluate", recipe.shape_of(config)))
        first = key not in self.warmed
        self.warmed.add(key)
        return recipe.evaluate(config, self.lazy, source, warmup=warmup and first)  # type: ignore[arg-type]


@register_executor("inprocess")
class InProcessExecutor(Executor):
    """Keeps each dataset on its device and warms up once per training shape.

    `submit` trains before it returns, so the future is already resolved: the engine treats it like
    any other executor's. Any exception inside a run (non-finite loss, CUDA out of memory, a bug in
    a recipe) becomes a failed Outcome; KeyboardInterrupt goes through.

    Options: `warmup` (default auto: on a GPU, not on a CPU; true: always; false: never): one
    untimed run of one epoch on random labels per training shape.
    """

    capacity = 1

    def __init__(self, warmup: Warmup = "auto") -> None:
        self.warmup = check_warmup(warmup)
        self.workers: dict[tuple[str, str | None, str], Worker] = {}
        self.host = socket.gethostname()

    def _worker(self, dataset: str | None, data_dir: str | None, device: str) -> Worker:
        """The worker holding `dataset` on `device` (None: a worker without data, for recipes
        that run something of their own)."""
        key = (dataset or "", data_dir, device)
        if key not in self.workers:
            if dataset is None:
                self.workers[key] = Worker(Placement(resolve_device_name(device)))
            else:
                resolved = resolve_device(device)
                self.workers[key] = Worker(LazyData(partial(_load, dataset, data_dir, resolved), resolved))
        return self.workers[key]

    def prepare(self, dataset: str | None, data_dir: str | None, device: str) -> None:
        data = self._worker(dataset, data_dir, device).lazy
        if isinstance(data, LazyData):  # loaded now: a dataset that fails does before any run
            data.loaded()

    def submit(self, task: Task, on_epoch: EpochSink | None = None) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        future.set_result(self._run(task, on_epoch))
        return future

    def shutdown(self) -> None:
        self.workers.clear()

    def _run(self, task: Task, on_epoch: EpochSink | None) -> Outcome:
        recipe = get_recipe(task.recipe)
        worker = self._worker(task.dataset if recipe.uses_data else None, task.data_dir, task.device)
        config = recipe.config_cls.model_validate(task.config)
        device = worker.device
        base: dict[str, Any] = {"device": device_name(device), "host": self.host}
        if task.source is None and warms(self.warmup, device) and worker.needs_warmup(recipe, config):
            begin = time.perf_counter()
            with contextlib.suppress(Exception):  # the real run will fail the same way, and say why
                worker.warmup(recipe, config)
            base["warmup_time"] = time.perf_counter() - begin

        def epoch(record: dict[str, Any]) -> None:
            if on_epoch is not None:
                on_epoch(task.run_id, record)

        started, begin = _now(), time.perf_counter()
        probes = probes_for(task.costs, worker.probes)
        probing = ProbeRun(recipe, config, worker.lazy, task.costs)  # type: ignore[arg-type]
        try:
            for probe in probes:
                probe.start(probing)
            if task.source is None:
                keep = task.keep_weights or any(p.needs_weights for p in probes)  # dropped below if not kept
                result = worker.run(
                    recipe,
                    config,
                    task.seed,
                    on_epoch=epoch,
                    keep_weights=keep,
                    checkpoint=_checkpoint(task, recipe),
                    log_every=task.log_every,
                )
            else:
                result = worker.evaluate(recipe, config, _source_run(task.source), warms(self.warmup, device))
            for probe in probes:
                probe.stop(probing)
            probing.result = result
            if task.source is not None:
                base["source_run"] = task.source["run_id"]
                if not result.timed:  # every time is the source's: so is the device
                    base["device"] = task.source.get("device") or base["device"]
            result.metrics.update(worker.measure(probing, probes))
            kept = {
                name: value
                for name, value in result.artifacts.items()
                if (task.keep_weights if name == "model.pt" else task.keep_artifacts)
            }
            artifacts = encode_artifacts(kept)
        except RunPruned as exc:  # stopped at an epoch by the engine's pruner: not a failure
            ended = _now()
            return Outcome(
                run_id=task.run_id,
                status="pruned",
                error=str(exc),
                started=started,
                ended=ended,
                wall_time=time.perf_counter() - begin,
                **base,
            )
        except Exception as exc:
            if is_full_disk(exc):  # the machine's failure, not the run's: the sweep stops, resumable
                raise
            kept = getattr(exc, "artifacts", None) if task.keep_artifacts else None
            return Outcome.failure(
                task.run_id,
                exc,
                started=started,
                ended=_now(),
                wall_time=time.perf_counter() - begin,
                artifacts=dict(kept or {}),
                **base,
            )
        return Outcome(
            run_id=task.run_id,
            status="done",
            metrics={k: float(v) for k, v in result.metrics.items()},
            history=result.history,
            precision=result.precision,
            artifacts=artifacts,
            started=started,
            ended=_now(),
            wall_time=time.perf_counter() - begin,
            **base,
        )


def _source_run(source: dict[str, Any]) -> SourceRun:
    directory = source.get("directory")
    return SourceRun(
        config=dict(source.get("config") or {}),
        metrics=dict(source.get("metrics") or {}),
        history=list(source.get("history") or []),
        directory=Path(directory) if directory else None,
    )


def _checkpoint(task: Task, recipe: Recipe) -> Checkpoint | None:
    """The run's mid-run checkpoint, where the task names one and the recipe can resume."""
    if task.checkpoint is None or task.checkpoint_every is None or not recipe.resumable:
        return None
    return Checkpoint(Path(task.checkpoint), task.checkpoint_every)
