"""`hotlap status`, `report` (each format), `export` and `resume` on a large store: the time each
command takes beyond start-up.

The store is built by the engine itself, as a real sweep leaves it: an airbench94 sweep (its full
resolved config in every config row) with a target, a baseline, a history of epochs in every run,
run folders and runs.jsonl, in two sessions (a budget stops the first; the second continues it).
Only the training is replaced: an executor that returns at once with synthetic values (each
config's mean accuracy drawn near the target, a seed's noise around it). Two shapes:

- `--configs 1000 --seeds 50` (default): 1,000 configs raced over 10, 20, ..., 50 seeds;
- `--configs 50000 --seeds 1`: a random search of 50,000 configs, one seed each.

Each command runs as a user types it (`hotlap status ID`, ...), `--repeat` times; "beyond start-up"
is its median wall time minus the same command's on a sweep of the same shape with 2 configs,
measured side by side (imports, opening the store, writing a report's files).

`--floors` adds, in one process on each store, the parts of a report that no faster analysis can
remove: reading the store, writing the rows as CSV, encoding them as JSON (one line each, as
report.json has them), and drawing the plots; the least of `--repeat` timings of each.

    .venv/bin/python benchmarks/analysis_scale.py [--configs 1000] [--seeds 50] [--repeat 3] [--floors]

The goal (issue 27): within 2 s beyond start-up for each command, at both shapes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path

import torch

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.envinfo import device_name
from hotlap.executors import Executor, Outcome, Task
from hotlap.spec import parse_spec
from hotlap.store import Store

HOTLAP = str(Path(sys.executable).with_name("hotlap"))
CPU = device_name(torch.device("cpu"))
EPOCHS = 10  # records in each run's history, as airbench94's per-epoch log has


class Synthetic(Executor):
    """Returns each task's outcome at once: accuracy drawn around its config's mean (fixed by the
    config, so that races close some configs and carry others to the last seed), train_time around
    its config's, a history of EPOCHS records."""

    def submit(self, task: Task, on_epoch=None) -> Future[Outcome]:
        digest = hashlib.sha256(repr(sorted(task.config.items())).encode()).digest()
        config_rng = random.Random(digest)
        mean_acc, mean_time = config_rng.uniform(0.9395, 0.9405), config_rng.uniform(3.0, 4.0)
        rng = random.Random(digest + task.seed.to_bytes(4, "little"))
        accuracy, train = rng.gauss(mean_acc, 0.0014), rng.gauss(mean_time, 0.03)
        history = [
            {"epoch": e + 1, "train_loss": 1.0 / (e + 1), "train_acc": 0.9, "accuracy": accuracy - 0.01}
            for e in range(EPOCHS)
        ]
        metrics = {
            "tta_accuracy": accuracy,
            "accuracy": accuracy - 0.005,
            "train_time": train,
            "eval_time": 0.1,
            "total_time": train + 0.1,
        }
        future: Future[Outcome] = Future()
        future.set_result(
            Outcome(
                run_id=task.run_id,
                status="done",
                metrics=metrics,
                history=history,
                device=CPU,  # what a resumed session on this machine names
                host="bench",
                wall_time=train + 0.2,
            )
        )
        return future


def spec_of(name: str, configs: int, seeds: int, **extra: object):
    raced = {"min": 10, "max": seeds, "step": 10} if seeds >= 20 else seeds
    return parse_spec(
        {
            "name": name,
            "recipe": "airbench94",
            "dataset": "synthetic:8",
            "device": "cpu",
            "base": {"batch_size": 8},  # for synthetic:8's 8 images (nothing trains)
            "space": {"lr": {"low": 1.0, "high": 20.0}, "epochs": {"low": 8.0, "high": 10.0}},
            "strategy": {"name": "random", "trials": configs - 1},
            "seeds": raced,
            "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.94}, "minimize": "train_time"},
            "baseline": {},
            "keep_weights": False,
            "keep_artifacts": False,
            **extra,
        }
    )


