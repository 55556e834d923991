"""Per-run overhead of hotlap and of the tools users run sweeps with today, timed the same way: a
whole process per tool and size, on a trivial objective (no training).

Each tool runs N trials (runs) in a fresh Python process that imports it, opens its store in a
temporary folder on the same disk, runs, and exits. The figures are that process's CPU time (user
+ system, from the kernel's accounting of the finished child) and its wall time, divided by N:
start-up, imports, set-up, every suggest, write and teardown included, for every tool alike.
"Steady state" is the slope between the two largest sizes, (cost(N2) - cost(N1)) / (N2 - N1):
the per-run cost with start-up and set-up taken out (Ray Tune's runtime start-up, hotlap's and
Optuna's imports). Each tool runs once untimed first, and every child may write its bytecode
cache: imports are timed as an installed tool has them, compiled once. The tools run in turn, in the
given order in one round and reversed in the next (sizes and repeats): use `--repeat 2` or more
for figures to compare, as what a process follows moves its cost.

- Optuna (random sampler, `study.optimize`): in memory, on SQLite (WAL), on a journal file;
- Ray Tune, where `ray[tune]` is importable: `tune.Tuner` with actor reuse and no checkpoints
  (its workers' and daemons' CPU is not all accounted to the child: the machine's busy CPU
  meanwhile, from /proc/stat, is printed under the table; on a quiet machine, it is what it
  spent);
- hotlap: `hotlap.run_sweep` of a no-op recipe (`engine_overhead.py`'s): the SQLite store, a run
  folder per run, runs.jsonl, callbacks; again with `budget: {max_runs}`, and with
  `run_folders: artifacts` (no folder for a run with no files).

    .venv/bin/python benchmarks/peers_overhead.py [--sizes 100,1000,5000] [--tools ...] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def objective(trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    return x * x


def optuna_study(storage_kind: str, trials: int, folder: Path) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if storage_kind == "sqlite":
        import sqlite3

        path = folder / "optuna.db"
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
        storage = f"sqlite:///{path}"
    elif storage_kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(str(folder / "journal.log")))
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials)


def ray_tune(trials: int, folder: Path) -> None:
    import ray
    from ray import tune

    def trainable(config):
        return {"loss": config["x"] ** 2}

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=True, metric="loss", mode="min"),
        run_config=tune.RunConfig(
            storage_path=str(folder / "ray"),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
        ),
    )
    tuner.fit()
    ray.shutdown()


def hotlap_sweep(trials: int, folder: Path, **extra: object) -> None:
    sys.path.insert(0, str(HERE))
    import engine_overhead  # registers the no-op recipe

    import hotlap

    spec = engine_overhead.noop_spec(trials, 1, **extra)
    result = hotlap.run_sweep(spec, workdir=folder, warmup=False)
    if result.state != "done":
        sys.exit(f"the sweep ended {result.state}: {result.message}")


TOOLS: dict[str, tuple[str, Callable[[int, Path], None]]] = {
    "optuna-memory": ("Optuna, in memory", lambda n, f: optuna_study("memory", n, f)),
    "optuna-sqlite": ("Optuna, SQLite (WAL)", lambda n, f: optuna_study("sqlite", n, f)),
    "optuna-journal": ("Optuna, journal file", lambda n, f: optuna_study("journal", n, f)),
    "ray-tune": ("Ray Tune, actor reuse, no checkpoints", ray_tune),
    "hotlap": ("hotlap, no-op recipe (store, run folders, runs.jsonl)", hotlap_sweep),
    "hotlap-budget": (
        "hotlap, the same with budget: {max_runs}",
        lambda n, f: hotlap_sweep(n, f, budget={"max_runs": n + 1}),
    ),
    "hotlap-lean": (
        "hotlap, the same with run_folders: artifacts",
        lambda n, f: hotlap_sweep(n, f, run_folders="artifacts"),
    ),
}


# Every child may cache its modules' bytecode (with PYTHONDONTWRITEBYTECODE set, as some CI images
# and this VM set it, each process would compile torch's or Optuna's sources again: seconds that an
# installed tool never pays twice), and each tool runs once untimed first, which writes that cache.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def available(tool: str) -> bool:
    module = "ray.tune" if tool == "ray-tune" else tool.split("-")[0]  # optuna-journal: optuna
    probe = [sys.executable, "-c", f"import {module}"]
    return subprocess.run(probe, capture_output=True, check=False, env=CHILD_ENV).returncode == 0


def in_turn(tools: list[str], turn: int) -> list[str]:
    """The tools in the order of round `turn`: as given, then reversed, and so on, so that over
    two rounds each pair of neighbours runs in both orders. A process pays for the disk work the
    one before it left (its removed folders): hotlap with a budget run right after hotlap was
    0.15-0.2 ms a run dearer, and hotlap right after it dearer by as much."""
    return list(tools) if turn % 2 == 0 else list(reversed(tools))


def machine_busy() -> float | None:
    """CPU seconds this machine has spent busy (all processes, all CPUs: Linux's /proc/stat),
    None elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
        user, nice, system, _idle, _iowait, irq, softirq = fields
    except (OSError, ValueError):
        return None
    # (steal is the hypervisor's, and guest time is counted in user already: neither is added)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measure(tool: str, trials: int) -> tuple[float, float, float | None]:
    """CPU seconds (user + system) and wall seconds of one whole process running `trials`, and
    the machine's busy CPU seconds meanwhile (None where unknown): the kernel accounts a process
    the CPU of the children it waited for, and Ray's workers and daemons are not all among them."""
    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = machine_busy()
        begin = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", tool, str(trials), folder],
            capture_output=True,
            text=True,
            check=False,
            env=CHILD_ENV,
        )
        wall = time.perf_counter() - begin
        busy_after = machine_busy()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.sync()  # the removed folders' writes, flushed now: never charged to the next tool's process
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"{tool} at {trials} runs failed: {tail[0]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    machine = busy_after - busy if busy is not None and busy_after is not None else None
    return cpu, wall, machine


