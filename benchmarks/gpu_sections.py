"""The GPU check's correctness and overhead sections (gpu_check.py runs them in order; the speed
sections are in gpu_speed.py): each fills its figures and hands what the next needs through
`check.shared`."""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from typing import Any

import torch
from gpu_runs import REFERENCE, executor, median, nvml, run, run_seconds, spread, sync

from hotlap.callbacks import Callback

# ---------------------------------------------------------------------------------------------
#  1. environment, 2. the CUDA path
# ---------------------------------------------------------------------------------------------


def environment(check: Any, fig: dict[str, Any]) -> None:
    import hotlap
    from hotlap.envinfo import device_name

    fig.update(
        device=device_name(check.device),
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version() if check.gpu else None,
        hotlap=hotlap.__version__,
        mode="tiny" if check.tiny else "full",
        **{f"before_{k}": v for k, v in nvml(check.device).items()},
    )


def cuda_path(check: Any, fig: dict[str, Any]) -> None:
    from scipy import stats

    from hotlap.recipes import get_recipe

    problems = []
    runs = [run(check, seed) for seed in (0, 1)]
    first, second = runs[0][0], runs[1][0]
    check.shared["run_s"] = runs[1][1]
    losses = [record["train_loss"] for record in second.history]
    fig.update(
        reported_device=second.device,
        precision=second.precision,
        warmup_s=first.warmup_time,
        train_time_s=[o.metrics["train_time"] for o, _ in runs],
        wall_s=[wall for _, wall in runs],
        tta_accuracy=[o.metrics["tta_accuracy"] for o, _ in runs],
        first_epoch_loss=losses[0],
        last_epoch_loss=losses[-1],
    )
    if losses[-1] >= losses[0]:
        problems.append("the training loss did not fall")
    if check.gpu and second.precision != "fp16":
        problems.append(f"precision is {second.precision} on CUDA, not fp16")
    if check.gpu and torch.cuda.get_device_name(check.device) not in (second.device or ""):
        problems.append("the run's device does not name the GPU")

    # The digits on this device (its default fp16, and fp32: is a gap the precision's?) and on the
    # CPU: the same accuracy within noise.
    config = {**get_recipe("airbench94").smoke, **check.sizes.digits}
    paths = {"cpu": ("cpu", {})}
    if check.gpu:
        paths = {
            str(check.device): (check.device, {}),
            "cuda_fp32": (check.device, {"dtype": "fp32"}),
            **paths,
        }
    accuracy = {
        name: [
            run(check, seed, config={**config, **extra}, dataset="digits", device=device)[0].metrics[
                "tta_accuracy"
            ]
            for seed in range(check.sizes.digits_seeds)
        ]
        for name, (device, extra) in paths.items()
    }
    for name, values in accuracy.items():
        fig[f"digits_tta_accuracy_{name}"] = values
    if not check.gpu:
        fig["digits_note"] = "no GPU: the CPU's figures alone"
    welch = {}
    for name, prefix in ((str(check.device), "digits"), ("cuda_fp32", "digits_fp32")):
        if name in accuracy and name != "cpu":
            gpu, cpu = accuracy[name], accuracy["cpu"]
            p = float(stats.ttest_ind(gpu, cpu, equal_var=False).pvalue) if len(set(gpu + cpu)) > 1 else 1.0
            fig[f"{prefix}_gpu_minus_cpu"] = statistics.fmean(gpu) - statistics.fmean(cpu)
            fig[f"{prefix}_welch_p"] = welch[prefix] = p
    if welch.get("digits", 1.0) < 0.01:
        problems.append(
            f"digits accuracy differs between CUDA and CPU (Welch p = {welch['digits']:.3g}; "
            f"in fp32 on CUDA: p = {welch.get('digits_fp32', float('nan')):.3g})"
        )
    if problems:
        raise AssertionError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
#  3. hotlap against the bare loop, 4. timing precision
# ---------------------------------------------------------------------------------------------


def bare_data(check: Any) -> dict[str, torch.Tensor]:
    """The check's dataset as the bare loop takes it: uint8 NCHW on the device."""
    from hotlap.data import load_dataset

    data = load_dataset(check.dataset)
    device = check.device

    def images(array: Any) -> torch.Tensor:
        return torch.from_numpy(array).to(device).permute(0, 3, 1, 2).contiguous()

    return {
        "train_images": images(data.train_images),
        "train_labels": torch.from_numpy(data.train_labels).to(device),
        "test_images": images(data.test_images),
        "test_labels": torch.from_numpy(data.test_labels).to(device),
        "mean": torch.tensor(data.mean, device=device).view(1, 3, 1, 1),
        "std": torch.tensor(data.std, device=device).view(1, 3, 1, 1),
    }


