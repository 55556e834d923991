"""Kill torture: SIGKILL the driver of a `recipe: script` sweep whose program forks, again and
again, in-process and on Ray; then the same command to the end, and count what survived.

Each program (`torture_program.py`, written beside the spec) starts a child of its own that would
sleep for a minute, writes half a megabyte into its run folder, trains for a random 0.1-0.5 s
(0.5-2.5 s on Ray) and prints its metrics. The driver is killed at a random moment 0.5-4 s after
it starts (2-20 s on Ray, which takes seconds to start), `--kills` times per executor; the same
command then runs the sweep to its end. Afterwards, with `--settle` seconds for processes to go:

- processes: the programs and their children (tagged on their command lines), Ray's workers;
- scratch folders (`hotlap-script-*`) in the sweeps' own temporary folder;
- the store: every (config, seed) done exactly once, no run left `running`, runs.jsonl one line
  per run, each done run's folder complete.

    .venv/bin/python benchmarks/kill_torture.py [--kills 20] [--ray-kills 10] [--settle 100]

Ray's own agents (`ray::DashboardAgent`, `ray::RuntimeEnvAgent`) outlive a SIGKILLed driver by
up to a minute and a half before they notice their raylet is gone: `--settle` covers it. Prints a
table for benchmarks/RESULTS.md; exits 1 if anything survived or disagreed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from hotlap.store import Store

TAG = "hotlap-torture-child"
WINDOW = {"inprocess": (0.5, 4.0), "ray": (2.0, 20.0)}  # seconds from a driver's start to its kill
PACE = {"inprocess": 0.3, "ray": 1.5}  # a program's mean seconds (Ray's 2 workers run two at once)
PROGRAM = textwrap.dedent(
    f"""
    import json, os, random, subprocess, sys, time
    seed, lr, pace = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "{TAG}"])
    with open(os.path.join(os.environ["HOTLAP_RUN_DIR"], "output.bin"), "wb") as out:
        out.write(os.urandom(512 * 1024))
    time.sleep(pace * random.Random(seed * 1000 + int(lr * 100)).uniform(0.3, 1.7))
    print(json.dumps({{"val_acc": 0.9 - abs(lr - 0.3) + seed / 1000, "train_time": 0.1}}))
    """
)


def _spec(folder: Path, executor: str) -> Path:
    (folder / "torture_program.py").write_text(PROGRAM)
    spec = {
        "name": f"torture-{executor}",
        "recipe": "script",
        "script": {
            "command": ["{python}", "torture_program.py", "{seed}", "{lr}", "{pace}"],
            "metrics": {"val_acc": "max", "train_time": "min"},
            "timeout": 60,
        },
        "base": {"pace": PACE[executor]},
        "space": {"lr": [0.1, 0.2, 0.3, 0.4]},
        "seeds": 6,
    }
    if executor == "ray":
        spec["executor"] = {"name": "ray", "cpus_per_run": 1, "warmup": False}
    path = folder / f"{executor}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _processes(*needles: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line.strip() for line in listing.splitlines() if any(n in line for n in needles)]


def _left(scratch: Path) -> dict[str, int]:
    return {
        "programs": len(_processes("torture_program.py")),
        "children": len(_processes(TAG)),
        "ray": len(_processes("ray::", "raylet", "gcs_server")),
        "scratch": len(list(scratch.glob("hotlap-script-*"))),
    }


def _agreement(workdir: Path) -> list[str]:
    """What disagrees in the store, runs.jsonl and the run folders (empty: all agree)."""
    problems = []
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        runs = store.runs(sweep.id)
    keys = [(r.config_id, r.seed) for r in runs]
    if len(keys) != len(set(keys)) or len(runs) != 24:
        problems.append(f"{len(runs)} runs, {len(set(keys))} distinct (config, seed)")
    if {r.status for r in runs} != {"done"}:
        problems.append(f"statuses {sorted({r.status for r in runs})}")
    lines = (sweep.directory / "runs.jsonl").read_text().splitlines()
    if len(lines) != len(runs) or len(
        {(json.loads(x)["config_id"], json.loads(x)["seed"]) for x in lines}
    ) != len(runs):
        problems.append(f"runs.jsonl has {len(lines)} lines for {len(runs)} runs")
    for run in runs:
        folder = sweep.directory / run.config_id / f"seed-{run.seed}"
        if not (folder / "metrics.json").is_file():
            problems.append(f"{folder} has no metrics.json")
    return problems


def torture(executor: str, kills: int, settle: float, rng: random.Random) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix=f"hotlap-torture-{executor}-"))
    scratch = base / "tmp"
    scratch.mkdir()
    spec = _spec(base, executor)
    env = {**os.environ, "TMPDIR": str(scratch), "HOTLAP_HOME": str(base / "work")}
    command = [sys.executable, "-m", "hotlap", "sweep", str(spec)]
    killed = 0
    for _ in range(kills):
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(*WINDOW[executor]))
        if driver.poll() is None:
            driver.send_signal(signal.SIGKILL)
            killed += 1
        driver.wait()
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if final.returncode != 0:
        raise SystemExit(f"{executor}: the final sweep failed: {final.stderr.strip()[-500:]}")
    time.sleep(settle)
    left = _left(scratch)
    problems = _agreement(base / "work")
    with Store(base / "work") as store:
        (sweep,) = store.sweeps()
        sessions = len(store.sessions(sweep.id))
    return {"executor": executor, "kills": killed, "sessions": sessions, **left, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="driver kills, in-process executor")
    parser.add_argument("--ray-kills", type=int, default=10, help="driver kills, Ray executor (0: skip)")
    parser.add_argument("--settle", type=float, default=100.0, help="seconds for processes to go")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = [torture("inprocess", args.kills, args.settle, rng)]
    if args.ray_kills:
        rows.append(torture("ray", args.ray_kills, args.settle, rng))
    print(
        "| executor | driver SIGKILLs | sessions | programs left | their children left | Ray processes left "
        "| scratch folders left | store / runs.jsonl / folders |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        agree = "agree" if not row["problems"] else "; ".join(row["problems"])  # type: ignore[arg-type]
        print(
            f"| {row['executor']} | {row['kills']} | {row['sessions']} | {row['programs']} | {row['children']} "
            f"| {row['ray']} | {row['scratch']} | {agree} |"
        )
    bad = any(
        row["problems"] or row["programs"] or row["children"] or row["ray"] or row["scratch"] for row in rows
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