def build(workdir: Path, name: str, configs: int, seeds: int) -> str:
    """A finished sweep of `configs` configs (one the baseline) x up to `seeds` seeds, in two
    sessions; its id."""
    with Store(workdir) as store:
        full = spec_of(name, configs, seeds)
        first = spec_of(name, configs, seeds, budget={"max_runs": max(1, configs * seeds // 2)})
        record, _ = open_sweep(store, first)
        Engine(store, record, Synthetic()).run()
        record, _ = open_sweep(store, full)
        result = Engine(store, record, Synthetic()).run()
        if result.state != "done":
            sys.exit(f"building the store: the sweep ended {result.state}: {result.message}")
        return record.id


def command(*args: str, workdir: Path) -> float:
    begin = time.perf_counter()
    done = subprocess.run(
        [HOTLAP, *args, "--workdir", str(workdir)], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        sys.exit(f"hotlap {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return seconds


COMMANDS = {  # name -> the command's words after the sweep id; OUT: a file in a fresh folder
    "status": ["status"],
    "report (table and files)": ["report"],
    "report --format csv": ["report", "--format", "csv", "--out", "OUT/r.csv"],
    "report --format json": ["report", "--format", "json", "--out", "OUT/r.json"],
    "report --format md": ["report", "--format", "md", "--out", "OUT/r.md"],
    "report --format html": ["report", "--format", "html", "--out", "OUT/r.html"],
    "export (csv)": ["export", "--out", "OUT/runs.csv"],
    "resume (finished)": ["resume"],
}


def timed(words: list[str], sweep_id: str, workdir: Path, repeat: int) -> float:
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    args = [words[0], sweep_id, *(w.replace("OUT", str(out)) for w in words[1:])]
    return statistics.median(command(*args, workdir=workdir) for _ in range(repeat))


def floors(workdir: Path, sweep_id: str, repeat: int) -> dict[str, float]:
    """The least of `repeat` timings, in this process, of each part of a report that does not
    depend on how the analysis computes: the store read, the rows written as CSV and encoded as
    JSON, and the plots drawn (the analysis and the rows made once, untimed)."""
    from hotlap.io import to_json
    from hotlap.report import load_report
    from hotlap.report.plots import draw_all
    from hotlap.report.rows import csv_rows, named_rows

    def least(work) -> float:
        best = float("inf")
        for _ in range(repeat):
            begin = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - begin)
        return best

    with Store(workdir, create=False) as store:
        read = least(lambda: (store.configs(sweep_id), store.runs(sweep_id, details=False)))
        analysis = load_report(store, sweep_id).analysis
    values, named = csv_rows(analysis), named_rows(analysis)
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "store read (configs, runs)": read,
            "rows written as CSV": least(lambda: csv.writer(io.StringIO()).writerows(values)),
            "rows encoded as JSON": least(lambda: [to_json(row) for row in named]),
            "plots drawn (PNG)": least(lambda: draw_all(analysis, Path(tmp))),
        }


def measure(
    configs: int, seeds: int, repeat: int, commands: list[str], with_floors: bool = False
) -> dict[str, tuple[float, float]]:
    """Each command's median wall on the large sweep and on the 2-config one (and with
    `with_floors`, each floor's)."""
    with tempfile.TemporaryDirectory() as tmp:
        large_dir, small_dir = Path(tmp) / "large", Path(tmp) / "small"
        begin = time.perf_counter()
        large = build(large_dir, "scale", configs, seeds)
        with Store(large_dir, create=False) as store:
            runs = sum(store.counts(large).values())
        print(
            f"store: {configs:,} configs x up to {seeds} seeds, {runs:,} runs, built in {time.perf_counter() - begin:.0f} s"
        )
        small = build(small_dir, "scale", 2, seeds)
        found = {}
        for name in commands:
            found[name] = (
                timed(COMMANDS[name], large, large_dir, repeat),
                timed(COMMANDS[name], small, small_dir, repeat),
            )
            big, tiny = found[name]
            print(
                f"  hotlap {name:28s} {big:6.2f} s; on 2 configs {tiny:5.2f} s: {big - tiny:5.2f} s beyond start-up"
            )
        if with_floors:
            large_floors, small_floors = floors(large_dir, large, repeat), floors(small_dir, small, repeat)
            for name, big in large_floors.items():
                tiny = small_floors[name]
                found[f"floor: {name}"] = (big, tiny)
                print(
                    f"  floor: {name:29s} {big:6.2f} s; on 2 configs {tiny:5.2f} s: {big - tiny:5.2f} s beyond"
                )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="timings per command; the median is shown")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="of: " + ", ".join(COMMANDS))
    parser.add_argument("--floors", action="store_true", help="also time what no faster analysis removes")
    args = parser.parse_args()
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    unknown = [c for c in commands if c not in COMMANDS]
    if unknown or args.configs < 2 or args.seeds < 1:
        parser.error(f"unknown command {unknown[0]!r}" if unknown else "at least 2 configs and 1 seed")
    measure(args.configs, args.seeds, args.repeat, commands, args.floors)


if __name__ == "__main__":
    main()
