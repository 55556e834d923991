"""The GPU check's speed sections: packing several runs on the GPU, compile and Muon, the rest of
the family and a ResNet-18 epoch; and the list of every section, in the order gpu_check.py runs
them, each with the seconds it needs to start."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from gpu_runs import REFERENCE, median, run, run_seconds, spread
from gpu_sections import cuda_path, environment, overhead, precision

# ---------------------------------------------------------------------------------------------
#  5. packing: several worker processes on one GPU at once
# ---------------------------------------------------------------------------------------------


def packing_worker(worker: Any, folder: Path) -> int:
    """A packing worker (`gpu_check.py --worker FOLDER`, `worker` its own Check): warm up, say
    ready, then in each round it is part of (the first k workers of a round of k), wait for that
    round's `go-k`, run its seeds and write when it ran and each run's train time."""
    sizes, index = worker.sizes, int(folder.name)
    if not worker.gpu:  # CPU workers share the cores: one thread each, as Ray's CPU workers run
        torch.set_num_threads(1)
    run(worker, 30_000)  # load the data, warm up
    (folder / "ready").touch()
    for count in sizes.packing:
        if index >= count:
            continue
        go, deadline = folder.parent / f"go-{count}", time.monotonic() + 600
        while not go.exists():
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.01)
        begin = time.time()
        seed0 = 40_000 + 1000 * count + 100 * index
        times = [run(worker, seed0 + i)[0].metrics["train_time"] for i in range(sizes.packed_runs)]
        result = {"begin": begin, "end": time.time(), "train_time": times}
        (folder / f"result-{count}.json").write_text(json.dumps(result))
    return 0


def _wait_for(paths: list[Path], procs: list[subprocess.Popen[bytes]], check: Any, what: str) -> None:
    while not all(path.exists() for path in paths):
        if any(proc.poll() not in (None, 0) for proc in procs) or check.left() < 0:
            raise RuntimeError(f"a packing worker failed, or the budget ran out, before {what}")
        time.sleep(0.02)


def packing(check: Any, fig: dict[str, Any]) -> None:
    """The most workers any round needs start once and warm up; round k lets the first k run at
    once: runs per hour over the round, against one alone, and their own train times."""
    script = Path(__file__).with_name("gpu_check.py")
    rounds = sorted(check.sizes.packing)
    alone = None
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / str(i) for i in range(rounds[-1])]
        procs = []
        for folder in folders:
            folder.mkdir()
            command = [
                sys.executable,
                str(script),
                tmp,
                "--worker",
                str(folder),
                "--device",
                str(check.device),
            ]
            procs.append(subprocess.Popen([*command, *(["--tiny"] if check.tiny else [])]))
        try:
            _wait_for([f / "ready" for f in folders], procs, check, "it was ready")
            for count in rounds:
                needs = 1.5 * check.sizes.packed_runs * count * run_seconds(check)
                if check.left() < needs:
                    fig[f"{count}_at_once"] = f"skipped: needs about {needs:.0f} s"
                    break
                (Path(tmp) / f"go-{count}").touch()
                results = [f / f"result-{count}.json" for f in folders[:count]]
                _wait_for(results, procs, check, f"round {count} ended")
                figures = _round([json.loads(path.read_text()) for path in results])
                alone = alone or figures
                fig[f"{count}_at_once_runs_per_hour"] = figures["runs_per_hour"]
                fig[f"{count}_at_once_train_time_median_s"] = figures["train_time_median_s"]
                fig[f"{count}_at_once_throughput_vs_one"] = figures["runs_per_hour"] / alone["runs_per_hour"]
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


def _round(results: list[dict[str, Any]]) -> dict[str, float]:
    span = max(r["end"] for r in results) - min(r["begin"] for r in results)
    times = [t for r in results for t in r["train_time"]]
    return {"runs_per_hour": len(times) / span * 3600, "train_time_median_s": median(times)}


# ---------------------------------------------------------------------------------------------
#  6. compile and Muon, 7. the rest of the family and ResNet-18
# ---------------------------------------------------------------------------------------------


def _seeds(
    check: Any,
    fig: dict[str, Any],
    recipe: str,
    config: dict[str, Any] | None,
    scale: float,
    seeds: int | None = None,
) -> None:
    """The recipe's runs (the first pays the worker's warmup, and compiling where asked): its
    median train time and spread, the reference's for scale."""
    outcomes = []
    for seed in range(min(check.sizes.family_seeds, seeds or check.sizes.family_seeds) + 1):
        if outcomes and check.left() < 1.3 * scale * run_seconds(check):
            fig["note"] = f"cut at {len(outcomes)} runs by the budget"
            break
        outcomes.append(run(check, seed, recipe, config=config)[0])
    timed = [o.metrics["train_time"] for o in outcomes[1:]] or [outcomes[0].metrics["train_time"]]
    fig.update(
        warmup_s=outcomes[0].warmup_time,
        runs=len(timed),
        train_time_median_s=median(timed),
        train_time_spread=spread(timed),
        tta_accuracy_mean=statistics.fmean(o.metrics["tta_accuracy"] for o in outcomes),
    )