class _Gaps(Callback):
    """When each run of a sweep started and ended (perf_counter), and its timed seconds."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.timed: list[float] = []

    def run_start(self, event: Any, **info: Any) -> None:
        self.starts.append(time.perf_counter())

    def run_end(self, event: Any, **info: Any) -> None:
        self.ends.append(time.perf_counter())
        self.timed.append(event.outcome.metrics.get("total_time", float("nan")))


def overhead(check: Any, fig: dict[str, Any]) -> None:
    import bare_airbench94 as bare

    data = bare_data(check)
    labels = data["train_labels"]
    noise = {
        **data,
        "train_labels": torch.randint(0, int(labels.max()) + 1, labels.shape, device=labels.device),
    }
    bare.train(noise, 10_000, **check.sizes.config)  # untimed: cuDNN tunes, as hotlap's warmup run
    run(check, 10_000)  # warm (it is, after cuda_path; this makes sure)
    per_pair = 2.2 * run_seconds(check)
    reserve = (check.sizes.sweep_seeds + 2) * run_seconds(check) + 10
    paths: dict[str, dict[str, list[float]]] = {
        name: {"train": [], "eval": [], "untimed": [], "accuracy": []} for name in ("bare", "hotlap")
    }
    for seed in range(check.sizes.repeats):
        if check.left() < per_pair + reserve and seed >= 3:
            fig["note"] = f"cut at {seed} runs each by the budget"
            break
        sync(check.device)
        begin = time.perf_counter()
        result = bare.train(data, seed, **check.sizes.config)
        wall = time.perf_counter() - begin
        outcome, hot_wall = run(check, seed)
        for name, values, seconds in (
            ("bare", result, wall),
            ("hotlap", outcome.metrics, hot_wall),
        ):
            paths[name]["train"].append(values["train_time"])
            paths[name]["eval"].append(values["eval_time"])
            paths[name]["untimed"].append(seconds - values["train_time"] - values["eval_time"])
            paths[name]["accuracy"].append(values["tta_accuracy"])
    check.shared["paths"] = paths
    bare_train, hot_train = median(paths["bare"]["train"]), median(paths["hotlap"]["train"])
    fig.update(
        runs_each=len(paths["bare"]["train"]),
        bare_train_time_median_s=bare_train,
        hotlap_train_time_median_s=hot_train,
        ratio_hotlap_over_bare=hot_train / bare_train,
        goal="ratio <= 1.02",
        reference=REFERENCE["airbench94"],
        bare_eval_time_median_s=median(paths["bare"]["eval"]),
        hotlap_eval_time_median_s=median(paths["hotlap"]["eval"]),
        bare_untimed_per_run_s=median(paths["bare"]["untimed"]),
        hotlap_untimed_per_run_s=median(paths["hotlap"]["untimed"]),
        bare_tta_accuracy=paths["bare"]["accuracy"],
        hotlap_tta_accuracy=paths["hotlap"]["accuracy"],
    )
    fig.update(_sweep_gaps(check))


def _sweep_gaps(check: Any) -> dict[str, float]:
    """A real sweep of the same config through the engine (store, callbacks, racing's bookkeeping):
    the gap between one run's end and the next one's start, and each run's untimed part."""
    from hotlap.api import run_sweep
    from hotlap.spec.validate import parse_spec

    spec = parse_spec(
        {
            "name": "gpu-check-gaps",
            "recipe": "airbench94",
            "dataset": check.dataset,
            "device": str(check.device),
            "seeds": check.sizes.sweep_seeds,
            "base": check.sizes.config,
            "objective": {"maximize": "tta_accuracy"},
            "keep_weights": False,
        }
    )
    gaps = _Gaps()
    with tempfile.TemporaryDirectory() as workdir:
        run_sweep(spec, workdir=workdir, executor=executor(check), callbacks=[gaps])
    between = [start - end for start, end in zip(gaps.starts[1:], gaps.ends, strict=False)]
    inside = [
        end - start - timed for start, end, timed in zip(gaps.starts, gaps.ends, gaps.timed, strict=True)
    ]
    return {
        "sweep_runs": len(gaps.ends),
        "sweep_gap_between_runs_median_s": median(between),
        "sweep_untimed_inside_run_median_s": median(inside),
    }


def precision(check: Any, fig: dict[str, Any]) -> None:
    before = nvml(check.device)
    energy, power = [], []
    for seed in range(20_000, 20_000 + max(2, check.sizes.family_seeds)):
        outcome, _ = run(check, seed, costs=("energy", "mean_power"))
        if "energy" in outcome.metrics:
            energy.append(outcome.metrics["energy"])
            power.append(outcome.metrics["mean_power"])
    after = nvml(check.device)
    paths = check.shared.get("paths", {})
    for name, values in paths.items():
        fig[f"{name}_train_time_spread"] = spread(values["train"])
        fig[f"{name}_train_time_range_s"] = max(values["train"]) - min(values["train"])
    if "bare" in paths:  # wall time (perf_counter around the call) against the CUDA events' sum
        bare = paths["bare"]
        fig["bare_untimed_over_timed"] = median(bare["untimed"]) / median(
            [t + e for t, e in zip(bare["train"], bare["eval"], strict=True)]
        )
    fig.update({f"before_{k}": v for k, v in before.items()})
    fig.update({f"after_{k}": v for k, v in after.items()})
    if energy:
        fig["energy_per_run_j"] = median(energy)
        fig["mean_power_w"] = median(power)
    else:
        fig["energy_note"] = "no energy counter on this device"
