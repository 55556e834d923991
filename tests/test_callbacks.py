"""Callbacks and trackers: a broken tracker is switched off and changes no result; W&B (offline)
and MLflow (SQLite) follow a sweep end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import hotlap
from hotlap.callbacks import Callback
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

# --- callbacks and trackers --------------------------------------------------------------------


class _Broken(Callback):
    def run_start(self, event, **info):
        raise RuntimeError("tracker down: bad API key")


class _Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[str, int | None]] = []

    def run_start(self, event, **info):
        self.events.append(("start", event.run.seed))

    def epoch(self, event, **info):
        self.events.append(("epoch", event.record["epoch"]))

    def run_end(self, event, **info):
        self.events.append(("end", event.run.seed))


TRACKED = {
    "name": "tracked",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "space": {"x": [0.1, 0.3]},
    "seeds": 2,
}


def _values(workdir: Path) -> list[tuple]:
    with hotlap.open(workdir) as store:
        frame = store.to_pandas("tracked")
    return sorted(zip(frame["config_id"], frame["seed"], frame["tta_accuracy"], strict=True))


def test_a_broken_tracker_leaves_the_results_identical(tmp_path):
    recorder = _Recorder()
    with Store(tmp_path / "plain") as store:
        record, _ = open_sweep(store, parse_spec(TRACKED))
        Engine(store, record, InProcessExecutor(warmup=False), callbacks=[("recorder", recorder)]).run()
    (_, seed), epoch, end = recorder.events[:3]  # the epoch while it trains
    assert epoch == ("epoch", 1) and end == ("end", seed)
    with Store(tmp_path / "broken") as store:
        record, _ = open_sweep(store, parse_spec(TRACKED))
        result = Engine(
            store, record, InProcessExecutor(warmup=False), callbacks=[("broken", _Broken())]
        ).run()
    assert result.state == "done"
    assert _values(tmp_path / "plain") == _values(tmp_path / "broken")
    log = (record.directory / "log.txt").read_text()
    assert (
        log.count("callback broken switched off after its run_start failed: tracker down: bad API key") == 1
    )


def test_wandb_offline_and_mlflow_sqlite_track_a_sweep_end_to_end(tmp_path, monkeypatch, capfd):
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from hotlap.callbacks import get_callback

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(TRACKED))
        callbacks = [(name, get_callback(name)) for name in ("wandb", "mlflow")]
        engine = Engine(store, record, InProcessExecutor(warmup=False), callbacks=callbacks)
        assert engine.run().state == "done"
        configs = {c.config_id for c in store.configs(record.id)}
    log = (record.directory / "log.txt").read_text()
    assert "switched off" not in log, log
    # W&B's banner is not printed per run: one line says where the sweep's runs go
    printed = capfd.readouterr()
    said = [line for line in (printed.out + printed.err).splitlines() if line.startswith("wandb:")]
    assert len(said) == 1 and "offline" in said[0], said

    # W&B: one offline run per (config, seed), each with its transaction log.
    runs = sorted((record.directory / "wandb").glob("offline-run-*"))
    assert len(runs) == 5 and all(list(r.glob("*.wandb")) for r in runs)  # 4 and the sweep's summary
    summary = [r for r in runs if b"recommended_config" in next(r.glob("*.wandb")).read_bytes()]
    assert len(summary) == 1 and b"recommendation" in next(summary[0].glob("*.wandb")).read_bytes()
    runs = [r for r in runs if r not in summary]
    # Offline, the run's config, history and summary live in its transaction log (what `wandb sync`
    # uploads): the sweep as group, the config as job type, the per-epoch and final metrics.
    logs = [next(run.glob("*.wandb")).read_bytes() for run in runs]
    assert all(record.id.encode() in log for log in logs)
    assert {c for c in configs if any(c.encode() in log for log in logs)} == configs
    assert all(b"val_acc" in log and b"tta_accuracy" in log and b"fail_seed" in log for log in logs)
    # MLflow: a parent run and a nested run per (config, seed), read back through MLflow's client.
    client = MlflowClient(tracking_uri=f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name("tracked")
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 4
    assert {c.data.tags["hotlap.config_id"] for c in children} == configs
    assert all(c.info.status == "FINISHED" and "seed" in c.data.params for c in children)
    history = client.get_metric_history(children[0].info.run_id, "val_acc")
    assert [m.step for m in history] == [1]
    # the parent run carries the sweep's answer
    parent = parents[0].data
    assert parent.tags["hotlap.recommendation"] and "runs_used" in parent.metrics
    if parent.tags["hotlap.recommended_config"] != "none":
        assert "recommended.tta_accuracy" in parent.metrics


def test_wandb_files_go_where_wandb_dir_says(tmp_path, monkeypatch):
    """`$WANDB_DIR`, W&B's own setting, wins over the sweep's folder."""
    from types import SimpleNamespace

    from hotlap.callbacks.wandb import WandbCallback

    callback = WandbCallback()
    callback.info = SimpleNamespace(sweep=SimpleNamespace(directory=tmp_path / "sweep"))  # type: ignore[assignment]
    monkeypatch.delenv("WANDB_DIR", raising=False)
    assert callback.directory == tmp_path / "sweep"
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    assert callback.directory == tmp_path / "elsewhere"


def test_the_optuna_callback_writes_a_study_optuna_can_read_while_the_sweep_runs(tmp_path, plugin_env):
    """`callbacks: [optuna]`: each finished run is a trial of a study in the sweep folder's journal,
    readable with Optuna's own API (what optuna-dashboard reads) while the sweep still runs; the
    config's swept values are its params, its mean and spread so far user attributes."""
    import subprocess
    import time

    import optuna
    import yaml
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from .conftest import hotlap_script

    spec = tmp_path / "live.yaml"
    raw = {
        "name": "live",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 3,
        "base": {"seconds": 0.4},
        "space": {"x": [0.1, 0.3]},
        "callbacks": ["optuna"],
    }
    spec.write_text(yaml.safe_dump(raw))
    command = [hotlap_script(), "sweep", str(spec), "--workdir", str(tmp_path / "work"), "--no-warmup"]
    driver = subprocess.Popen(
        command, env=plugin_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seen_live = 0
    try:
        deadline = time.monotonic() + 120
        while driver.poll() is None and time.monotonic() < deadline:
            journals = list((tmp_path / "work" / "sweeps").glob("live-*/optuna.journal"))
            storage = JournalStorage(JournalFileBackend(str(journals[0]))) if journals else None
            names = optuna.get_all_study_names(storage) if storage is not None else []
            if names:  # (the journal file is made a moment before the study is written into it)
                (name,) = names
                trials = optuna.load_study(study_name=name, storage=storage).get_trials()
                if trials and driver.poll() is None:
                    seen_live = max(seen_live, len(trials))
                    if seen_live >= 2:
                        break
            time.sleep(0.1)
        assert seen_live >= 2 and seen_live < 6, "no trial was readable while the sweep ran"
    finally:
        _, err = driver.communicate(timeout=120)
    assert driver.returncode == 0, err
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials()
    assert len(trials) == 6 and {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert sorted({t.params["x"] for t in trials}) == [0.1, 0.3]
    last = max((t for t in trials if t.params["x"] == 0.3), key=lambda t: t.number)
    assert last.user_attrs["tta_accuracy_n"] == 3 and last.user_attrs["tta_accuracy_std"] is not None
    assert (
        abs(
            last.user_attrs["tta_accuracy_mean"]
            - sum(t.values[0] for t in trials if t.params["x"] == 0.3) / 3
        )
        < 1e-9
    )
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE]