# Tools whose processes are not all accounted to the child (Ray's workers and daemons): the machine's
# busy CPU meanwhile is printed under the table for them.
OUTLIVED = {"ray-tune"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="runs per process, comma-separated")
    parser.add_argument("--tools", default=",".join(TOOLS), help="of: " + ", ".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=1, help="processes per tool and size (the median)")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "N", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, trials, folder = args.child
        TOOLS[tool][1](int(trials), Path(folder))
        return
    sizes = sorted(int(n) for n in args.sizes.split(","))
    tools = [t for t in args.tools.split(",") if t]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or not sizes or min(sizes) < 1:
        parser.error(f"unknown tool {unknown[0]}" if unknown else "sizes must be positive run counts")
    skipped = [t for t in tools if not available(t)]
    tools = [t for t in tools if t not in skipped]
    for tool in tools:  # untimed: its modules compiled and cached, as an installed tool has them
        measure(tool, 2)
    costs: dict[tuple[str, int], list[tuple[float, float, float | None]]] = defaultdict(list)
    turn = 0
    for trials in sizes:  # tools in turn at each size: a drift of the machine spreads over them all
        for _ in range(args.repeat):
            for tool in in_turn(tools, turn):
                costs[(tool, trials)].append(measure(tool, trials))
            turn += 1
    print(
        f"whole process per run, CPU (user + system) / wall, median of {args.repeat}; {os.cpu_count()} CPUs"
    )
    header = "".join(f"{f'at {n:,}':>20s}" for n in sizes)
    print(f"{'tool':55s}{header}{'steady state CPU':>20s}")
    for tool in tools:
        cells, cpu_at = [], {}
        for trials in sizes:
            cpu = statistics.median(c for c, _, _ in costs[(tool, trials)])
            wall = statistics.median(w for _, w, _ in costs[(tool, trials)])
            cpu_at[trials] = cpu
            cells.append(f"{1000 * cpu / trials:8.2f} /{1000 * wall / trials:7.2f} ms")
        steady = ""
        if len(sizes) > 1:
            n1, n2 = sizes[-2], sizes[-1]
            steady = f"{1000 * (cpu_at[n2] - cpu_at[n1]) / (n2 - n1):17.2f} ms"
        print(f"{TOOLS[tool][0]:55s}" + "".join(f"{c:>20s}" for c in cells) + f"{steady:>20s}")
    for tool in tools:
        machine = [m for _, _, m in costs[(tool, sizes[-1])] if m is not None]
        if tool in OUTLIVED and machine:  # its CPU column is a floor: what the machine spent
            print(
                f"{TOOLS[tool][0]}: the machine was busy {1000 * statistics.median(machine) / sizes[-1]:.2f} ms "
                f"per run at {sizes[-1]:,} (every process on it: run this on a quiet machine), its "
                "workers' and daemons' CPU included, which is not all accounted to the driver"
            )
    for tool in skipped:
        print(f"{TOOLS[tool][0]:55s} not installed")


if __name__ == "__main__":
    main()
