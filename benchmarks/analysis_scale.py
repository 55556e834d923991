"""`hotlap status` and `hotlap report` on a large store: the time beyond start-up.

Builds a store that holds one finished sweep of CONFIGS x SEEDS airbench94 runs (synthetic values,
written straight into SQLite: nothing trains) with a target, racing and a baseline, like the
variants study, then times each command twice:

- in this process, phase by phase (reading the store, the analysis, rendering, writing files);
- as the command a user types (`hotlap status ID`, `hotlap report ID`), minus its start-up: the
  same command on a sweep of two configs and ten seeds (imports, opening the store, writing a
  report's files), both measured here side by side.

    .venv/bin/python benchmarks/analysis_scale.py [--configs 1000] [--seeds 50] [--repeat 3]

The goal (issue 8): on a 50,000-run store, each command within 2 s beyond start-up.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotlap.engine.session import open_sweep
from hotlap.spec import parse_spec
from hotlap.store import Store

HOTLAP = str(Path(sys.executable).with_name("hotlap"))


def build(workdir: Path, configs: int, seeds: int) -> str:
    """A finished sweep of `configs` configs (one of them the baseline) x `seeds` seeds."""
    spec = parse_spec(
        {
            "name": "scale",
            "recipe": "airbench94",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"lr": {"low": 1.0, "high": 20.0}},
            "strategy": {"name": "random", "trials": configs - 1},
            "seeds": {"min": 10, "max": seeds, "step": 10},
            "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.94}, "minimize": "train_time"},
            "baseline": {},
        }
    )
    rng = random.Random(0)
    with Store(workdir) as store:
        record, _ = open_sweep(store, spec)
        rows = []
        for index in range(configs):
            baseline = index == 0
            params = {} if baseline else {"lr": round(rng.uniform(1, 20), 6)}
            config_id = f"c{index:09d}"
            store.add_config(
                record.id,
                config_id=config_id,
                config_hash=config_id,
                origin="baseline" if baseline else "random",
                is_baseline=baseline,
                params=params,
                config={"lr": params.get("lr", 11.5)},
            )
            mean_acc, mean_time = rng.uniform(0.935, 0.945), rng.uniform(3.0, 4.0)
            for seed in range(seeds):
                accuracy = rng.gauss(mean_acc, 0.0014)
                train = rng.gauss(mean_time, 0.03)
                values = {
                    "tta_accuracy": accuracy,
                    "accuracy": accuracy - 0.005,
                    "train_time": train,
                    "eval_time": 0.1,
                    "total_time": train + 0.1,
                }
                rows.append((config_id, seed, values, "cpu", "bench", None, None, None))
        store.record_done(record.id, rows)
        store.update_sweep(record.id, state="done")
        return record.id


def in_process(workdir: Path, sweep_id: str, out: Path) -> dict[str, float]:
    """Seconds per phase of status and report, in this process (modules already imported)."""
    from rich.console import Console

    from hotlap.analysis.configs import analyze
    from hotlap.cli.app import console
    from hotlap.cli.driving import _print_status
    from hotlap.report import load_report, render_table, write_report
    from hotlap.spec.validate import stored_spec

    times: dict[str, float] = {}
    quiet = Console(file=open(os.devnull, "w"), width=160)  # noqa: SIM115
    with Store(workdir, create=False) as store:
        sweep = store.require(sweep_id)
        begin = time.perf_counter()
        configs, runs = store.configs(sweep_id), store.runs(sweep_id, details=False)
        times["read configs and runs"] = time.perf_counter() - begin
        begin = time.perf_counter()
        analyze(stored_spec(sweep.spec), configs, runs, comparisons=False)
        times["analysis (status: no comparisons)"] = time.perf_counter() - begin
        begin = time.perf_counter()
        analyze(stored_spec(sweep.spec), configs, runs)
        times["analysis (report: with comparisons)"] = time.perf_counter() - begin
        saved, console.file = console.file, quiet.file
        try:
            begin = time.perf_counter()
            _print_status(store, sweep)
            times["status, whole"] = time.perf_counter() - begin
        finally:
            console.file = saved
        begin = time.perf_counter()
        loaded = load_report(store, sweep_id)
        times["report: read + analysis"] = time.perf_counter() - begin
    begin = time.perf_counter()
    quiet.print(render_table(loaded.analysis, loaded.sweep, width=160))
    times["report: table"] = time.perf_counter() - begin
    begin = time.perf_counter()
    write_report(loaded, out)
    times["report: files (csv, json, md, html, plots)"] = time.perf_counter() - begin
    return times


def command(*args: str, workdir: Path) -> float:
    begin = time.perf_counter()
    done = subprocess.run([HOTLAP, *args, "--workdir", str(workdir)], capture_output=True, text=True)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        sys.exit(f"hotlap {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="timings per command; the median is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        begin = time.perf_counter()
        sweep_id = build(workdir, args.configs, args.seeds)
        runs = args.configs * args.seeds
        print(
            f"store: {args.configs} configs x {args.seeds} seeds = {runs:,} runs "
            f"(built in {time.perf_counter() - begin:.1f} s)"
        )
        phases = [in_process(workdir, sweep_id, workdir / "report") for _ in range(args.repeat)]
        for name in phases[0]:
            print(f"  {name:45s} {statistics.median(p[name] for p in phases):7.3f} s")
        tiny = workdir / "tiny"
        tiny_id = build(tiny, 2, 10)

        def timed(*words: str, store: Path) -> float:
            return statistics.median(command(*words, workdir=store) for _ in range(args.repeat))

        for name in ("status", "report"):
            small = timed(
                name,
                tiny_id,
                *(["--out", str(tiny / "out")] if name == "report" else []),
                store=tiny,
            )
            large = timed(
                name,
                sweep_id,
                *(["--out", str(workdir / "out")] if name == "report" else []),
                store=workdir,
            )
            print(
                f"hotlap {name}: {large:.2f} s on {runs:,} runs, {small:.2f} s on 20 runs (start-up): "
                f"{large - small:.2f} s beyond start-up"
            )


if __name__ == "__main__":
    main()
