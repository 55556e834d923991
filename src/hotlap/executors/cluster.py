"""The `ray` executor: warm worker actors on every GPU (or CPU) of a Ray cluster.

    executor: {name: ray, address: local, gpus_per_run: 1, cpus_per_run: 1, max_workers: 8}

Each actor holds an in-process executor (data loaded once, warmed up once per shape) and is kept
`queue` tasks deep. Only the driver writes the store: outcomes come back as plain data through
Ray's object store. A dead actor's run is re-queued (up to MAX_REQUEUES deaths), and packed runs
(`gpus_per_run` < 1) record their placement so packed and exclusive times never pool. The guide,
with Slurm: docs/how-to/ray.md."""

from __future__ import annotations

import collections
import contextlib
import math
import os
import threading
from concurrent.futures import Future
from typing import Any

from hotlap.errors import HotlapError, is_full_disk
from hotlap.executors.base import EpochSink, Executor, Outcome, Task, Warmup, check_warmup, register_executor
from hotlap.executors.ray_worker import RunWorker

__all__ = ["MAX_REQUEUES", "RayExecutor", "RunWorker", "packing"]

ENV = ("HOTLAP_PLUGINS", "HOTLAP_DATA", "HOTLAP_CACHE", "PYTHONPATH")
MAX_REQUEUES = 3  # a run whose worker died this many times running it fails (something kills every worker)
EXTRA = "pip install 'hotlap[ray]'"
REPLACE_SECONDS = 600  # the longest a run queued on a dead actor waits for its successor to load


def packing(gpus_per_run: float | None) -> int:
    """Runs that share one GPU at `gpus_per_run` (1: exclusive; 0 or None: no GPU)."""
    if not gpus_per_run or gpus_per_run >= 1:
        return 1
    return max(1, math.floor(1 / gpus_per_run + 1e-9))


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HotlapError(f"executor ray needs Ray, which is not installed: {EXTRA}") from None
    return ray


