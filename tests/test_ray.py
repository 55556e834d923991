"""The ray executor, for real: Ray started locally with the machine's CPUs, the toy recipe. The
same (config, seed) set as in-process; a worker killed mid-run has its run re-queued and every run
is done once; a driver SIGKILLed, then the same command, continues exactly once; Ctrl-C stops the
workers; packing a time-objective sweep is refused in one line; without Ray, one line too."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest
import toy_recipe  # noqa: F401  (registers the toy recipe)
import yaml

from hotlap.callbacks import Callback
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import get_executor
from hotlap.spec import SpecError, parse_spec
from hotlap.store import Store

from .conftest import hotlap_script

ray = pytest.importorskip("ray")  # the extra hotlap[ray]: `make test` installs it

SPEC = {
    "name": "spread",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "seeds": 3,
    "space": {"x": [0.1, 0.3], "y": [0, 2]},
}
RAY = {"name": "ray", "cpus_per_run": 1, "warmup": False}


@pytest.fixture(autouse=True)
def _plugins(monkeypatch):
    """Ray's workers import the toy recipe as the driver's plugin (they inherit the environment)."""
    from pathlib import Path

    monkeypatch.setenv("HOTLAP_PLUGINS", "toy_recipe")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent / "plugins"))


class Messages(Callback):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.epochs: list[int] = []

    def message(self, event, **info) -> None:
        self.lines.append(event.text)

    def epoch(self, event, **info) -> None:
        self.epochs.append(event.run.id)


def sweep(tmp_path, raw, executor, callbacks=()):
    spec = parse_spec(raw)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, executor, callbacks=callbacks).run()
        return {
            (r.config_id, r.seed): (r.status, r.values.get("tta_accuracy")) for r in store.runs(record.id)
        }


def test_the_ray_executor_runs_what_in_process_runs(tmp_path):
    inprocess = sweep(tmp_path / "a", SPEC, get_executor("inprocess", warmup=False))
    executor = get_executor("ray", **{k: v for k, v in RAY.items() if k != "name"})
    messages = Messages()
    spread = sweep(tmp_path / "b", {**SPEC, "executor": RAY}, executor, callbacks=[("messages", messages)])
    assert spread == inprocess and len(spread) == 12  # the same runs, the same results
    assert (
        sorted(set(messages.epochs)) == sorted(messages.epochs) and len(messages.epochs) == 12
    )  # each epoch once
    assert not ray.is_initialized()  # shut down with the sweep: it started Ray, it stops it


def test_a_worker_killed_mid_run_has_its_run_requeued_and_every_run_is_done_once(tmp_path):
    raw = {**SPEC, "base": {"seconds": 0.4}, "executor": RAY}
    executor = get_executor("ray", cpus_per_run=1, warmup=False)
    executor.prepare("synthetic:8", None, "cpu")
    victim = executor.actors[0]

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and executor.busy[0] == 0:
            time.sleep(0.05)
        time.sleep(0.1)  # mid-run
        ray.kill(victim, no_restart=True)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    messages = Messages()
    runs = sweep(tmp_path, raw, executor, callbacks=[("messages", messages)])
    killer.join(timeout=5)
    assert len(runs) == 12 and {status for status, _ in runs.values()} == {"done"}
    requeued = [line for line in messages.lines if line.startswith("re-queued run")]
    assert requeued and "Ray worker died" in requeued[0]
    with Store(tmp_path) as store:
        (record,) = store.sweeps()
        assert len(store.runs(record.id)) == 12 and store.counts(record.id)["done"] == 12  # no failed run


def test_a_driver_killed_then_the_same_command_continues_exactly_once(tmp_path, plugin_env):
    spec = tmp_path / "spread.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "executor": RAY, "base": {"seconds": 0.2}}))
    workdir = tmp_path / "work"
    command = [hotlap_script(), "sweep", str(spec), "--workdir", str(workdir)]
    killed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**plugin_env, "HOTLAP_FAULT": "before-finish:4"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=plugin_env)
    assert final.returncode == 0, final.stderr
    with Store(workdir) as store:
        (record,) = store.sweeps()
        runs = store.runs(record.id)
    assert len(runs) == 12 and {r.status for r in runs} == {"done"}
    assert len({(r.config_id, r.seed) for r in runs}) == 12
    # the runs in flight when the driver died (up to 2 workers x 2 queued) ran again, once each
    assert re.search(
        r"re-queued [1-4] run\(s\) left running by an earlier session",
        (record.directory / "log.txt").read_text(),
    )


def _workers() -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if "RunWorker" in line]


def _running(workdir: Path) -> bool:
    """Whether the sweep in `workdir` has a run claimed by a worker (read as a second process would)."""
    if not (workdir / "hotlap.db").exists():
        return False
    with Store(workdir, create=False) as store:
        return any(store.counts(record.id).get("running", 0) for record in store.sweeps())


def test_ctrl_c_stops_the_workers_and_leaves_a_resumable_sweep(tmp_path, plugin_env):
    spec = tmp_path / "spread.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "executor": RAY, "base": {"seconds": 2.0}}))
    workdir = tmp_path / "work"
    driver = subprocess.Popen(
        [hotlap_script(), "sweep", str(spec), "--workdir", str(workdir)],
        env=plugin_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (_workers() and _running(workdir)):
        time.sleep(0.2)
    assert _workers(), "no Ray worker started"  # (they start before the sweep does)
    assert _running(workdir), "no run started"
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    assert "hotlap resume" in out + err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _workers():
        time.sleep(0.2)
    assert not _workers()
    with Store(workdir) as store:
        (record,) = store.sweeps()
        assert store.counts(record.id).get("running", 0) == 0  # back in the queue


def test_packing_a_time_objective_sweep_needs_timing_packed():
    raw = {
        **SPEC,
        "objective": {"minimize": "train_time"},
        "executor": {"name": "ray", "gpus_per_run": 0.5},
    }
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    message = str(caught.value)
    assert "packs 2 runs on a GPU" in message and "timing: packed" in message and "\n" not in message
    assert parse_spec({**raw, "timing": "packed"}).timing == "packed"
    assert parse_spec({**raw, "objective": {"maximize": "tta_accuracy"}})  # accuracy only: packing is fine


def test_without_ray_the_executor_is_one_line_naming_the_extra(monkeypatch, cli, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    spec = tmp_path / "spread.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "executor": RAY}))
    code, _, err = cli("sweep", str(spec), "--workdir", str(tmp_path / "work"))
    assert code == 2 and "hotlap[ray]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gpus_per_run": "x"}, "gpus_per_run is a share of a GPU from 0 to 8"),
        ({"cpus_per_run": 0}, "cpus_per_run is a number above 0"),
        ({"max_workers": 0}, "max_workers is a whole number from 1"),
        ({"queue": "deep"}, "queue is a whole number from 1"),
        ({"address": ""}, "address is local, auto"),
    ],
)
def test_bad_ray_options_are_one_line(options, message):
    from hotlap.errors import HotlapError

    with pytest.raises(HotlapError) as caught:
        get_executor("ray", **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


# --- deaths, without a cluster: actors whose tasks end when the test says --------------------------


class _Actor:
    """Stands for a RunWorker actor: `run.remote(task)` returns a ref whose future the test ends."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, Future]] = []
        self.run = SimpleNamespace(remote=self._run)
        self.prepare = SimpleNamespace(remote=lambda *args: "cpu")

    def _run(self, task: dict) -> SimpleNamespace:
        done: Future = Future()
        self.sent.append((task["run_id"], done))
        return SimpleNamespace(future=lambda: done)

    def die(self, *run_ids: int) -> None:
        """The actor dies: each of these runs hears of it, in this order."""
        futures = dict(self.sent)
        for run_id in run_ids:
            futures[run_id].set_exception(ray.exceptions.RayActorError())


