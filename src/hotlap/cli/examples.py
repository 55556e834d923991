"""Each command's examples, shown under its `--help` (and in the docs' command-line reference)."""

from __future__ import annotations

__all__ = ["epilog"]

_EXAMPLES = {
    "run": [
        "hotlap run airbench94 --data cifar10 --seeds 25",
        "hotlap run airbench94 --data digits --device cpu --seeds 3 width=0.25 epochs=5 batch_size=128 lr=30",
        "hotlap run resnet --data cifar100 model=resnet50 batch_size=64 --target 0.77",
    ],
    "show": ["hotlap show airbench94", "hotlap show resnet --data cifar100 model=resnet50"],
    "download": ["hotlap download cifar10", "hotlap download cifar100 --data-dir /data/cifar"],
    "plan": ["hotlap plan examples/variants.yaml", "hotlap plan examples/tpe.yaml strategy.trials=100"],
    "sweep": [
        "hotlap sweep examples/variants.yaml",
        "hotlap sweep examples/grid.yaml dataset=digits device=cpu seeds=2 base.width=0.125",
        "hotlap sweep study.yaml --executor ray --callback wandb",
    ],
    "resume": ["hotlap resume variants", "hotlap resume variants budget.max_runs=800 --retry-failed"],
    "status": ["hotlap status", "hotlap status variants"],
    "ls": ["hotlap ls --workdir /data/hotlap-runs"],
    "export": ["hotlap export variants --format csv --out runs.csv"],
    "report": [
        "hotlap report variants",
        "hotlap report variants --format html --out report.html",
        "hotlap report variants --target 94% --criterion success_rate",
        "hotlap report variants --print",
    ],
    "compare": [
        "hotlap compare variants/narrow_block2 variants/cyclic_translate",
        "hotlap compare tpe-sweep brute-sweep",
    ],
    "best-so-far": ["hotlap best-so-far quantize quantize-brute --plot best.png"],
    "eval": [
        "hotlap eval tta-weights --reweight 0.30:0.70:0.05",
        "hotlap eval quantize --vary quant.conv.weight_bits=4,6,8",
        "hotlap eval --weights run/model.pt --recipe airbench94 --data cifar10 quant.all.weight_bits=8",
    ],
}


def epilog(command: str) -> str:
    """'Examples:' and the command's examples, one paragraph each (rich keeps paragraphs apart)."""
    return "\n\n".join(["Examples:", *_EXAMPLES[command]])
