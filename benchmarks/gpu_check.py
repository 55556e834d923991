"""The GPU check: hotlap's CUDA path, hotlap against a bare loop, and the speed figures, in one call.

    PYTHONPATH=src python3 benchmarks/gpu_check.py OUT [--budget 420] [--tiny] [--device auto] [--only A,B]

Writes OUT/gpu_check.json (every figure) and OUT/gpu_check.md (the tables for
benchmarks/RESULTS.md), both rewritten after each section, so a run cut short keeps what it
measured. The sections, most important first (gpu_sections.py, gpu_speed.py):

1. environment: torch, CUDA, the GPU's name, NVML's clocks and power.
2. cuda_path: airbench94 through hotlap's executor on CIFAR-sized learnable data: its precision,
   its loss falling, its CUDA-event train time per run; the digits (upscaled to 32x32) on the GPU
   (fp16, and fp32 to tell a gap of precision) against the CPU, the same accuracy within noise.
3. overhead: the bare airbench94 loop (bare_airbench94.py, no hotlap) against hotlap's run of the
   same config, interleaved: the ratio of median train times (goal <= 1.02); then a hotlap sweep's
   untimed gap between runs (store, callbacks, bookkeeping).
4. precision: the spread of train times, CUDA events against wall time, NVML's clocks, power and
   temperature before and after, energy per run.
5. packing: 1, 2 and 4 airbench94 workers (processes) at once on the GPU: seeds per hour against
   one at a time, and how each run's own train time moves.
6. airbench95 (fewer seeds); resnet: a ResNet-18 epoch, AMP and channels_last, hotlap's device
   loader against a torchvision DataLoader pipeline (resnet_throughput.py).
7. compile, muon: airbench94 with `compile`; airbench94_muon plain, then with its network and
   Newton-Schulz compiled, as the reference does. airbench96, then airbench96_faster, last (one
   timed run each: 35 s and 27 s on an A100).

It never needs the network: the data is generated (a learnable CIFAR-shaped set) or ships with
scikit-learn (digits). It stops by itself inside `--budget` seconds: a section that does not fit is
skipped with a note, one that fits in part measures fewer runs and says so. `--tiny` runs the same
code at a tiny size on any device (the CPU in under a minute); tests/test_gpu_check.py runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotlap.data.base import Dataset, register_dataset

DATASET = "gpucheck"


@dataclass(frozen=True)
class Sizes:
    """How much each section measures: the GPU's sizes, or the tiny ones."""

    train: int  # learnable images (CIFAR-10's 50,000 on a GPU)
    config: dict[str, Any]  # airbench94's overrides (none: the reference's defaults)
    repeats: int  # interleaved runs of each path in `overhead`
    sweep_seeds: int  # runs of the sweep whose gaps `overhead` measures
    digits_seeds: int  # digits runs per device in `cuda_path`
    digits: dict[str, Any]  # their overrides of airbench94's smoke config
    packing: tuple[int, ...]  # rounds of `packing`: workers at once
    packed_runs: int  # runs per worker
    family_seeds: int  # timed runs after the first of airbench95 and 96, compile, muon
    family: dict[str, Any]  # their overrides of each recipe's config (tiny: of its smoke config)
    resnet: dict[str, Any]  # resnet_throughput's options


GPU = Sizes(
    train=50_000,
    config={},
    repeats=10,
    sweep_seeds=5,
    digits_seeds=5,
    digits={},
    packing=(1, 2, 4),
    packed_runs=3,
    family_seeds=3,
    family={},
    resnet={"images": 10_000, "batch": 512, "workers": 8, "repeat": 2, "image_size": 32},
)
TINY = Sizes(
    train=256,
    config={"width": 0.125, "epochs": 2, "batch_size": 64, "lr": 30.0, "eval_batch_size": 64},
    repeats=3,
    sweep_seeds=2,
    digits_seeds=1,
    digits={"epochs": 2, "width": 0.125},
    packing=(1, 2),
    packed_runs=1,
    family_seeds=0,
    family={"epochs": 1, "width": 0.0625},
    resnet={"images": 64, "batch": 32, "workers": 0, "repeat": 1, "image_size": 16},
)


