"""The command line: one-line errors with exit 2 and nothing written; a full run's directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import hotlap
from hotlap.recipes import get_recipe
from hotlap.recipes.airbench94 import make_net


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["not_a_key=1"], "unknown config key 'not_a_key'"),
        (["lr=-1"], "lr=-1"),
        (["batch_size=big"], "batch_size='big'"),
        (["epochs"], "KEY=VALUE"),
        (["--data", "digitz"], "unknown dataset 'digitz' (closest: digits)"),
        (["--data", "cifar10:100"], "fixed size"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seed-offset", "-1"], "--seed-offset"),
        (["--seed-offset", "99999999999999999999999"], "goes past the largest seed, 2,147,483,647"),
        (["--target", "94"], "--target: tta_accuracy is a fraction; give a value between 0 and 1"),
        (["--device", "tpu"], "expected auto, cpu or cuda"),
        (["batch_size=5000"], "leaves no training step"),
    ],
)
def test_bad_run_input_exits_2_in_one_line_and_writes_nothing(cli, tmp_path, args, fragment):
    home = Path(os.environ["HOTLAP_HOME"])
    before = tree(home)
    out_dir = tmp_path / "out"
    base = ["run", "airbench94", "--data", "digits", "--seeds", "2", "--out", str(out_dir)]
    code, out, err = cli(*base, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotlap: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err + out
    assert not out_dir.exists()
    assert tree(home) == before


def test_unknown_recipe_suggests_the_closest(cli):
    code, _, err = cli("run", "airbench49", "--data", "digits")
    assert code == 2 and "unknown recipe 'airbench49' (closest: " in err and "airbench94" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_a_user_error(cli):
    code, _, err = cli("run", "airbench94", "--data", "digits", "--device", "cuda")
    assert code == 2 and "no CUDA GPU is available" in err


def test_an_existing_run_directory_is_not_overwritten(cli, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = cli("run", "airbench94", "--data", "digits", "--out", str(tmp_path))
    assert code == 2 and "is not an empty directory" in err
    assert tree(tmp_path) == ["keep.txt"]


def test_show_reports_the_reference_facts(cli):
    code, out, _ = cli("show", "airbench94")
    assert code == 0
    assert "476" in out and "1,972,792" in out and "360 TFLOPs" in out  # the reference: 0.36 PFLOPs per run


def test_show_applies_overrides_and_validates_them(cli):
    code, out, _ = cli("show", "airbench94", "batch_size=512", "--data", "digits")
    assert code == 0 and "steps per epoch" in out and " 2 " in out  # 1437 // 512
    code, _, err = cli("show", "airbench94", "widht=2")
    assert code == 2 and "closest: width" in err


def test_recipes_and_datasets_list_what_is_registered(cli):
    code, out, _ = cli("recipes")
    assert code == 0 and "airbench94" in out
    code, out, _ = cli("datasets")
    assert code == 0 and all(name in out for name in ("cifar10", "cifar100", "digits", "synthetic"))


def test_a_run_writes_a_complete_run_directory(tmp_path):
    """Through the installed console script, as a user runs it."""
    out_dir = tmp_path / "run"
    overrides = {**get_recipe("airbench94").smoke, "epochs": 2, "width": 0.125}
    smoke = [f"{k}={v}" for k, v in overrides.items()]
    command = [
        str(Path(sys.executable).parent / "hotlap"),
        "run",
        "airbench94",
        *smoke,
        "--data",
        "digits",
        "--seeds",
        "2",
        "--seed-offset",
        "5",
        "--device",
        "cpu",
        "--target",
        "0.5",
        "--out",
        str(out_dir),
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "±" in proc.stdout and "seeds 5..6" in proc.stdout

    config = json.loads((out_dir / "config.json").read_text())
    config_id = next(p.name for p in out_dir.iterdir() if p.is_dir() and p.name != "best")
    files = ("config.json", "metrics.json", "model.pt", "logits.npy", "labels.npy")
    expected = [
        "config.json",
        "env.json",
        "log.txt",
        "runs.jsonl",
        "summary.json",
        "spec.yaml",
        ".lock",
        ".ended-whole.json",  # the session ended whole: a resume has nothing to repair
        "best",
        config_id,
    ]
    expected += [f"{config_id}/seed-{k}" for k in (5, 6)]
    expected += [f"{config_id}/seed-{k}/{f}" for k in (5, 6) for f in files]
    expected += [f"best/{f}" for f in (*files, "summary.json")]
    assert tree(out_dir) == sorted(expected)
    assert config["recipe"] == "airbench94" and config["dataset"] == "digits" and config["seeds"] == [5, 6]
    assert config["config"]["width"] == 0.125 and config["config"]["lr"] == 30.0
    assert config["config"]["momentum"] == 0.85  # fully resolved: defaults included

    runs = [json.loads(line) for line in (out_dir / "runs.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in runs] == [5, 6]
    for run in runs:
        assert run["status"] == "done" and run["precision"] == "fp32"  # auto on the CPU
        assert run["total_time"] == pytest.approx(run["train_time"] + run["eval_time"])
        assert 0 <= run["accuracy"] <= 1 and 0 <= run["tta_accuracy"] <= 1
        assert [h["epoch"] for h in run["history"]] == [1, 2]
        assert run["accuracy"] == run["history"][-1]["val_acc"]

    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["n"] == 2 and summary["failed"] == 0
    accs = [r["tta_accuracy"] for r in runs]
    assert summary["tta_accuracy"]["mean"] == pytest.approx(sum(accs) / 2)
    assert summary["target"]["success_rate"] == sum(a >= 0.5 for a in accs) / 2

    env = json.loads((out_dir / "env.json").read_text())
    for key in ("hotlap", "torch", "cuda", "cudnn", "device_name", "hostname", "git_commit"):
        assert key in env
    log = (out_dir / "log.txt").read_text()
    # on a CPU nothing needs warming (no cuDNN autotuning, no CUDA graphs): no warmup run
    assert "[warmup]" not in log and f"config {config_id} seed 5 done" in log

    # The run is a one-config sweep in the store of HOTLAP_HOME.
    with hotlap.open(os.environ["HOTLAP_HOME"]) as store:
        (sweep,) = store.sweeps()
        assert sweep.id == summary["sweep"] and sweep.directory == out_dir and sweep.state == "done"
        frame = store.to_pandas(sweep.id)
        assert frame["seed"].tolist() == [5, 6] and (frame["status"] == "done").all()
        assert frame["tta_accuracy"].tolist() == pytest.approx(accs)

    # The stored per-view logits (fp16) reproduce the run's TTA accuracy.
    logits = np.load(out_dir / config_id / "seed-6" / "logits.npy")
    labels = np.load(out_dir / config_id / "seed-6" / "labels.npy")
    assert logits.dtype == np.float16 and logits.shape == (6, 360, 10) and labels.shape == (360,)
    weights = np.array([0.25, 0.25, 0.125, 0.125, 0.125, 0.125])
    offline = ((weights[:, None, None] * logits.astype(np.float32)).sum(0).argmax(1) == labels).mean()
    assert offline == pytest.approx(runs[1]["tta_accuracy"], abs=1 / 360)

    state = torch.load(out_dir / config_id / "seed-6" / "model.pt", weights_only=True)
    net = make_net(get_recipe("airbench94").config({"width": 0.125}))
    net.load_state_dict(state)  # the weights load into a freshly built network


def tiny_run(out_dir: Path, seeds: int, *overrides: str) -> list[str]:
    """The installed console script training a 1-epoch, 1/8-width airbench94 on digits."""
    hotlap = str(Path(sys.executable).parent / "hotlap")
    tiny = ["width=0.125", "epochs=1", "batch_size=256", *overrides]
    return [
        hotlap,
        "run",
        "airbench94",
        *tiny,
        "--data",
        "digits",
        "--seeds",
        str(seeds),
        "--no-warmup",
        "--out",
        str(out_dir),
    ]


def test_a_diverging_seed_is_recorded_as_failed_and_the_exit_code_says_so(tmp_path):
    out_dir = tmp_path / "run"
    command = tiny_run(out_dir, 2, "lr=1e30")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "2 seed(s) failed" in proc.stdout
    runs = [json.loads(line) for line in (out_dir / "runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert "non-finite training loss" in runs[0]["error"] and "Traceback" in runs[0]["traceback"]
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["n"] == 0 and summary["failed"] == 2 and summary["tta_accuracy"]["mean"] is None


def test_ctrl_c_keeps_the_finished_seeds_and_says_where(tmp_path):
    out_dir = tmp_path / "run"
    command = tiny_run(out_dir, 50)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs_file = out_dir / "runs.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (runs_file.exists() and runs_file.read_text().count("\n") >= 1):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in out and str(out_dir) in out
    summary = json.loads((out_dir / "summary.json").read_text())
    finished = runs_file.read_text().count("\n")
    assert summary["interrupted"] is True and summary["n"] == finished >= 1
    assert summary["seeds_planned"] == 50


def test_runs_started_within_one_second_get_their_own_sweeps():
    """Two `hotlap run` with other overrides (or the same ones) in the same second never meet as
    one sweep ("exists and its spec changed")."""
    from hotlap.runner import plan_run, run_spec

    one = run_spec(plan_run("toy", ["x=0.1"], data="synthetic:8", device="cpu"))
    other = run_spec(plan_run("toy", ["x=0.2"], data="synthetic:8", device="cpu"))
    again = run_spec(plan_run("toy", ["x=0.1"], data="synthetic:8", device="cpu"))
    names = [one["name"], other["name"], again["name"]]
    assert len(set(names)) == 3 and all(n.startswith("run-toy-synthetic-8-") for n in names)
    assert one["name"].split("-")[-1][:6] != other["name"].split("-")[-1][:6]  # named by what runs


def test_show_airbench95_has_its_widths_epochs_and_lr(cli):
    """airbench95 is airbench94 at widths 128/384/384, 15 epochs, lr 10: 48 x 15 = 720 steps."""
    code, out, _ = cli("show", "airbench95")
    flat = " ".join(out.split())
    assert code == 0 and "optimizer steps │ 720" in flat
    for key, value in (
        ("block1_width", "128"),
        ("block2_width", "384"),
        ("epochs", "15.0"),
        ("lr", "10.0"),
    ):
        assert f"{key} │ {value}" in flat, key


def test_show_airbench96_has_its_widths_schedule_and_residual_network(cli):
    """airbench96: widths 128/384/512, 37 epochs (48 x 37 = 1,776 steps), lr 9, wd 0.012, translate
    4, cutout 12; ten convs (the reference's 4.91 PFLOPs a run, counted at 3x forward + TTA)."""
    code, out, _ = cli("show", "airbench96")
    flat = " ".join(out.split())
    assert code == 0 and "optimizer steps │ 1,776" in flat and "4.99 PFLOPs" in flat
    for key, value in (
        ("block1_width", "128"),
        ("block2_width", "384"),
        ("block3_width", "512"),
        ("epochs", "37.0"),
        ("lr", "9.0"),
        ("weight_decay", "0.012"),
        ("translate", "4"),
        ("cutout", "12"),
        ("lr_end", "0.0"),
        ("lr_warmup_frac", "0.1"),
    ):
        assert f"{key} │ {value}" in flat, key


def test_show_airbench96_faster_states_its_steps_flops_and_published_figures(cli):
    """45 epochs of 48 steps; the proxy's scoring and steps counted with the main network's half
    batches (the reference's 3.1 PFLOPs); the reference's published figures under the facts, and
    airbench94's beside its own."""
    code, out, _ = cli("show", "airbench96_faster")
    flat = " ".join(out.split())
    assert code == 0 and "optimizer steps │ 2,160" in flat and "3.17 PFLOPs" in flat
    assert "batch_size_masked │ 512" in flat and "whiten_bias_epochs │ 45" in flat
    assert "published for the reference: 96.00% mean TTA accuracy, 27.3 s" in flat
    code, out, _ = cli("show", "airbench94")
    assert "published for the reference: 94.01% mean TTA accuracy over n=1000 runs, 3.83 s" in " ".join(
        out.split()
    )


def test_show_airbench94_muon_is_the_records_200_steps(cli):
    """Batch 2000 for 8 epochs: 25 steps an epoch, 200 in all; the reference's 0.29 PFLOPs a run."""
    code, out, _ = cli("show", "airbench94_muon")
    flat = " ".join(out.split())
    assert code == 0 and "optimizer steps │ 200" in flat and "steps per epoch │ 25" in flat
    assert "298 TFLOPs" in flat


def test_hotlap_run_judges_against_the_recipes_own_target_or_none(cli, tmp_path, monkeypatch):
    """`hotlap run` takes the recipe's own target (airbench94: 94%, airbench96: 96%) and none for a
    recipe without one (resnet, a plugin): no success rate against a number that means nothing
    for it; --target sets one."""
    from hotlap.runner import plan_run

    assert plan_run("airbench94", data="digits", device="cpu").target == 0.94
    assert plan_run("airbench96", data="digits", device="cpu").target == 0.96
    assert plan_run("resnet", ["val_size=100"], data="digits", device="cpu").target is None
    assert plan_run("resnet", ["val_size=100"], data="digits", device="cpu", target=0.7).target == 0.7
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    code, out, err = cli(
        "run", "toy", "--data", "synthetic:8", "--device", "cpu", "--out", str(tmp_path / "r")
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["target"] is None and " runs (" not in out
    with hotlap.open(tmp_path) as store:
        (sweep,) = store.sweeps()
        assert sweep.spec["target"] is None