def compile_airbench94(check: Any, fig: dict[str, Any]) -> None:
    _seeds(check, fig, "airbench94", {**check.sizes.config, "compile": True}, 1.0)
    plain = check.shared.get("paths", {}).get("hotlap", {}).get("train")
    if plain:
        fig["speedup_vs_plain"] = median(plain) / fig["train_time_median_s"]
    fig["reference"] = REFERENCE["airbench94 compiled"]


def muon(check: Any, fig: dict[str, Any]) -> None:
    from hotlap.recipes import get_recipe

    base = {
        **(get_recipe("airbench94_muon").smoke if check.tiny else {}),
        **check.sizes.family,
        "compile": False,
    }
    plain: dict[str, Any] = {}
    _seeds(check, plain, "airbench94_muon", base, 0.8)
    fig.update({f"plain_{k}": v for k, v in plain.items()})
    _seeds(check, fig, "airbench94_muon", {**base, "compile": True}, 0.8)
    fig["reference"] = REFERENCE["airbench94_muon"]


def family(recipe: str, scale: float, seeds: int | None = None) -> Any:
    """A family member's section: `scale` is its run time over airbench94's (for the budget),
    `seeds` its timed runs where fewer than the sizes' `family_seeds`."""

    def measure(check: Any, fig: dict[str, Any]) -> None:
        _seeds(check, fig, recipe, None, scale, seeds)
        fig["reference"] = REFERENCE[recipe]

    return measure


def resnet(check: Any, fig: dict[str, Any]) -> None:
    import resnet_throughput

    options = check.sizes.resnet
    results = resnet_throughput.measure(device=check.device, **options)
    fig["setup"] = (
        f"ResNet-18, {options['images']} images, batch {options['batch']}, AMP + channels_last on CUDA"
    )
    for label, medians in results.items():
        for name, value in medians.items():
            fig[f"{label}: {name}"] = value


def _on_gpu(measure: Any) -> Any:
    """`measure` on a GPU; on a CPU the section says why it is skipped."""

    def section(check: Any, fig: dict[str, Any]) -> None:
        if check.gpu:
            measure(check, fig)
        else:
            fig["skipped"] = "compile is measured on a GPU (tests/test_compile.py covers it on the CPU)"

    return section


# (name, the section, seconds it needs to start)
SECTIONS = [
    ("environment", environment, lambda c: -math.inf),  # always: it names the machine
    ("cuda_path", cuda_path, lambda c: 10),
    ("overhead", overhead, lambda c: 8 * run_seconds(c)),
    ("precision", precision, lambda c: 3 * run_seconds(c)),
    ("packing", packing, lambda c: 30 + 2 * run_seconds(c)),
    ("airbench95", family("airbench95", 2.7), lambda c: 8 * run_seconds(c)),
    ("resnet", resnet, lambda c: 60 if c.gpu else 5),
    # Compiling with max-autotune takes minutes and cannot be cut short: late, where an overrun
    # costs the fewest figures (each section's are written as it ends).
    ("compile", _on_gpu(compile_airbench94), lambda c: 150 if c.gpu else 0),
    ("muon", _on_gpu(muon), lambda c: 150 if c.gpu else 0),
    ("airbench96", family("airbench96", 9, seeds=1), lambda c: 30 * run_seconds(c)),
    ("airbench96_faster", family("airbench96_faster", 7, seeds=1), lambda c: 24 * run_seconds(c)),
]
