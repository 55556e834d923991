"""Evaluation-only fields: configs that differ only in them train one network per seed, and the
others are evaluated on it, paired and exactly once (the toy recipe's `bonus`, airbench's TTA)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import toy_recipe

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor, Outcome, Task
from hotlap.offline import derive_sweep
from hotlap.spec import parse_spec
from hotlap.store import Store

TOY = {"recipe": "toy", "dataset": "synthetic:8", "device": "cpu"}


class _Threaded(InProcessExecutor):
    """Three runs in flight at once, each resolved by a thread: siblings meet a source that is
    still training."""

    capacity = 3

    def __init__(self) -> None:
        super().__init__(warmup=False)
        self.pool = ThreadPoolExecutor(3)

    def submit(self, task: Task, on_epoch=None) -> Future[Outcome]:
        return self.pool.submit(self._run, task, None)

    def shutdown(self) -> None:
        self.pool.shutdown()
        super().shutdown()


def _sweep(tmp_path, executor, **spec):
    toy_recipe.TRAINED.clear()
    parsed = parse_spec({"name": "share", **TOY, **spec})
    store = Store(tmp_path)
    record, _ = open_sweep(store, parsed)
    result = Engine(store, record, executor).run()
    return store, record, result


@pytest.mark.parametrize("executor", [lambda: InProcessExecutor(warmup=False), _Threaded])
def test_siblings_share_one_training_per_seed_and_are_evaluated_on_it(tmp_path, executor):
    space = {"x": [0.1, 0.3], "bonus": [0.0, 0.01, 0.02]}
    store, record, result = _sweep(
        tmp_path, executor(), space=space, seeds=3, keep_weights=False, base={"seconds": 0.02}
    )
    with store:
        runs = store.runs(record.id)
        configs = {c.config_id: c for c in store.configs(record.id)}
    assert result.state == "done" and len(runs) == 18 and all(r.status == "done" for r in runs)
    # One training per (x, seed): 6, not 18.
    assert sorted(toy_recipe.TRAINED) == sorted((x, 1, s) for x in (0.1, 0.3) for s in range(3))
    by_id = {r.id: r for r in runs}
    evaluated = [r for r in runs if (r.details or {}).get("source_run")]
    assert len(evaluated) == 12
    for run in evaluated:
        source = by_id[run.details["source_run"]]
        assert source.seed == run.seed and not (source.details or {}).get("source_run")
        mine, theirs = configs[run.config_id].params, configs[source.config_id].params
        assert mine["x"] == theirs["x"] and mine["bonus"] != theirs["bonus"]
        # the source's training (times, plain accuracy), this config's evaluation
        for metric in ("train_time", "accuracy", "total_time"):
            assert run.value(metric) == source.value(metric)
        assert run.value("tta_accuracy") == pytest.approx(source.value("accuracy") + 0.005 + mine["bonus"])
        assert (record.directory / source.config_id / f"seed-{source.seed}" / "model.pt").exists()
    # The same values as training every config (the toy's training is deterministic): sharing
    # changes the cost, never the result.
    for run in runs:
        params = configs[run.config_id].params
        noise = ((run.seed * 7919) % 13 - 6) / 1000
        accuracy = 0.9 - (params["x"] - 0.3) ** 2 - 0.01 + noise - 0.02 / 4
        assert run.value("tta_accuracy") == pytest.approx(accuracy + 0.005 + params["bonus"])


def test_a_failed_source_releases_its_siblings_which_then_train(tmp_path):
    store, record, _ = _sweep(
        tmp_path,
        _Threaded(),
        space={"bonus": [0.0, 0.01, 0.02]},
        seeds=2,
        base={"fail_seed": 1, "seconds": 0.02},
        max_consecutive_failures=10,
    )
    with store:
        runs = store.runs(record.id)
        counts = store.counts(record.id)
    failed = [r for r in runs if r.status == "failed"]
    assert {r.seed for r in failed} == {1} and len(failed) == 3
    assert all(r.error.startswith("ValueError") for r in failed)  # each trained (and failed) itself
    assert sum(r.status == "done" for r in runs) == 3 and counts["queued"] == counts["running"] == 0
    assert sorted(toy_recipe.TRAINED) == [(0.5, 1, 0), (0.5, 1, 1), (0.5, 1, 1), (0.5, 1, 1)]


def test_a_resumed_sweep_evaluates_on_the_networks_an_earlier_session_trained(tmp_path):
    spec = {"space": {"bonus": [0.0, 0.01]}, "seeds": 3, "budget": {"max_runs": 3}}
    store, record, result = _sweep(tmp_path, InProcessExecutor(warmup=False), **spec)
    assert result.state == "stopped" and 2 <= len(toy_recipe.TRAINED) <= 3  # 3 runs, in random order
    with store:
        first = {r.id for r in store.runs(record.id) if r.status == "done"}
        record, _ = open_sweep(store, parse_spec({"name": "share", **TOY, **spec, "budget": {}}))
        assert Engine(store, record, InProcessExecutor(warmup=False)).run().state == "done"
        runs = store.runs(record.id)
    assert len(toy_recipe.TRAINED) == 3  # one network per seed over both sessions: none twice
    sources = [(r.details or {}).get("source_run") for r in runs]
    assert len(runs) == 6 and sum(bool(s) for s in sources) == 3
    # the second session evaluated on a network the first one trained
    assert any(r.id not in first and source in first for r, source in zip(runs, sources, strict=True))


def test_a_timed_evaluation_on_another_device_than_its_source_fails(tmp_path):
    store, record, _ = _sweep(tmp_path, InProcessExecutor(warmup=False), seeds=2)
    with store:
        store.db.execute("UPDATE runs SET device = 'Other GPU' WHERE sweep_id = ?", (record.id,))
        store.db.commit()
        derived = derive_sweep(store, record.id, {"bonus": [0.0, 0.1]})
        Engine(store, derived, InProcessExecutor(warmup=False)).run()
        runs = store.runs(derived.id)
    assert len(runs) == 4 and all(r.status == "failed" for r in runs)
    assert "mix two devices" in runs[0].error and "Other GPU" in runs[0].error


def test_deriving_a_training_field_is_refused(tmp_path):
    store, record, _ = _sweep(tmp_path, InProcessExecutor(warmup=False), seeds=1)
    with store, pytest.raises(Exception, match="changes toy's training"):
        derive_sweep(store, record.id, {"x": [0.1]})


def test_airbench_tta_levels_share_training_and_time_their_own_evaluation(tmp_path):
    tiny = {"width": 0.125, "epochs": 1, "batch_size": 128, "lr": 30.0}
    spec = parse_spec(
        {
            "name": "levels",
            "recipe": "airbench94",
            "dataset": "digits",
            "device": "cpu",
            "base": tiny,
            "space": {"tta_level": [0, 2], "tta_untranslated_weight": [0.5, 0.7]},
            "seeds": 2,
            "keep_weights": False,
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        runs = store.runs(record.id)
        configs = {c.config_id: c.params for c in store.configs(record.id)}
    assert len(runs) == 8 and all(r.status == "done" for r in runs)
    trained = [r for r in runs if not (r.details or {}).get("source_run")]
    assert len(trained) == 2  # one network per seed for the four configs
    for run in runs:
        source = next(t for t in trained if t.seed == run.seed)
        assert run.value("train_time") == source.value("train_time")
        level = configs[run.config_id]["tta_level"]
        if level == configs[source.config_id]["tta_level"] and run is not source:
            assert run.value("eval_time") == source.value("eval_time")  # re-weighted: nothing new ran
        elif run is not source:  # another level: the network ran again, timed here
            assert run.value("eval_time") != source.value("eval_time")
            assert run.value("total_time") == pytest.approx(run.value("train_time") + run.value("eval_time"))
        if level == 0:  # one view: TTA accuracy is the plain accuracy
            assert run.value("tta_accuracy") == pytest.approx(run.value("accuracy"), abs=1e-6)