@register_executor("ray")
class RayExecutor(Executor):
    """Runs tasks on Ray actors; see the module's docstring for the options."""

    def __init__(
        self,
        address: str = "local",
        gpus_per_run: float | None = None,
        cpus_per_run: float = 1,
        max_workers: int | None = None,
        queue: int = 2,
        warmup: Warmup = "auto",
    ) -> None:
        if not isinstance(address, str) or not address:
            raise ValueError(f"address is local, auto, ray://HOST:PORT or HOST:PORT (got {address!r})")
        if gpus_per_run is not None and (
            isinstance(gpus_per_run, bool)
            or not isinstance(gpus_per_run, int | float)
            or not 0 <= gpus_per_run <= 8
        ):
            raise ValueError(f"gpus_per_run is a share of a GPU from 0 to 8 (got {gpus_per_run!r})")
        if isinstance(cpus_per_run, bool) or not isinstance(cpus_per_run, int | float) or cpus_per_run <= 0:
            raise ValueError(f"cpus_per_run is a number above 0 (got {cpus_per_run!r})")
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ValueError(f"max_workers is a whole number from 1 (got {max_workers!r})")
        if isinstance(queue, bool) or not isinstance(queue, int) or queue < 1:
            raise ValueError(f"queue is a whole number from 1 (got {queue!r})")
        check_warmup(warmup)
        self.ray = _ray()
        self.address, self.gpus_per_run, self.cpus_per_run = (
            address,
            gpus_per_run,
            float(cpus_per_run),
        )
        self.max_workers, self.queue, self.warmup = max_workers, queue, warmup
        self.started_ray = False
        self.actors: list[Any] = []
        self.busy: collections.Counter[int] = collections.Counter()  # actor index -> tasks in flight
        self.dead: set[int] = set()
        # An actor runs its tasks one at a time, in the order sent: the first of its outstanding
        # runs is the one running. When it dies, only that run is charged the death; those merely
        # queued behind it go again as they were.
        self.sent: collections.defaultdict[int, list[int]] = collections.defaultdict(list)
        self.running_at_death: dict[int, int | None] = {}
        self.replaced: dict[int, threading.Event] = {}  # set once a dead actor's successor is up (or not)
        self.requeues: collections.Counter[int] = collections.Counter()  # run id -> deaths seen
        self._events: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._prepared: tuple[str | None, str | None, str] | None = None
        self._device = "cpu"
        self._threads = 1
        self.device_name: str | None = None
        # Epochs: records that came in (run id, record), the sink of each run in flight, how many
        # of a run's records its sink has had, and the histories of runs that ended.
        self._queue: Any = None
        self._pump: threading.Thread | None = None
        self._arrived: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
        self._sinks: dict[int, EpochSink | None] = {}
        self._delivered: collections.Counter[int] = collections.Counter()
        self._ended: collections.deque[tuple[int, list[dict[str, Any]]]] = collections.deque()

    @property
    def capacity(self) -> int:  # type: ignore[override]
        return max(1, len(self.live) * self.queue)

    @property
    def live(self) -> list[int]:
        return [i for i in range(len(self.actors)) if i not in self.dead]

    @property
    def packed(self) -> int:
        return packing(self.gpus_per_run) if self._device == "cuda" else 1

    def poll(self) -> list[str]:
        """Epoch records that arrived go to their runs' sinks (in the engine's thread); a run that
        ended gets the rest of its history; then the log's events since the last call."""
        with self._lock:
            arrived, ended, events = list(self._arrived), list(self._ended), list(self._events)
            self._arrived.clear()
            self._ended.clear()
            self._events.clear()
        for run_id, record in arrived:
            self._deliver(run_id, [record])
        for run_id, history in ended:
            self._deliver(run_id, history[self._delivered[run_id] :])
            self._sinks.pop(run_id, None)
            self._delivered.pop(run_id, None)
        return events

    def _deliver(self, run_id: int, records: list[dict[str, Any]]) -> None:
        if run_id not in self._sinks:
            return  # a run that ended (its history was handed over) or one sent again
        sink = self._sinks[run_id]
        for record in records:
            self._delivered[run_id] += 1
            if sink is not None:
                sink(run_id, record)

    def _pumping(self) -> None:
        """Driver thread: move epoch records from the workers' queue to `_arrived`."""
        from ray.util.queue import Empty

        while not self._stopping:
            try:
                item = self._queue.get(block=True, timeout=0.5)
            except Empty:
                continue
            except Exception:  # Ray went away
                return
            with self._lock:
                self._arrived.append(item)

    # --- start ---------------------------------------------------------------------------------

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        try:
            ray.init(address=self.address, **options)
        except Exception as exc:  # no cluster at that address, a version mismatch, ...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HotlapError(
                f"executor ray: cannot start or join Ray at {self.address!r}: {first}"
            ) from None
        self.started_ray = True

    def _workers(self, device: str) -> int:
        """How many actors the cluster's resources hold for this device."""
        resources = self.ray.cluster_resources()
        if device == "cuda":
            per = self.gpus_per_run if self.gpus_per_run else 1.0
            count = math.floor(resources.get("GPU", 0) / per + 1e-9)
        else:
            count = math.floor(resources.get("CPU", 0) / self.cpus_per_run + 1e-9)
        if self.max_workers is not None:
            count = min(count, self.max_workers)
        if count < 1:
            what = "GPU" if device == "cuda" else "CPU"
            raise HotlapError(
                f"executor ray: the cluster has {resources.get(what, 0):g} {what}(s), too few for one run "
                f"({what.lower()}s_per_run {self.gpus_per_run if device == 'cuda' else self.cpus_per_run:g})"
            )
        return count

    def _spawn(self) -> Any:
        remote = self.ray.remote(RunWorker)
        gpus = (self.gpus_per_run if self.gpus_per_run else 1.0) if self._device == "cuda" else 0
        # The driver's plugins, data and cache folders, also on nodes that did not inherit them.
        env = {k: v for k in ENV if (v := os.environ.get(k))}
        options = {"num_cpus": self.cpus_per_run, "num_gpus": gpus, "max_restarts": 0}
        if env:
            options["runtime_env"] = {"env_vars": env}
        return remote.options(**options).remote(
            self._device, self._threads, self.warmup, self.packed, self._queue
        )

    def prepare(self, dataset: str | None, data_dir: str | None, device: str) -> None:
        key = (dataset, data_dir, device)
        if self._prepared == key:
            return
        self._stopping = False  # (prepared again after a shutdown)
        self._connect()
        resources = self.ray.cluster_resources()
        gpu_wanted = device.startswith("cuda") or (device == "auto" and resources.get("GPU", 0) > 0)
        if self.gpus_per_run == 0:
            gpu_wanted = False
        if device.startswith("cuda") and not resources.get("GPU", 0):
            raise HotlapError(f"executor ray: device {device}, but the Ray cluster has no GPU")
        self._device = "cuda" if gpu_wanted else "cpu"
        self._threads = max(1, math.floor(self.cpus_per_run))
        if self._queue is None:  # the workers' epoch records come back through it
            from ray.util.queue import Queue

            self._queue = Queue(actor_options={"num_cpus": 0})
            self._pump = threading.Thread(target=self._pumping, daemon=True, name="hotlap-ray-epochs")
            self._pump.start()
        if not self.actors:
            self.actors = [self._spawn() for _ in range(self._workers(self._device))]
        ray = self.ray
        try:  # every worker loads the dataset onto its device before the first task
            names = ray.get([actor.prepare.remote(dataset, data_dir) for actor in self.actors])
        except ray.exceptions.RayError as exc:  # the data failed to load, or the worker to start
            cause = getattr(exc, "cause", None) or exc
            first = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
            raise HotlapError(f"executor ray: a worker could not start on {dataset}: {first}") from None
        self._prepared = key
        # What the sweep's session records as its device: the workers' (the driver may have no GPU).
        self.device_name = names[0] if len(set(names)) == 1 else None

    # --- tasks ---------------------------------------------------------------------------------

    def submit(self, task: Task, on_epoch: EpochSink | None = None) -> Future[Outcome]:
        """Send `task` to the least busy live actor. Its epochs come back through a Ray queue while
        it runs and go to `on_epoch` when the engine polls (`poll`)."""
        if not self.actors:
            self.prepare(task.dataset, task.data_dir, task.device)
        outer: Future[Outcome] = Future()
        self._sinks[task.run_id] = on_epoch
        self._send(task, outer)
        return outer

    def _send(self, task: Task, outer: Future[Outcome]) -> None:
        with self._lock:
            live = self.live
            if not live:
                outer.set_result(
                    Outcome(
                        run_id=task.run_id, status="failed", error="RayError: no Ray worker is left to run it"
                    )
                )
                return
            index = min(live, key=lambda i: self.busy[i])
            self.busy[index] += 1
            self.sent[index].append(task.run_id)
            actor = self.actors[index]
        ref = actor.run.remote(task.to_dict())
        ref.future().add_done_callback(lambda done: self._done(done, task, outer, index))

    def _done(self, done: Future[Any], task: Task, outer: Future[Outcome], index: int) -> None:
        ray = self.ray
        outcome: Outcome | None = None
        error: BaseException | None = None
        try:
            outcome = done.result()
        except BaseException as exc:
            error = exc
        lost = isinstance(error, ray.exceptions.RayActorError | ray.exceptions.WorkerCrashedError)
        with self._lock:  # one block: which of the dead actor's runs was running is read once
            self.busy[index] -= 1
            fresh = lost and index not in self.dead
            if fresh:  # the first of its runs to hear of the death
                self.dead.add(index)
                self.running_at_death[index] = self.sent[index][0] if self.sent[index] else None
                self.replaced[index] = threading.Event()
            charged = lost and self.running_at_death.get(index) == task.run_id
            self._sent_back(index, task.run_id)
            if outcome is not None:  # the rest of its epochs go to its sink at the next poll
                self._ended.append((task.run_id, list(outcome.history)))
        if lost:  # (off Ray's callback thread: replacing the worker waits for the new one to load data)
            threading.Thread(
                target=self._lost, args=(index, task, outer, error, fresh, charged), daemon=True
            ).start()
        elif error is not None:  # the task itself raised outside the worker's guard (a full disk)
            cause = getattr(error, "cause", None)
            cause = cause if isinstance(cause, BaseException) else error
            if is_full_disk(cause):  # the machine's failure: the sweep stops, resumable
                outer.set_exception(cause)
            else:
                outer.set_result(Outcome.failure(task.run_id, cause))
        else:
            outer.set_result(outcome)  # type: ignore[arg-type]

    def _sent_back(self, index: int, run_id: int) -> None:
        """`run_id` is no longer outstanding on actor `index` (under the lock; once is enough)."""
        with contextlib.suppress(ValueError):
            self.sent[index].remove(run_id)

    def _lost(
        self, index: int, task: Task, outer: Future[Outcome], exc: BaseException, fresh: bool, charged: bool
    ) -> None:
        """An actor died with the run (running it if `charged`, else queued behind the one that
        was): another actor takes its place (if `fresh`: the first word of this death) and the run
        goes again, unless its worker died MAX_REQUEUES times running it."""
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        with self._lock:
            if charged:
                self.requeues[task.run_id] += 1
            deaths = self.requeues[task.run_id]
        if fresh:
            self._replace(index)
        else:  # queued behind the run that died: it goes to the successor when that is up
            self.replaced[index].wait(timeout=REPLACE_SECONDS)
        if self._stopping:  # shut down (Ctrl-C): the run stays queued in the store for the next session
            outer.set_result(
                Outcome(
                    run_id=task.run_id,
                    status="failed",
                    error="RayError: the executor was shut down",
                )
            )
            return
        if deaths >= MAX_REQUEUES:
            outer.set_result(
                Outcome(
                    run_id=task.run_id,
                    status="failed",
                    error=f"RayActorError: its worker died {deaths} times; last: {first}",
                )
            )
            return
        why = "its Ray worker died" if charged else "its Ray worker died before it started"
        with self._lock:
            self._events.append(
                f"re-queued run {task.run_id} (seed {task.seed}): {why} ({first}); it runs again on another"
            )
        self._send(task, outer)

    def _replace(self, index: int) -> None:
        """A new actor takes dead actor `index`'s place (the cluster's resources are free again)."""
        try:
            if not self._stopping:
                actor = self._spawn()
                self.ray.get(actor.prepare.remote(*(self._prepared or (None, None, "cpu"))[:2]))
                with self._lock:
                    self.actors.append(actor)
        except Exception as spawn_error:
            with self._lock:
                self._events.append(f"warning: no new Ray worker replaces the dead one ({spawn_error})")
        finally:
            self.replaced[index].set()

    _stopping = False

    def shutdown(self) -> None:
        self._stopping = True
        ray = self.ray
        if self._pump is not None:
            self._pump.join(timeout=2)
        if self._queue is not None:
            with contextlib.suppress(Exception):
                ray.kill(self._queue.actor, no_restart=True)
        self._queue, self._pump = None, None
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already dead, or Ray is gone
                ray.kill(actor, no_restart=True)
        self.actors = []
        self.dead.clear()
        self._prepared = None
        if self.started_ray and ray.is_initialized():
            ray.shutdown()
        self.started_ray = False  # (_stopping stays set: a late callback starts nothing)
