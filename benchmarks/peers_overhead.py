"""Per-trial overhead of the tools users run sweeps with today, side by side with hotlap's, on a
trivial objective (no training): what each costs per trial or run of its own.

- Optuna in memory, on SQLite (default journal, then WAL) and on a journal file, `study.optimize`
  with a random sampler;
- Ray Tune (where `ray[tune]` is importable): `tune.Tuner` with its defaults, and with actor reuse
  (`reuse_actors=True`) and no checkpoints or loggers;
- hotlap: `benchmarks/engine_overhead.py`'s no-op sweep (store, per-run artifacts, callbacks).

    .venv/bin/python benchmarks/peers_overhead.py [--trials 300] [--ray-trials 100]

Each figure is the mean wall time per trial over the whole study, its set-up excluded (the study,
the Ray runtime), the store in a temporary folder on the same disk.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def objective(trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    return x * x


def optuna_per_trial(storage_kind: str, trials: int, folder: Path) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if storage_kind.startswith("sqlite"):
        path = folder / f"{storage_kind}.db"
        if storage_kind == "sqlite-wal":
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA journal_mode=WAL")
        storage = f"sqlite:///{path}"
    elif storage_kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(str(folder / "journal.log")))
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)  # set-up and first writes outside the clock
    begin = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - begin) / trials


def ray_per_trial(trials: int, folder: Path, reuse: bool) -> float | None:
    try:
        import ray
        from ray import tune
    except ImportError:
        return None

    def trainable(config):
        return {"loss": config["x"] ** 2}

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    run_config = tune.RunConfig(storage_path=str(folder / "ray"), verbose=0)
    if reuse:
        run_config = tune.RunConfig(
            storage_path=str(folder / "ray"),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            callbacks=[],
        )
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=reuse, metric="loss", mode="min"),
        run_config=run_config,
    )
    begin = time.perf_counter()
    tuner.fit()
    return (time.perf_counter() - begin) / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--ray-trials", type=int, default=100)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in ("memory", "sqlite", "sqlite-wal", "journal"):
            rows.append((f"Optuna, {kind}", optuna_per_trial(kind, args.trials, folder)))
        if os.environ.get("HOTLAP_SKIP_RAY") != "1":
            os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
            for reuse in (False, True):
                seconds = ray_per_trial(args.ray_trials, folder, reuse)
                if seconds is None:
                    rows.append(("Ray Tune", None))
                    break
                rows.append((f"Ray Tune, {'actor reuse, no checkpoints' if reuse else 'defaults'}", seconds))
    try:
        import engine_overhead

        gaps, _total, _ran = engine_overhead.one_sweep(args.trials, 1)
        rows.append(("hotlap, no-op recipe (store, artifacts, callbacks)", sum(gaps) / len(gaps)))
    except ImportError:  # hotlap's own benchmark needs hotlap installed
        pass
    for name, seconds in rows:
        shown = "not installed" if seconds is None else f"{1000 * seconds:8.2f} ms per trial"
        print(f"{name:55s} {shown}")


if __name__ == "__main__":
    main()
