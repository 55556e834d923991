"""Sweep specs: what validates, and one-line errors with exit 2 for what does not."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import torch
import yaml

from hotlap.data import cifar
from hotlap.spec.errors import apply_overrides
from hotlap.spec.fields import RangeSpec, SpecError
from hotlap.spec.validate import load_spec, parse_spec

GOOD = {
    "name": "grid",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "space": {
        "x": [0.1, 0.2],
        "y": {"low": 0, "high": 4, "step": 2},
        "choice": {"choices": ["a", "b"]},
    },
    "seeds": 2,
}


def test_a_good_spec_resolves_its_defaults():
    spec = parse_spec(GOOD)
    assert spec.seeds == [0, 1]
    assert spec.strategy.name == "grid"
    assert [(o.metric, o.direction) for o in spec.objective] == [("tta_accuracy", "maximize")]
    assert spec.swept_keys == ["x", "y", "choice"]
    assert spec.space["y"].values() == [0, 2, 4]


def test_objective_accepts_both_directions_in_order():
    spec = parse_spec(
        {
            **GOOD,
            "strategy": {"name": "nsga2", "trials": 4},
            "objective": {"maximize": "tta_accuracy", "minimize": ["train_time"]},
        }
    )
    assert [(o.metric, o.direction) for o in spec.objective] == [
        ("tta_accuracy", "maximize"),
        ("train_time", "minimize"),
    ]
    assert parse_spec(spec.to_plain()) == spec  # the stored form reads back


def test_float_steps_land_on_round_values():
    values = RangeSpec(low=0.3, high=0.7, step=0.05).values()
    assert values == [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]


def test_variants_are_one_more_swept_dimension():
    spec = parse_spec(
        {**GOOD, "variants": {"fast": {"seconds": 0.0}, "wide": {"y": 3}}, "space": {"x": [0.1]}}
    )
    assert spec.swept_keys == ["variant", "x"]
    assert spec.overrides_for({"variant": "wide", "x": 0.1}) == {"y": 3, "x": 0.1}


def test_dotted_overrides_reach_into_the_spec():
    raw = apply_overrides(GOOD, ["base.seconds=0.5", "seeds=[3, 4]", "strategy=brute", "space.x=[1e-3]"])
    spec = parse_spec(raw)
    assert spec.base == {"seconds": 0.5} and spec.seeds == [3, 4] and spec.strategy.name == "brute"
    assert spec.space["x"] == [0.001]
    assert GOOD["space"]["x"] == [0.1, 0.2]  # the input is not modified


BAD = [
    ({"strategi": "grid"}, "unknown key 'strategi' (closest: strategy"),
    ({"space": {"xx": [1.0]}}, "unknown config key 'xx' for recipe toy (closest: x)"),
    ({"seeds": "five"}, "seeds"),
    ({"seeds": 0}, "at least one seed"),
    ({"space": {"x": []}}, "x: empty list of values"),
    ({"space": {"x": {"low": 0.5, "high": 0.1}}}, "empty or inverted range"),
    (
        {"space": {"x": {"low": 0.1, "high": 0.5}}},
        "space.x: strategy grid enumerates a finite space",
    ),
    (
        {"strategy": "brute", "space": {"x": {"low": 0.1, "high": 0.5}}},
        "strategy brute enumerates a finite space",
    ),
    ({"recipe": "tyo"}, "unknown recipe 'tyo' (closest: toy, toy2"),
    ({"dataset": "cifar1O"}, "unknown dataset 'cifar1O'"),
    ({"strategy": "annealing"}, "strategy.name"),
    ({"strategy": {"name": "nsga2", "trials": 5}}, "multi-objective"),
    ({"space": {"x": [-20.0]}}, "space.x: invalid value for x=-20.0"),
    ({"strategy": "tpe"}, "needs strategy.trials or a budget"),
    ({"space": {"x": {"low": 0.0, "high": 1.0, "log": True}}}, "a log range needs low > 0"),
    ({"budget": {"max_runs": 0}}, "budget.max_runs"),
    ({"objective": {"maximize": "acc"}}, "unknown metric 'acc'"),
    (
        {"fidelity": {"key": "epoch", "low": 1, "promote": 2}},
        "fidelity.key: unknown config key 'epoch'",
    ),
    ({"variants": {"v": {"x": 1.0}}}, "variants.v: sets swept key(s) x"),
    ({"name": "has spaces"}, "name"),
    ({"base": {"seconds": -1}}, "base: invalid value for seconds=-1"),
    ({"space": {"x": {"low": 0.1}}}, "a range needs low and high"),
    ({"device": "tpu"}, "device"),
    (
        {"recipe": "airbench94", "dataset": "digits", "space": {"lr": [1.0]}, "reweight": [0.3, 1.5]},
        "reweight: weights are numbers between 0 and 1",
    ),
    (
        {"recipe": "resnet", "dataset": "digits", "space": {"lr": [0.1]}, "reweight": [0.3]},
        "reweight: recipe resnet stores nothing to re-weight offline",
    ),
    (
        {
            "recipe": "airbench94",
            "dataset": "digits",
            "space": {"lr": [1.0]},
            "reweight": [0.3],
            "name": "n" * 80,
        },
        f"the derived sweep is named {'n' * 80}-tta, longer than 81 characters; shorten the name to 77",
    ),
    ({"seeds": {"min": 5, "max": 3}}, "need 2 <= min <= max"),
    ({"verify": {"seeds": 1}}, "verify.seeds"),
    ({"objective": {"target": {"at_least": 94}}}, "objective.target.at_least"),
]


def _snapshot(workdir: Path) -> dict[str, str]:
    """Every file's digest; the database by its rows (its -wal/-shm bytes move on any open)."""
    files = {}
    for path in sorted(workdir.rglob("*")):
        if path.is_file() and not path.name.startswith("hotlap.db"):
            files[str(path.relative_to(workdir))] = hashlib.md5(path.read_bytes()).hexdigest()
    with closing(sqlite3.connect(workdir / "hotlap.db")) as db:
        files["hotlap.db rows"] = hashlib.md5("\n".join(db.iterdump()).encode()).hexdigest()
    return files