def _deaths_executor() -> tuple[object, list[_Actor]]:
    from hotlap.executors.cluster import RayExecutor

    executor = RayExecutor(queue=2, warmup=False)
    actors = [_Actor()]
    executor.actors = list(actors)

    def spawn() -> _Actor:
        actors.append(_Actor())
        return actors[-1]

    executor._spawn = spawn
    executor.ray = SimpleNamespace(exceptions=ray.exceptions, get=lambda ref: ref, kill=lambda *a, **k: None)
    return executor, actors


def _task(run_id: int):
    from hotlap.executors import Task

    return Task(run_id=run_id, recipe="toy", config={}, dataset="synthetic:8", seed=run_id)


def _arrives(actor: _Actor, run_id: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and run_id not in dict(actor.sent):
        time.sleep(0.01)
    assert run_id in dict(actor.sent), f"run {run_id} was not sent again"


def test_a_run_queued_behind_the_one_whose_worker_died_is_not_charged_the_death():
    executor, actors = _deaths_executor()
    running, queued = executor.submit(_task(1)), executor.submit(_task(2))
    actors[0].die(2, 1)  # the queued run hears of the death first: still not its death
    _arrives(actors[1], 1)
    _arrives(actors[1], 2)
    assert executor.requeues[1] == 1 and executor.requeues[2] == 0
    events = executor.poll()
    assert any("re-queued run 2" in e and "died before it started" in e for e in events), events
    assert not running.done() and not queued.done()  # both go again on the successor
    executor.shutdown()


def test_a_run_fails_at_the_third_death_of_its_worker_as_the_docs_say():
    from hotlap.executors.cluster import MAX_REQUEUES

    executor, actors = _deaths_executor()
    outcome = executor.submit(_task(1))
    for death in range(1, MAX_REQUEUES + 1):
        _arrives(actors[-1], 1)
        assert not outcome.done(), f"failed after {death - 1} deaths"
        actors[-1].die(1)
    result = outcome.result(timeout=10)
    assert result.status == "failed" and f"died {MAX_REQUEUES} times" in result.error
    assert MAX_REQUEUES == 3  # docs/how-to/ray.md: "after 3 deaths of one run, it fails"
    executor.shutdown()
