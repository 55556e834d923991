"""The decision rules' operating characteristics, simulated: today's rules and the new ones side by
side (hotlap's own `race` and `recommend`, `hotlap.simulate`).

Accuracies normal with std 0.14 points (or left-skewed: 5% of runs 0.6 points low), target 94.00%,
racing min 5 / max 50 / step 5, alpha 0.05, times with a 1% std.

    .venv/bin/python benchmarks/racing.py [--replications 2000]

    .venv/bin/python benchmarks/racing.py --only shapes [--replications 1000]

Rules compared:
- bonferroni: each look at alpha / looks, a config fails at the same level (the rules before issue 9);
- calibrated: each look at the calibrated level (exactly alpha over the looks), fails at the same;
- calibrated+futility F: the calibrated pass level, failing at the looser one-sided level F.

The shapes section: the 20-config near-miss family (8 fast configs 0.005 points below the target)
and a clear winner under each noise shape runs have (`hotlap.simulate.SHAPES`, and the measured
runs of airbench94 on digits, `benchmarks/shapes/airbench94_digits.json`), all at the same mean and
std, for the t bound on a config's own runs (`mean_t`, the rule before issue 25) and the default
`mean` (own and pooled spread) side by side: wrong recommendations with their 95% binomial
(Clopper-Pearson) interval, runs, how often the report's assumption warning fired, and how often
the recommendation's naive 95% interval (its search runs, after racing and selection) held its
true mean.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from hotlap.calibration import calibrated_alpha, calibrated_rate_alpha
from hotlap.decisions import Target, look_schedule, looks
from hotlap.simulate import SHAPES, Rules, simulate

SCHEDULE = look_schedule(5, 50, 5)
ALPHA = 0.05
MIX_MEANS = [0.9300, 0.9340, 0.9380, 0.9395, 0.9400, 0.9400, 0.9405, 0.9420, 0.9430]  # the statistics page's
MIX_TIMES = [3.70, 3.75, 3.80, 3.85, 3.90, 3.95, 4.00, 4.10, 4.20]


def rules_for(rate: float | None = None, family: int = 1) -> list[Rules]:
    """The rules before issue 9, and the new ones step by step (the last: hotlap's defaults)."""
    level = calibrated_rate_alpha(ALPHA, SCHEDULE, rate) if rate else calibrated_alpha(ALPHA, SCHEDULE)
    rules = [
        Rules("bonferroni (before)", ALPHA / looks(5, 50, 5)),
        Rules("calibrated", level),
        Rules("calibrated+futility 0.10", level, 0.10),
        Rules("calibrated+futility 0.20", level, 0.20),
    ]
    if family > 1:
        split = calibrated_alpha(ALPHA / family, SCHEDULE)
        time_level = calibrated_alpha(ALPHA, SCHEDULE)
        rules.append(Rules(f"family-wise over {family}, futility 0.20 (default)", split, 0.20, time_level))
    return rules


def row(name: str, rules: Rules, outcome, extra: str) -> str:
    return f"| {name} | {rules.name} | {extra} | {outcome.runs:.0f} |"


MEASURED = Path(__file__).parent / "shapes" / "airbench94_digits.json"


def shapes(n: int) -> None:
    """Wrong recommendations per noise shape, `mean_t` against `mean`, with binomial intervals."""
    measured = json.loads(MEASURED.read_text())
    noise = {name: name for name in SHAPES} | {"airbench94 digits (measured)": measured["tta_accuracy"]}
    print(
        f"{n} replications per cell; wrong recommendation with its 95% Clopper-Pearson interval.\n\n"
        "| scenario | shape | rule | wrong recommendation | no recommendation | warned | its 95% CI covers | runs |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    family = {
        "20 configs, 8 fast at 93.995": (
            [0.93995] * 8 + list(np.linspace(0.9410, 0.9420, 12)),
            list(np.linspace(1.00, 1.02, 8)) + list(np.linspace(1.05, 1.15, 12)),
        ),
        "4 configs, 2 fast at 93.995": ([0.93995, 0.93995, 0.9415, 0.9420], [1.00, 1.01, 1.05, 1.10]),
        "20 configs, clear winner at 94.30": (
            [0.943, *list(np.linspace(0.937, 0.942, 19))],
            [1.0, *list(np.linspace(1.03, 1.15, 19))],
        ),
    }
    for label, (means, times) in family.items():
        k = len(means)
        rules = Rules(
            "default", calibrated_alpha(ALPHA / k, SCHEDULE), 0.20, calibrated_alpha(ALPHA, SCHEDULE)
        )
        for shape_name, shape in noise.items():
            for criterion in ("mean_t", "mean"):
                out = simulate(
                    means,
                    times,
                    Target(threshold=0.94, criterion=criterion),
                    rules,
                    SCHEDULE,
                    replications=n,
                    rng=np.random.default_rng(25),
                    shape=shape,
                )
                wrong = round(out.wrong_recommendation * n)
                ci = binomtest(wrong, n).proportion_ci(0.95)
                print(
                    f"| {label} | {shape_name} | {criterion} | {100 * wrong / n:.1f}% "
                    f"[{100 * ci.low:.1f}, {100 * ci.high:.1f}] | {100 * out.no_recommendation:.1f}% | "
                    f"{100 * out.warned:.1f}% | {100 * out.covered:.1f}% | {out.runs:.0f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--only", choices=["shapes"], help="run one section")
    args = parser.parse_args()
    n = args.replications
    if args.only == "shapes":
        return shapes(n)
    target = Target(threshold=0.94)
    print(f"{n} replications per cell; +- is one Monte Carlo standard error.\n")

    print("| single config | rules | passes | runs |\n|---|---|---|---|")

    def single(label: str, mean: float, goal: Target, rules: Rules, seed: int, skew: float = 0.0) -> None:
        out = simulate(
            [mean],
            [1.0],
            goal,
            rules,
            SCHEDULE,
            replications=n,
            rng=np.random.default_rng(seed),
            skew=skew,
        )
        rate = out.passed[0]
        print(row(label, rules, out, f"{100 * rate:.1f}% +- {100 * out.error(rate):.1f}"))

    for label, mean, skew in (
        ("at the target", 0.9400, 0.0),
        ("at the target, left-skewed", 0.9400, 0.05),
        ("0.05 below", 0.9395, 0.0),
        ("0.05 above (power)", 0.9405, 0.0),
        ("0.10 above (power)", 0.9410, 0.0),
    ):
        for rules in rules_for():
            single(label, mean, target, rules, 1, skew)
    rate_target = Target(threshold=0.94, criterion="success_rate", success_rate=0.5)
    for label, mean in (
        ("success rate exactly 0.5", 0.9400),
        ("success rate 0.6 (power)", 0.9400 + 0.00035),
    ):
        for rules in rules_for(0.5)[:2]:
            single(label, mean, rate_target, rules, 2)

    print(
        "\n| test mix (docs, 9 configs) | rules | passes of the configs at or below the target (worst) | power at +0.20 | runs |"
    )
    print("|---|---|---|---|---|")
    for rules in rules_for(family=len(MIX_MEANS)):
        out = simulate(
            MIX_MEANS,
            MIX_TIMES,
            target,
            rules,
            SCHEDULE,
            replications=n,
            rng=np.random.default_rng(3),
        )
        worst = max(out.passed[i] for i, m in enumerate(MIX_MEANS) if m <= 0.94)
        print(
            f"| mix | {rules.name} | {100 * worst:.1f}% +- {100 * out.error(worst):.1f} | {100 * out.passed[7]:.1f}% | {out.runs:.0f} |"
        )

    print(
        "\n| two passing configs (94.20%), time std 1% | times compared | faster recommended | tied | runs |"
    )
    print("|---|---|---|---|---|")
    default = rules_for(family=2)[-1]
    for gap in (0.02, 0.01, 0.0):
        for label, rules in (
            ("Welch at 0.05 per look", Rules("", default.look_alpha, 0.20)),
            ("Welch at the calibrated level (default)", default),
        ):
            out = simulate(
                [0.942, 0.942],
                [1.0, 1.0 + gap],
                target,
                rules,
                SCHEDULE,
                replications=n,
                rng=np.random.default_rng(6),
            )
            print(
                f"| {100 * gap:.0f}% apart | {label} | {100 * out.recommended[0]:.1f}% | {100 * out.tied:.1f}% | {out.runs:.0f} |"
            )

    print(
        "\n| scenario | rules | wrong recommendation | no recommendation | tied | runs |\n|---|---|---|---|---|---|"
    )
    for label, configs, fast, fast_mean in (
        ("10 configs, 4 fast at 93.97-93.99", 10, 4, None),
        ("20 configs, 8 fast at 93.97-93.99", 20, 8, None),
        ("20 configs, 8 fast at 93.995", 20, 8, 0.93995),
        ("20 configs, 8 fast at 94.00", 20, 8, 0.94),
    ):
        means = list(np.linspace(0.9397, 0.9399, fast)) if fast_mean is None else [fast_mean] * fast
        means += list(np.linspace(0.9410, 0.9420, configs - fast))
        times = list(np.linspace(1.00, 1.02, fast)) + list(np.linspace(1.05, 1.15, configs - fast))
        for rules in rules_for(family=configs):
            out = simulate(
                means, times, target, rules, SCHEDULE, replications=n, rng=np.random.default_rng(4)
            )
            wrong = out.wrong_recommendation if fast_mean != 0.94 else sum(out.recommended[:fast])
            print(
                f"| {label} | {rules.name} | {100 * wrong:.1f}% +- {100 * out.error(wrong):.1f} | "
                f"{100 * out.no_recommendation:.1f}% | {100 * out.tied:.1f}% | {out.runs:.0f} |"
            )


if __name__ == "__main__":
    main()
