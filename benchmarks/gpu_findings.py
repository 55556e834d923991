"""What the GPU check found, looked at closer: the three failures of its first runs (2026-12-04).

    PYTHONPATH=src python3 benchmarks/gpu_findings.py OUT [--budget 420] [--only A,B]

Each part runs in a subprocess of its own (one crash or hang costs that part alone) and writes
OUT/<part>.json; OUT/findings.md is the table of all of them. The parts:
- digits: airbench94 on the digits (upscaled to 32x32), 5 seeds each on CUDA in fp16, on CUDA in
  fp32 and on the CPU: is the CUDA-CPU gap of the check (0.83 points, p 0.011) fp16's?
- muon: airbench94_muon on the check's learnable images, uncompiled, in fp16, in fp32, and in fp16
  with its loss summed in fp32: the loss, the largest logit and the batch accuracy per step, to
  see where the "non-finite training loss" of the check comes from.
- compile_trace: airbench94's compile exercise (both whitening-bias states, forward and backward)
  under mode max-autotune, called plainly, with the full traceback of what fails and the
  graphs Dynamo makes.
- compile_nocg: airbench94 `compile=true` through hotlap's executor with mode
  max-autotune-no-cudagraphs (autotuned kernels, no CUDA graphs): warmup and 3 seeds.
- compile_lazy: the same with CUDA graphs (max-autotune) and no exercise (the graphs compile and
  record in the worker's warmup run): is it the exercise that fails, or the training?
It never needs the network; the GPU check's dataset (gpu_check.py) is registered here too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any

PARTS = ["digits", "muon", "compile_trace", "compile_nocg", "compile_lazy", "compile_check"]
TIMEOUTS = {
    "digits": 90,
    "muon": 90,
    "compile_nocg": 200,
    "compile_trace": 150,
    "compile_lazy": 150,
    "compile_check": 150,
}
DEVICE = os.environ.get("FINDINGS_DEVICE", "cuda")  # (a smoke test of this script on the CPU)
DATA = f"gpucheck:{os.environ.get('FINDINGS_IMAGES', '50000')}"
SMALL = json.loads(os.environ.get("FINDINGS_CONFIG", "{}"))  # overrides, for the same smoke test


def _executor() -> Any:
    from hotlap.executors.inprocess import InProcessExecutor

    return InProcessExecutor()


def _run(executor: Any, recipe: str, config: dict[str, Any], dataset: str, seed: int, device: str) -> Any:
    from gpu_runs import task_of

    return executor.submit(task_of(recipe, config, dataset, seed, device)).result()


def _figures(outcomes: list[Any]) -> dict[str, Any]:
    failed = [o.error for o in outcomes if o.status != "done"]
    done = [o for o in outcomes if o.status == "done"]
    return {
        "runs": len(done),
        "errors": failed[:2],
        "warmup_s": outcomes[0].warmup_time if outcomes else None,
        "train_time_s": [round(o.metrics["train_time"], 4) for o in done],
        "tta_accuracy": [o.metrics["tta_accuracy"] for o in done],
    }


def digits(fig: dict[str, Any]) -> None:
    from scipy import stats

    from hotlap.recipes import get_recipe

    executor = _executor()
    smoke = get_recipe("airbench94").smoke
    accuracies = {}
    for name, device, dtype in (
        ("cuda_fp16", DEVICE, "fp16"),
        ("cuda_fp32", DEVICE, "fp32"),
        ("cpu", "cpu", "fp32"),
    ):
        outcomes = [
            _run(executor, "airbench94", {**smoke, "dtype": dtype}, "digits", s, device) for s in range(5)
        ]
        fig[name] = _figures(outcomes)
        accuracies[name] = fig[name]["tta_accuracy"]
    for name in ("cuda_fp16", "cuda_fp32"):
        a, b = accuracies[name], accuracies["cpu"]
        fig[f"{name}_minus_cpu"] = statistics.fmean(a) - statistics.fmean(b)
        fig[f"{name}_welch_p"] = float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def muon(fig: dict[str, Any]) -> None:
    import torch
    import torch.nn.functional as F

    import hotlap.recipes.airbench94_muon as recipe

    trace: list[dict[str, float]] = []
    in_fp32 = {"on": False}

    def cross_entropy(outputs: Any, labels: Any, **kwargs: Any) -> Any:
        loss = F.cross_entropy(outputs.float() if in_fp32["on"] else outputs, labels, **kwargs)
        trace.append(
            {
                "loss_per_image": round(loss.item() / len(labels), 4),
                "max_abs_logit": round(outputs.detach().abs().max().item(), 3),
                "batch_accuracy": round((outputs.argmax(1) == labels).float().mean().item(), 4),
            }
        )
        return loss

    recipe.F = types.SimpleNamespace(**{**vars(F), "cross_entropy": cross_entropy})  # type: ignore[attr-defined]
    executor = _executor()
    for name, dtype, fp32_loss in (
        ("fp16", "fp16", False),
        ("fp32", "fp32", False),
        ("fp16_fp32_loss", "fp16", True),
    ):
        in_fp32["on"] = fp32_loss
        config = {**SMALL, "compile": False, "dtype": dtype}
        _run(executor, "airbench94_muon", config, DATA, 100, DEVICE)  # (warm: untraced)
        trace.clear()
        outcome = _run(executor, "airbench94_muon", config, DATA, 0, DEVICE)
        fig[name] = {**_figures([outcome]), "steps": list(trace[:30]) + list(trace[-3:])}
    del torch


def _mode(mode: str) -> None:
    """hotlap's compile, in `mode` on CUDA."""
    import torch

    import hotlap.recipes.compiling as compiling

    real = torch.compile

    def compile_in(model: Any, mode: Any = None, **kwargs: Any) -> Any:
        return real(model, mode=mode and (os.environ.get("FINDINGS_MODE") or mode), **kwargs)

    os.environ["FINDINGS_MODE"] = mode
    compiling.torch = types.SimpleNamespace(**{**vars(torch), "compile": compile_in})  # type: ignore[attr-defined]