def learnable(train_size: int, test_size: int, classes: int = 10, seed: int = 0) -> Dataset:
    """CIFAR-shaped images with something to learn: each class a smooth colour pattern (8x8 noise
    scaled up to 32x32) under per-image noise, so a network's loss falls over epochs. It is easy:
    airbench94 reaches 100% TTA accuracy on the 50,000 of a GPU run (2026-12-04), so accuracy
    differences between paths are read on the digits instead (`cuda_path`)."""
    rng = np.random.default_rng(seed)
    templates = rng.normal(0, 1, size=(classes, 8, 8, 3)).repeat(4, axis=1).repeat(4, axis=2)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, classes, size=n)
        images = np.empty((n, 32, 32, 3), dtype=np.uint8)
        for start in range(0, n, 5000):  # chunks: 50,000 float images at once would be 1.2 GB
            part = labels[start : start + 5000]
            noise = rng.normal(0, 1.2, size=(len(part), 32, 32, 3))
            images[start : start + 5000] = np.clip(128 + 40 * (templates[part] + noise), 0, 255)
        return images, labels.astype(np.int64)

    train_images, train_labels = split(train_size)
    test_images, test_labels = split(test_size)
    mean = float(train_images.mean()) / 255
    std = float(train_images.std()) / 255
    return Dataset(
        DATASET, train_images, train_labels, test_images, test_labels, classes, (mean,) * 3, (std,) * 3
    )


@register_dataset(
    DATASET,
    train_size=50_000,
    test_size=10_000,
    num_classes=10,
    sized=True,
    summary="the GPU check's learnable CIFAR-shaped images; `gpucheck:N` for N train (N/5 test)",
)
def _gpucheck(data_dir: Path, size: int | None = None) -> Dataset:
    size = size or 50_000
    return learnable(size, max(64, size // 5))


@dataclass
class Check:
    """The run's state: where figures go, how much time is left, what each section found."""

    out: Path
    sizes: Sizes
    device: Any  # torch.device
    deadline: float
    tiny: bool
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)  # what one section hands the next

    @property
    def dataset(self) -> str:
        return f"{DATASET}:{self.sizes.train}"

    @property
    def gpu(self) -> bool:
        return self.device.type == "cuda"

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def save(self) -> None:
        """Both files, replaced whole (never half-written)."""
        for name, text in (
            ("gpu_check.json", json.dumps(self.figures, indent=2, default=str)),
            ("gpu_check.md", markdown(self.figures)),
        ):
            part = self.out / f".{name}.part"
            part.write_text(text + "\n")
            os.replace(part, self.out / name)

    def section(self, name: str, run: Callable[[Check, dict[str, Any]], None], needs: float) -> None:
        """Run one section into its own figures; it is skipped where less than `needs` seconds
        are left, and an error in it is recorded, not raised (the next section still runs)."""
        figures: dict[str, Any] = {}
        self.figures[name] = figures
        begin = time.monotonic()
        if self.left() < needs:
            figures["skipped"] = (
                f"needs about {needs:.0f} s, {max(0.0, self.left()):.0f} s of the budget left"
            )
        else:
            try:
                run(self, figures)
            except Exception as exc:
                figures["error"] = f"{type(exc).__name__}: {exc}"
                figures["traceback"] = traceback.format_exc(limit=8)
        figures["seconds"] = round(time.monotonic() - begin, 1)
        print(
            f"[gpu_check] {name}: {figures.get('skipped') or figures.get('error') or 'done'} "
            f"({figures['seconds']} s, {max(0.0, self.left()):.0f} s left)",
            flush=True,
        )
        self.save()


def markdown(figures: dict[str, dict[str, Any]]) -> str:
    """One table per section: figure, value."""
    lines = ["# GPU check", ""]
    for section, values in figures.items():
        lines += [f"## {section}", "", "| figure | value |", "|---|---|"]
        for key, value in values.items():
            if key == "traceback":
                continue
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {key} | {text.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for gpu_check.json and gpu_check.md")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds in all (default 420)")
    parser.add_argument("--tiny", action="store_true", help="the same code at a tiny size (CPU: < 1 min)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # a packing worker's folder
    parser.add_argument("--only", help="these sections alone, comma-separated (a rerun of what failed)")
    args = parser.parse_args(argv)
    begin = time.monotonic()
    import gpu_speed

    names = [name for name, _, _ in gpu_speed.SECTIONS]
    only = names if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in names]
    if unknown or not only:
        parser.error(f"--only {args.only!r}: expected sections among {', '.join(names)}")

    from hotlap.envinfo import resolve_device

    sizes = TINY if args.tiny else GPU
    device = resolve_device(args.device)
    check = Check(args.out, sizes, device, begin + args.budget, args.tiny)
    if args.worker is not None:
        return gpu_speed.packing_worker(check, args.worker)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, run, needs in gpu_speed.SECTIONS:
        if name in only or name == "environment":  # (always: it names the machine)
            check.section(name, run, needs(check))
    failed = [name for name, values in check.figures.items() if "error" in values]
    print(f"[gpu_check] wrote {args.out / 'gpu_check.md'}; {len(failed)} section(s) failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
