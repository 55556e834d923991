"""The power `hotlap plan` states for the mean rules, against simulation on the noise shapes runs
have: the plan says, from the noncentral t (normal runs, the last look alone), how likely a config
0.5 / 1 / 2 std beyond the target passes at its last look; here the rule's own bound
(`mean_t`'s t bound at that level) on simulated runs of each shape, with the 95% Clopper-Pearson
interval, beside the stated figure. Also the first look's margin: the share of configs exactly that
many std beyond the target that pass at the first look.

    .venv/bin/python benchmarks/plan_power.py [--replications 4000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rates import cell

from hotlap.rules import Target, get_rule
from hotlap.simulate import noise

SHAPES = {
    "normal": "normal",
    "heavy": "heavy",
    "left": "left",
    "few": "few",
    "airbench94 digits (measured)": json.loads(
        (Path(__file__).parent / "shapes" / "airbench94_digits.json").read_text()
    )["tta_accuracy"],
}
SETTINGS = (
    ("demo: 3 then 6 seeds, level 0.005", (3, 6), 0.005),
    ("10 to 50 seeds, level 0.0028", (10, 50), 0.0028),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=4000)
    args = parser.parse_args()
    n = args.replications
    rule, target = get_rule("mean_t"), Target(threshold=0.0, criterion="mean_t")
    print(f"{n} simulated configs per cell; passes at the last look (95% Clopper-Pearson interval).\n")
    print("| setting | shape | d (std beyond) | stated | simulated |")
    print("|---|---|---|---|---|")
    for label, schedule, level in SETTINGS:
        (note,) = rule.plan_notes(target, level, schedule)
        stated = note.split("passes with probability ")[1].split(" / ")
        for name, shape in SHAPES.items():
            rng = np.random.default_rng(28)
            for d, said in zip((0.5, 1.0, 2.0), stated, strict=True):
                runs = d + noise(rng, shape, (n, schedule[-1]))
                hits = sum(rule.bounds(list(r), target, level, level)[0] >= 0.0 for r in runs)
                print(f"| {label} | {name} | {d:g} | {said} | {cell(int(hits), n)} |", flush=True)


if __name__ == "__main__":
    main()
