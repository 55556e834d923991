"""Every example spec validates as written and runs at smoke size on the digits data, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import hotlap
from hotlap.spec import load_spec

# Examples of recipes trained on a dataset (script.yaml runs a program of its own: test_script.py).
EXAMPLES = sorted(p for p in (Path(__file__).parents[1] / "examples").glob("*.yaml") if p.stem != "script")
SMOKE = ["dataset=digits", "device=cpu", "base.width=0.125", "base.epochs=1", "base.batch_size=256"]
# The resnet recipe at 8x8 on 160 synthetic images (32 held out: one step of 128), 2 epochs; ResNet-50 stands in as
# ResNet-18 (the smoke run checks the study's shape, not the model: tests/test_resnet.py and the
# conformance kit train it on the digits).
SMOKE_RESNET = [
    "dataset=synthetic:160",
    "device=cpu",
    "base.image_size=8",
    "base.epochs=2",
    "base.val_size=32",
    "keep_weights=false",  # ResNet-18's 45 MB a run (the weights a run keeps: tests/test_cli.py)
]
EXTRA = {  # what a smoke run must also shrink in a given example
    "tpe": ["space.epochs=[1.0, 1.5]"],  # a swept key wins over base
    "quick_sweep": [
        "base.epochs=2",
        "fidelity.low=1",
        "fidelity.promote=1",
        "space.lr=[13.0]",
        "space.weight_decay=[0.0153]",
        "space.label_smoothing=[0.1, 0.2]",
    ],
    "resnet_cifar100": ["variants.r50.model=resnet18"],
    "resnet_quick": [
        "variants.r50.model=resnet18",
        "fidelity.low=1",
        "fidelity.promote=1",
        "space.lr=[0.05]",
    ],
    "resnet_pretrained": [
        "base.model=resnet18",
        "space.epochs=[1, 2]",
        "base.image_size=8",
        "base.resize_to=10",
    ],
}


def test_there_are_the_seed_studies():
    names = {p.stem for p in EXAMPLES}
    assert {"grid", "tpe", "tta_weights", "variants", "quick_sweep", "records"} <= names
    assert {"resnet_cifar100", "resnet_quick", "resnet_pretrained"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_states_its_question_and_runs_at_smoke_size(path, cli, tmp_path, monkeypatch):
    assert path.read_text().startswith("# Question:")
    extra = list(EXTRA.get(path.stem, []))
    raw = yaml.safe_load(path.read_text())
    if "pretrained" in raw.get("base", {}):  # a local weights file, as a user downloads it
        import torchvision

        weights = tmp_path / "weights.pth"
        torch.save(torchvision.models.resnet18().state_dict(), weights)
        extra.append(f"base.pretrained={weights}")
    # the weights must fit (and a shorter base keeps its screening shorter still)
    written = load_spec(path, [o for o in extra if o.startswith(("base.", "fidelity."))])
    assert written.dataset in ("cifar10", "cifar100")  # as written, the real study
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    seeds = ["seeds={min: 2, max: 4, step: 2}"] if written.racing else ["seeds=2"]
    budget = [] if written.reweight or written.fidelity else ["budget.max_runs=3"]
    verify = ["verify.seeds=2"] if written.verify else []
    # one TTA view where the study does not re-weight the views (six made each run's final
    # evaluation a fifth of its time; the TTA path runs in tta_weights and tests/test_airbench94.py)
    views = [] if written.reweight or written.recipe == "resnet" else ["base.tta_level=0"]
    code, _, err = cli(
        "sweep",
        str(path),
        *(SMOKE_RESNET if written.recipe == "resnet" else SMOKE),
        *seeds,
        *budget,
        *verify,
        *views,
        *extra,
        "--no-warmup",
    )
    assert code == 0, err
    with hotlap.open(tmp_path) as store:
        sweep = store.require(written.name)
        counts = store.counts(sweep.id)
        assert counts["done"] >= 2 and counts["failed"] == 0 and counts["running"] == 0
        if written.reweight:
            derived = store.require(f"{written.name}-tta")
            assert len(store.configs(derived.id)) == len(written.reweight_values())
        if written.fidelity:
            fidelities = {r.fidelity for r in store.runs(sweep.id)}
            assert fidelities == {"low", "full"}