@pytest.fixture
def existing_store(cli, tmp_path):
    """A workdir whose store already holds a finished sweep."""
    spec = tmp_path / "ok.yaml"
    spec.write_text(yaml.safe_dump({**GOOD, "name": "already-here"}))
    code, _, err = cli("sweep", str(spec))
    assert code == 0, err
    return Path(os.environ["HOTLAP_HOME"])


@pytest.mark.parametrize(("change", "fragment"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_specs_exit_2_in_one_line_and_leave_the_store_alone(
    cli, tmp_path, existing_store, change, fragment
):
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump({**GOOD, **change}))
    before = _snapshot(existing_store)
    code, out, err = cli("sweep", str(spec))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hotlap: error: {spec}: ")
    assert fragment in lines[0]
    assert "Traceback" not in out + err
    assert _snapshot(existing_store) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nrecipe: toy\nspace: {x: [1, 2\n", "not valid YAML at line"),
        ("- just\n- a list\n", "a spec is a YAML mapping"),
    ],
)
def test_unreadable_specs_are_one_line_errors(cli, tmp_path, text, fragment):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    code, _, err = cli("sweep", str(spec))
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_a_missing_spec_file_is_named(cli, tmp_path):
    code, _, err = cli("sweep", str(tmp_path / "nope.yaml"))
    assert code == 2 and "does not exist" in err


def test_load_spec_applies_cli_overrides(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    assert load_spec(path, ["seeds=5"]).seeds == [0, 1, 2, 3, 4]
    with pytest.raises(SpecError, match="not of the form FIELD=VALUE"):
        load_spec(path, ["seeds"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_device_that_is_not_there_is_refused_before_the_store_is_touched(cli, tmp_path, existing_store):
    spec = tmp_path / "gpu.yaml"
    spec.write_text(yaml.safe_dump({**GOOD, "name": "on-gpu", "device": "cuda"}))
    before = _snapshot(existing_store)
    code, _, err = cli("sweep", str(spec))
    assert code == 2 and "no CUDA GPU is available" in err
    assert _snapshot(existing_store) == before


def test_a_missing_dataset_is_refused_before_the_store_is_touched(cli, tmp_path, existing_store, monkeypatch):
    absent = (tmp_path / "absent.tar.gz").as_uri()
    unreachable = {name: dataclasses.replace(a, url=absent) for name, a in cifar.CIFAR_ARCHIVES.items()}
    monkeypatch.setattr(cifar, "CIFAR_ARCHIVES", unreachable)
    spec = tmp_path / "cifar.yaml"
    spec.write_text(yaml.safe_dump({**GOOD, "name": "on-cifar", "dataset": "cifar10"}))
    before = _snapshot(existing_store)
    code, _, err = cli("sweep", str(spec))
    assert code == 2 and "could not download" in err and "by hand" in err
    assert _snapshot(existing_store) == before


@pytest.mark.parametrize(
    ("old", "new", "value", "means"),
    [
        ("keep_logits", "keep_artifacts", False, "every artifact of a run"),
        ("tta_weights", "reweight", [0.3, 0.5], "the recipe's re-weighting field's values"),
    ],
)
def test_an_old_key_name_still_works_and_says_so(old, new, value, means):
    from hotlap.spec.validate import shadowed

    raw = {"name": "renamed", "recipe": "airbench94", "dataset": "digits", "device": "cpu", "seeds": 2}
    spec = parse_spec({**raw, old: value})
    assert getattr(spec, new) == value
    assert spec.model_dump() == parse_spec({**raw, new: value}).model_dump()
    assert [n for n in shadowed(spec) if old in n] == [
        f"notice: {old} is now {new} ({means}); the old name still works"
    ]
    assert shadowed(parse_spec({**raw, new: value})) == []
    with pytest.raises(SpecError, match=f"old name of {new}"):
        parse_spec({**raw, old: value, new: value})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": [0, 99999999999999999999999]}, "seeds are at most 2,147,483,647"),
        ({"seeds": [2**31 - 2], "verify": {"seeds": 3}}, "go past 2,147,483,647"),
    ],
)
def test_seeds_past_32_bits_are_refused_before_anything_is_written(change, message):
    raw = {"name": "big", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu", **change}
    with pytest.raises(SpecError, match=message) as caught:
        parse_spec(raw)
    assert "\n" not in str(caught.value)
    parse_spec({**raw, "seeds": [2**31 - 1], "verify": None})  # the largest seed itself is fine


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"fidelity": {"key": "epochs", "low": 4.0, "promote": 1}},
            "fidelity.low 4.0 is not below the full epochs",
        ),
        (
            {"fidelity": {"key": "epochs", "low": 2.0, "promote": 1}, "variants": {"short": {"epochs": 2.0}}},
            "fidelity.low 2.0 is not below the full epochs, 2.0",
        ),
        ({"variants": {"": {"x": 0.1}}}, "a variant's name is not empty"),
    ],
)
def test_meaningless_screening_and_nameless_variants_are_refused(change, message):
    raw = {"name": "m", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu", "seeds": 2, **change}
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)


def test_a_spec_file_does_not_name_the_sweep_it_derives_from(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: d\nrecipe: toy\ndataset: synthetic:8\ndevice: cpu\nseeds: 2\n")
    assert load_spec(path).derived_from is None
    for text, overrides in (("derived_from: other\n", []), ("", ["derived_from=other"])):
        path.write_text("name: d\nrecipe: toy\ndataset: synthetic:8\ndevice: cpu\nseeds: 2\n" + text)
        with pytest.raises(SpecError, match="derived_from is set by `hotlap eval`"):
            load_spec(path, overrides)