def _compile_runs(fig: dict[str, Any], seeds: int) -> None:
    executor = _executor()
    outcomes = []
    for seed in range(seeds):
        begin = time.perf_counter()
        outcomes.append(_run(executor, "airbench94", {**SMALL, "compile": True}, DATA, seed, DEVICE))
        fig.setdefault("wall_s", []).append(round(time.perf_counter() - begin, 2))
        if outcomes[-1].status != "done":
            break
    plain = [_run(executor, "airbench94", SMALL, DATA, s, DEVICE) for s in range(3)]
    fig.update(_figures(outcomes))
    fig["plain"] = _figures(plain)


def compile_nocg(fig: dict[str, Any]) -> None:
    _mode("max-autotune-no-cudagraphs")
    _compile_runs(fig, 3)


def compile_lazy(fig: dict[str, Any]) -> None:
    import hotlap.recipes.airbench94 as recipe

    recipe.compile_exercise = lambda *args, **kwargs: lambda forward: None  # type: ignore[assignment]
    _compile_runs(fig, 3)


def compile_check(fig: dict[str, Any]) -> None:
    """The GPU check's order: plain runs first on the same worker, then compiled ones."""
    executor = _executor()
    plain = [_run(executor, "airbench94", SMALL, DATA, s, DEVICE) for s in range(2)]
    compiled = [_run(executor, "airbench94", {**SMALL, "compile": True}, DATA, s, DEVICE) for s in range(3)]
    fig.update(_figures(compiled))
    fig["plain"] = _figures(plain)


def compile_trace(fig: dict[str, Any]) -> None:
    import torch
    import torch._dynamo
    import torch._inductor.config as inductor

    from hotlap.recipes.airbench94 import Airbench94Config, compile_exercise, make_net
    from hotlap.recipes.layers import prepare_net

    inductor.triton.cudagraph_trees_history_recording = True
    device = torch.device(DEVICE)
    config = Airbench94Config(**SMALL)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    net = prepare_net(make_net(config), device, dtype)
    net.train()
    batch = torch.zeros(config.batch_size, 3, 32, 32, device=device, dtype=dtype)
    batch = batch.contiguous(memory_format=torch.channels_last)
    explained = torch._dynamo.explain(net)(batch)
    fig["graphs"] = explained.graph_count
    fig["graph_breaks"] = [str(reason) for reason in explained.break_reasons][:5]
    torch._dynamo.reset()
    forward = torch.compile(net, mode="max-autotune")
    exercise = compile_exercise(config, net, device, dtype, True)
    steps = []
    try:
        exercise(forward)
        steps.append("exercise passed")
        for weight_trains, bias_trains in ((False, True), (False, True), (False, False), (False, False)):
            net[0].weight.requires_grad = weight_trains
            net[0].bias.requires_grad = bias_trains
            outputs = forward(batch)
            outputs.float().sum().backward()
            steps.append(f"bias {bias_trains}: passed")
    except Exception as exc:
        fig["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:1500]}"
        fig["traceback"] = traceback.format_exc(limit=40)[-6000:]
    fig["steps"] = steps


def _write(path: Path, text: str) -> None:
    """`text` into `path`, replaced whole (never half-written)."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(text)
    os.replace(part, path)


def _part(name: str, out: Path) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    import gpu_check  # noqa: F401  (registers the learnable dataset)

    fig: dict[str, Any] = {}
    begin = time.monotonic()
    try:
        globals()[name](fig)
    except Exception as exc:
        fig["error"] = f"{type(exc).__name__}: {exc}"
        fig["traceback"] = traceback.format_exc(limit=30)[-6000:]
    fig["seconds"] = round(time.monotonic() - begin, 1)
    _write(out / f"{name}.json", json.dumps(fig, indent=1, default=str) + "\n")
    return 0


def markdown(out: Path, names: list[str]) -> str:
    lines = ["# GPU findings", ""]
    for name in names:
        path = out / f"{name}.json"
        values = json.loads(path.read_text()) if path.exists() else {"missing": "no result"}
        lines += [f"## {name}", "", "| figure | value |", "|---|---|"]
        lines += [
            f"| {k} | {json.dumps(v)[:400].replace('|', '/')} |"
            for k, v in values.items()
            if k != "traceback"
        ]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--budget", type=float, default=420.0)
    parser.add_argument("--only")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        return _part(args.part, args.out)
    names = PARTS if not args.only else [n.strip() for n in args.only.split(",")]
    if unknown := [n for n in names if n not in PARTS]:
        parser.error(f"unknown parts {unknown}: expected among {', '.join(PARTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    for name in names:
        left = deadline - time.monotonic()
        if left < 20:
            print(f"[findings] {name}: skipped, {left:.0f} s left", flush=True)
            continue
        begin = time.monotonic()
        command = [sys.executable, __file__, str(args.out), "--part", name]
        try:
            subprocess.run(command, timeout=min(TIMEOUTS[name], left), check=False)
        except subprocess.TimeoutExpired:
            _write(args.out / f"{name}.json", json.dumps({"error": "timed out"}) + "\n")
        print(f"[findings] {name}: {time.monotonic() - begin:.0f} s", flush=True)
        _write(args.out / "findings.md", markdown(args.out, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
