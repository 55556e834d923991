"""Executors: a future that raises fails its run, Ctrl-C shuts the executor down, warmup once per
training shape, executors chosen by name with checked options."""

from __future__ import annotations

import subprocess
from concurrent.futures import Future

import pytest
import toy_recipe

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import Executor, InProcessExecutor, Outcome, Task
from hotlap.spec import parse_spec
from hotlap.store import Store

from .conftest import hotlap_script

# --- executors ---------------------------------------------------------------------------------


class _Flaky(Executor):
    """Seed 1's future raises; remembers whether it was shut down."""

    def __init__(self) -> None:
        self.inner = InProcessExecutor(warmup=False)
        self.shut = False

    def submit(self, task: Task, on_epoch=None) -> Future[Outcome]:
        if task.seed == 1:
            future: Future[Outcome] = Future()
            future.set_exception(ConnectionError("worker lost\nits node went away"))
            return future
        return self.inner.submit(task, on_epoch)

    def shutdown(self) -> None:
        self.shut = True


def test_a_future_that_raises_fails_its_run_and_the_sweep_goes_on(tmp_path):
    spec = parse_spec(
        {
            "name": "flaky",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"x": [0.1, 0.3]},
            "seeds": 3,
        }
    )
    executor = _Flaky()
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        result = Engine(store, record, executor).run()
        runs = store.runs(record.id)
    assert result.state == "done" and executor.shut
    failed = [r for r in runs if r.status == "failed"]
    assert {r.seed for r in failed} == {1} and len(failed) == 2
    assert failed[0].error == "ConnectionError: worker lost / its node went away"
    assert sum(r.status == "done" for r in runs) == 4


def test_the_executor_is_shut_down_on_ctrl_c(tmp_path):
    class Interrupting(_Flaky):
        def submit(self, task, on_epoch=None):
            raise KeyboardInterrupt

    spec = parse_spec(
        {"name": "stop", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu", "seeds": 2}
    )
    executor = Interrupting()
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        with pytest.raises(KeyboardInterrupt):
            Engine(store, record, executor).run()
        assert executor.shut and store.counts(record.id)["running"] == 0


def test_a_worker_warms_up_once_per_training_shape_before_its_first_timed_run(tmp_path):
    toy_recipe.WARMUPS.clear()
    spec = parse_spec(
        {
            "name": "shapes",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"y": [1, 2], "x": [0.1, 0.2]},
            "seeds": 2,
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=True)).run()
    # y is the toy recipe's shape: one warmup each (in the order the runs came: random)
    assert sorted(toy_recipe.WARMUPS) == [1, 2]
    log = (record.directory / "log.txt").read_text()
    assert log.count("[warmup]") == 2


def test_executors_are_chosen_by_name_with_checked_options(cli, plugin_env, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: e\nrecipe: toy\ndataset: synthetic:8\ndevice: cpu\nseeds: 1\n")
    work = ["--workdir", str(tmp_path / "w")]
    for extra, fragment in (
        (["executor=gpu_farm"], "unknown executor 'gpu_farm'"),
        (["executor={name: inprocess, workers: 4}"], "unknown option(s) workers (valid: warmup)"),
        (["--executor", "gpu_farm"], "unknown executor 'gpu_farm'"),
    ):
        code, _, err = cli("sweep", str(spec), *extra, *work)
        assert code == 2 and fragment in err, err
        assert len(err.strip().splitlines()) == 1
    # The installed script, as a user runs it: the same one line.
    proc = subprocess.run(
        [hotlap_script(), "sweep", str(spec), "callbacks=[wandbb]", *work],
        capture_output=True,
        text=True,
        env=plugin_env,
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown callback 'wandbb' (closest: wandb)" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()


def test_the_warmup_is_on_an_accelerator_by_default_and_as_told_otherwise():
    """`warmup: auto` (the default) warms up on a GPU and not on a CPU, where there is no cuDNN
    autotuning or graph recording to absorb; true and false are always and never."""
    import torch

    from hotlap.executors.base import warms

    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert InProcessExecutor().warmup == "auto"
    assert warms("auto", gpu) and not warms("auto", cpu)
    assert warms(True, cpu) and not warms(False, gpu)
    with pytest.raises(ValueError, match="warmup is auto, true or false"):
        InProcessExecutor(warmup="sometimes")


class _Counting(Executor):
    """The in-process executor, counting the data it prepares and the runs it is given."""

    def __init__(self) -> None:
        self.inner = InProcessExecutor(warmup=False)
        self.prepared, self.submitted = 0, 0

    def prepare(self, dataset, data_dir, device) -> None:
        self.prepared += 1
        self.inner.prepare(dataset, data_dir, device)

    def submit(self, task: Task, on_epoch=None) -> Future[Outcome]:
        self.submitted += 1
        return self.inner.submit(task, on_epoch)


def test_a_finished_sweep_resumed_as_it_was_prepares_no_data_and_ends_as_before(tmp_path):
    """Nothing to run: no dataset onto the device (a CIFAR sweep's 60,000 images, or a dataset
    this machine lacks) and none of the racing bookkeeping; the same answer and store. A sweep
    stopped by its budget, resumed with a larger one, prepares and runs what is left."""
    spec = {"name": "again", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu"}
    spec |= {"space": {"x": [0.1, 0.3]}, "seeds": 2}
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec({**spec, "budget": {"max_runs": 2}}))
        cut = Engine(store, record, _Counting()).run()
        more = _Counting()
        record, _ = open_sweep(store, parse_spec(spec))
        first = Engine(store, record, more).run()
        assert cut.state != "done" and (more.prepared, more.submitted) == (1, 2)
        runs = store.runs(record.id)
        idle = _Counting()
        record, _ = open_sweep(store, parse_spec(spec))
        again = Engine(store, record, idle).run()
        assert (idle.prepared, idle.submitted) == (0, 0)
        assert again.state == first.state == "done" and again.message == first.message
        assert again.analysis.recommendation == first.analysis.recommendation
        assert store.runs(record.id) == runs and store.sweep(record.id).state == "done"
