"""Per-epoch pruning on a ResNet smoke sweep: the same study with `pruning` (ASHA, the median rule)
and without, on the digits at 8x8, on this machine's CPU.

The study: ResNet-18 (cifar stem), a learning-rate grid from far too small to far too large, a few
seeds, a few epochs each; the objective is the test accuracy. Each variant runs in a fresh store
through the whole engine (the in-process executor, store writes included). Reported per variant:
the epochs trained (summed over runs, from their histories), the runs pruned and the configs
closed, the wall time, and the config recommended with its mean accuracy, so the time saved and
what it cost in the answer are side by side.

    .venv/bin/python benchmarks/pruning.py [--epochs 6] [--seeds 2] [--lrs 0.001,0.01,0.05,0.1,0.4,2]

Prints one Markdown row per variant for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date

import torch

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

RULES = {
    "none": None,
    "asha": {"rule": "asha", "min_epochs": 1, "reduction_factor": 3},
    "median": {"rule": "median", "min_epochs": 2, "startup_runs": 3},
}


def _spec(args: argparse.Namespace, pruning: dict | None) -> dict:
    spec = {
        "name": "pruning-bench",
        "recipe": "resnet",
        "dataset": "digits",
        "device": "cpu",
        "seeds": args.seeds,
        "base": {
            "image_size": 8,
            "epochs": args.epochs,
            "batch_size": 64,
            "val_size": 300,
            "scheduler": "cosine",
            "warmup_epochs": 0,
        },
        "space": {"lr": [float(x) for x in args.lrs.split(",")]},
        "objective": {"maximize": "accuracy"},
        "keep_weights": False,
        "keep_artifacts": False,
    }
    if pruning is not None:
        spec["pruning"] = pruning
    return spec


def _measure(args: argparse.Namespace, rule: str) -> dict:
    with tempfile.TemporaryDirectory() as home, Store(home) as store:
        record, _ = open_sweep(store, parse_spec(_spec(args, RULES[rule])))
        begin = time.perf_counter()
        result = Engine(store, record, InProcessExecutor(warmup=False)).run()
        wall = time.perf_counter() - begin
        runs = store.runs(record.id)
    epochs = sum(len((r.details or {}).get("history") or []) for r in runs)
    best = result.analysis.best
    return {
        "rule": rule,
        "runs": len(runs),
        "pruned": sum(r.status == "pruned" for r in runs),
        "epochs": epochs,
        "wall": wall,
        "best": f"lr={best.params['lr']:g}" if best is not None else "-",
        "accuracy": best.metrics["accuracy"].mean if best is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--lrs", default="0.001,0.01,0.05,0.1,0.4,2")
    parser.add_argument("--rules", default="none,asha,median")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = [_measure(args, rule) for rule in args.rules.split(",")]
    full = next((r for r in rows if r["rule"] == "none"), rows[0])
    device = f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__.split('+')[0]}"
    print(
        "| date | device | pruning | runs | pruned | epochs trained | vs none | wall time | recommended | its accuracy |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        share = row["epochs"] / full["epochs"] if full["epochs"] else float("nan")
        accuracy = f"{100 * row['accuracy']:.2f}%" if row["accuracy"] is not None else "-"
        print(
            f"| {date.today()} | {device} | {row['rule']} | {row['runs']} | {row['pruned']} | {row['epochs']} "
            f"| {share:.2f}x | {row['wall']:.0f} s | {row['best']} | {accuracy} |"
        )


if __name__ == "__main__":
    main()
