"""Start-up time of the commands that only read the store, against the interpreter's own.

`hotlap ls` and `hotlap --version` import no torch or scipy, `hotlap status` no torch (the CLI
imports each command's libraries inside the command): this prints how long each takes, end to end
as a user types it, beside `python -c pass`, as medians over `--repeat` runs taken in turn, and
their ratio to the bare interpreter.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 15]

The store is a temporary one with one finished sweep of the airbench94 recipe's config (the runs
are written straight into it, nothing trains).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotlap.engine.session import open_sweep
from hotlap.spec import parse_spec
from hotlap.store import Store


def _store(workdir: Path) -> None:
    spec = parse_spec(
        {
            "name": "startup",
            "recipe": "airbench94",
            "dataset": "digits",
            "device": "cpu",
            "seeds": 5,
            "space": {"lr": [10.0, 11.5]},
        }
    )
    with Store(workdir) as store:
        record, _ = open_sweep(store, spec)
        rows = []
        for index in range(2):
            config_id = f"c{index}"
            store.add_config(
                record.id,
                config_id=config_id,
                config_hash=config_id,
                origin="grid",
                is_baseline=False,
                params={"lr": 10.0 + 1.5 * index},
                config={},
            )
            rows += [
                (
                    config_id,
                    seed,
                    {"tta_accuracy": 0.9 + seed / 1000, "train_time": 2.0},
                    "cpu",
                    "h",
                    None,
                    None,
                    None,
                )
                for seed in range(5)
            ]
        store.record_done(record.id, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    hotlap = str(Path(sys.executable).parent / "hotlap")
    with tempfile.TemporaryDirectory() as tmp:
        _store(Path(tmp))
        env = {**os.environ, "HOTLAP_HOME": tmp}
        env.pop("HOTLAP_PLUGINS", None)  # a plugin may import torch itself
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hotlap --version": [hotlap, "--version"],
            "hotlap ls": [hotlap, "ls"],
            "hotlap status": [hotlap, "status", "startup"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # in turn, so a slow moment of the machine hits all alike
            for name, command in commands.items():
                begin = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                times[name].append(time.perf_counter() - begin)
    bare = statistics.median(times["python -c pass"])
    print(f"{'command':<18} {'median s':>9} {'vs python -c pass':>18}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<18} {median:>9.3f} {median / bare:>17.1f}x")


if __name__ == "__main__":
    main()
