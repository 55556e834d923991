"""The in-process executor: one warm worker in this process, tasks run one at a time."""

from __future__ import annotations

import datetime as dt
import io
import socket
import time
import traceback
from concurrent.futures import Future
from typing import Any

import numpy as np
import torch

from hotlap.config import RecipeConfig
from hotlap.data import DeviceData, load_dataset
from hotlap.envinfo import device_name, resolve_device
from hotlap.executors.base import Executor, Outcome, Task, register_executor
from hotlap.recipes import Recipe, RunResult, get_recipe

__all__ = ["InProcessExecutor", "Worker"]

WARMUP_SEED = 0x5EED  # the warmup run's seed; never reported


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _last_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class Worker:
    """Holds one dataset on one device and trains (config, seed) pairs, warm after the first.

    The first call of `warmup` trains once on random labels so that cuDNN autotuning (and, later,
    compilation) is paid outside every measured run.
    """

    def __init__(self, data: DeviceData) -> None:
        self.data = data
        self.warmed_up = False
        if data.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def warmup(self, recipe: Recipe, config: RecipeConfig) -> RunResult | None:
        if self.warmed_up:
            return None
        result = recipe.train(
            config, self.data.with_random_labels(WARMUP_SEED), WARMUP_SEED, keep_weights=False
        )
        self.warmed_up = True
        return result

    def run(
        self,
        recipe: Recipe,
        config: RecipeConfig,
        seed: int,
        on_epoch: Any = None,
        keep_weights: bool = True,
    ) -> RunResult:
        return recipe.train(config, self.data, seed, on_epoch=on_epoch, keep_weights=keep_weights)


@register_executor("inprocess")
class InProcessExecutor(Executor):
    """Keeps each dataset on its device and pays the warmup once per process.

    `submit` trains before it returns, so the future is already resolved: the engine treats it like
    any other executor's. Any exception inside a run (non-finite loss, CUDA out of memory, a bug in
    a recipe) becomes a failed Outcome; KeyboardInterrupt goes through.
    """

    capacity = 1

    def __init__(self, warmup: bool = True) -> None:
        self.warmup = warmup
        self.workers: dict[tuple[str, str | None, str], Worker] = {}
        self.host = socket.gethostname()

    def _worker(self, dataset: str, data_dir: str | None, device: str) -> Worker:
        key = (dataset, data_dir, device)
        if key not in self.workers:
            resolved = resolve_device(device)
            data = DeviceData.from_dataset(load_dataset(dataset, data_dir), resolved)
            self.workers[key] = Worker(data)
        return self.workers[key]

    def prepare(self, dataset: str, data_dir: str | None, device: str) -> None:
        self._worker(dataset, data_dir, device)

    def submit(self, task: Task) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        future.set_result(self._run(task))
        return future

    def _run(self, task: Task) -> Outcome:
        worker = self._worker(task.dataset, task.data_dir, task.device)
        recipe = get_recipe(task.recipe)
        config = recipe.config_cls.model_validate(task.config)
        device = worker.data.device
        base = {"run_id": task.run_id, "device": device_name(device), "host": self.host}
        if self.warmup and not worker.warmed_up:
            begin = time.perf_counter()
            try:
                worker.warmup(recipe, config)
            except Exception:  # the real run will fail the same way and say why
                worker.warmed_up = True
            base["warmup_time"] = time.perf_counter() - begin
        started, begin = _now(), time.perf_counter()
        try:
            result = worker.run(recipe, config, task.seed, keep_weights=task.keep_weights)
        except Exception as exc:
            return Outcome(
                status="failed", started=started, ended=_now(), wall_time=time.perf_counter() - begin,
                error=_last_line(exc), traceback=traceback.format_exc(), **base,
            )  # fmt: skip
        weights = None
        if task.keep_weights and result.state_dict is not None:
            buffer = io.BytesIO()
            torch.save(result.state_dict, buffer)
            weights = buffer.getvalue()
        logits = labels = None
        if task.keep_logits and result.view_logits is not None:
            logits = _npy(result.view_logits.numpy())
            labels = _npy(worker.data.test_labels.cpu().numpy().astype(np.int16))
        metrics = result.metrics()
        metrics.pop("seed")
        return Outcome(
            status="done", metrics=metrics, weights=weights, logits=logits, labels=labels, started=started,
            ended=_now(), wall_time=time.perf_counter() - begin, **base,
        )  # fmt: skip
