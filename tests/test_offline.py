"""Evaluation without retraining: derived sweeps (offline TTA re-weighting, other TTA levels) and
re-evaluating saved weights."""

from __future__ import annotations

import csv
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import hotlap
from hotlap.engine.driver import Engine
from hotlap.executors import InProcessExecutor
from hotlap.offline import derive_sweep, evaluate_saved, parse_values
from hotlap.recipes import get_recipe
from hotlap.recipes.airbench94 import make_net
from hotlap.recipes.tta import combine_views, predict_views, reweightable, tta_view_weights

TINY = {"width": 0.125, "epochs": 2, "batch_size": 128, "lr": 30.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 3-seed airbench94 run on digits, with weights and per-view logits stored."""
    workdir = tmp_path_factory.mktemp("work")
    spec = {
        "name": "trained",
        "recipe": "airbench94",
        "dataset": "digits",
        "device": "cpu",
        "base": TINY,
        "seeds": 3,
        "baseline": {},
    }
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.spec import parse_spec
    from hotlap.store import Store

    with Store(workdir) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    return workdir, record


def test_offline_reweighting_equals_a_direct_evaluation(trained, digits_data):
    workdir, record = trained
    with hotlap.open(workdir) as store:
        derived = derive_sweep(store, record.id, {"tta_untranslated_weight": [0.3]}, where=reweightable)
        Engine(store, derived, InProcessExecutor(warmup=False)).run()
        (config,) = store.configs(record.id)
        offline = {
            (c.params["tta_untranslated_weight"], r.seed): r.value("tta_accuracy")
            for c in store.configs(derived.id)
            for r in store.runs(derived.id, config_id=c.config_id)
        }
    recipe = get_recipe("airbench94")
    for seed in range(3):
        folder = record.directory / config.config_id / f"seed-{seed}"
        net = make_net(recipe.config({**TINY, "tta_untranslated_weight": 0.3}))
        net.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
        images = digits_data.normalize(digits_data.test_images)
        direct = combine_views(predict_views(net, images, 2, 2000), tta_view_weights(2, 0.3))
        stored = np.load(folder / "logits.npy").astype(np.float32)
        combined = np.tensordot(tta_view_weights(2, 0.3).numpy(), stored, axes=1)
        labels = digits_data.test_labels.numpy()
        differ = direct.argmax(1).numpy() != combined.argmax(1)
        top2 = torch.topk(direct, 2, dim=1).values
        margin = (top2[:, 0] - top2[:, 1]).numpy()
        assert (margin[differ] < 1e-2).all()  # only where fp16 rounding can flip a near tie
        direct_accuracy = (direct.argmax(1).numpy() == labels).mean()
        assert offline[(0.3, seed)] == pytest.approx(direct_accuracy, abs=differ.sum() / len(labels) + 1e-6)
        # ... and the full re-evaluation of the saved model at that weight says the same
        again = evaluate_saved(
            "airbench94",
            [f"{k}={v}" for k, v in TINY.items()] + ["tta_untranslated_weight=0.3"],
            folder / "model.pt",
            data="digits",
            device="cpu",
            warmup=False,
        )
        assert again["tta_accuracy"] == pytest.approx(direct_accuracy)
        assert again["eval_time"] > 0 and again.artifacts["logits.npy"].shape == (6, 360, 10)


def test_hotlap_eval_tta_weight_reads_no_dataset(trained, cli, monkeypatch):
    """Re-weighting stored views needs the stored logits and labels only: the dataset loader is
    never called (on CIFAR-10 it would put 60,000 images on the device to read 6 x 3 arrays), and
    the weights come out as with the data loaded (the derived sweep of the test below)."""
    import hotlap.executors.inprocess as inprocess

    workdir, record = trained
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    calls = []

    def refused(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the dataset was loaded")

    monkeypatch.setattr(inprocess, "load_dataset", refused)
    code, _, err = cli("eval", record.id, "--tta-weight", "0.2,0.4", "--name", "no-data")  # its old name
    assert code == 0 and not calls, err
    with hotlap.open(workdir) as store:
        frame = store.to_pandas("no-data")
    assert len(frame) == 3 * 3 and (frame["status"] == "done").all()  # 0.2, 0.4 and the reference
    assert frame["tta_accuracy"].between(0, 1).all()


def test_hotlap_eval_derives_a_paired_sweep_that_report_reads(trained, cli, monkeypatch):
    workdir, record = trained
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    code, out, err = cli("eval", record.id, "--reweight", "0.30:0.70:0.05", "--name", "weights")
    assert code == 0, err
    with hotlap.open(workdir) as store:
        frame = store.to_pandas("weights")
        derived = store.sweep("weights")
    assert len(frame) == 9 * 3 and sorted(frame["tta_untranslated_weight"].unique()) == parse_values(
        "0.30:0.70:0.05", "--reweight"
    )
    assert frame.groupby("tta_untranslated_weight")["seed"].apply(sorted).map(tuple).nunique() == 1  # paired
    baseline = frame[frame["is_baseline"]]
    assert set(baseline["tta_untranslated_weight"]) == {0.5} and len(baseline) == 3
    # Training times are the source runs' own: the weighting costs nothing extra.
    assert frame.groupby("seed")["train_time"].nunique().eq(1).all()
    assert derived.state == "done" and derived.spec["derived_from"] == record.id
    code, text, _ = cli("report", "weights")
    assert code == 0
    code, out, _ = cli("report", "weights", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    paired = [r for r in rows if r["is_baseline"] == "False"]
    assert len(paired) == 8 and all(r["p_value_vs_baseline"] != "" for r in paired)
    # "best" only where the best mean is told apart from the reference weighting (Holm)
    best = rows[0]
    shown = best["is_baseline"] == "False" and float(best["p_holm_vs_baseline"]) < 0.05
    shown = shown and float(best["tta_accuracy_diff_vs_baseline"]) > 0
    flat = " ".join(text.split())
    assert ("Best mean tta_accuracy" in flat) is shown
    assert ("No config is shown better than the baseline in tta_accuracy" in flat) is not shown
    # Exactly once: the same command again adds nothing; other weights under the same name are refused.
    code, _, _ = cli("eval", record.id, "--reweight", "0.30:0.70:0.05", "--name", "weights")
    assert code == 0 and len(hotlap.open(workdir).to_pandas("weights")) == 27
    code, _, err = cli("eval", record.id, "--reweight", "0.2,0.8", "--name", "weights")
    assert code == 2 and "spec changed: space" in err
    code, _, err = cli("resume", "weights")  # a derived sweep resumes like any: nothing left to do
    assert code == 0, err
    assert len(hotlap.open(workdir).to_pandas("weights")) == 27


def test_the_tta_study_is_judged_against_its_target_without_retraining(trained, cli, monkeypatch):
    """The TTA-weight study asks which weight reaches a target: a derived sweep takes the target
    (objective.* after the sweep id), and `report --target` judges one made without it, both on the
    stored networks only: per weight the mean/std accuracy and time, the success rate, whether it
    achieves the target, and the time against the baseline; the report says it was judged after
    the runs. Bad options are one line and exit 2."""
    workdir, record = trained
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    code, _, err = cli("eval", record.id, "--reweight", "0.3,0.7", "--name", "plain")
    assert code == 0, err
    with hotlap.open(workdir) as store:
        frame = store.to_pandas("plain")
    threshold = float(frame["tta_accuracy"].median())  # some runs reach it, some do not
    code, out, err = cli("report", "plain", "--target", f"{threshold!r}", "--format", "csv")
    assert code == 0, err
    rows = {float(r["tta_untranslated_weight"]): r for r in csv.DictReader(io.StringIO(out))}
    assert sorted(rows) == [0.3, 0.5, 0.7]
    for weight, row in rows.items():
        runs = frame[frame["tta_untranslated_weight"] == weight]
        assert float(row["success_rate"]) == pytest.approx((runs["tta_accuracy"] >= threshold).mean())
        assert float(row["mean_tta_accuracy"]) == pytest.approx(runs["tta_accuracy"].mean())
        assert float(row["std_tta_accuracy"]) == pytest.approx(runs["tta_accuracy"].std())
        # the time to minimize by default: the reference's convention, training and TTA evaluation
        assert float(row["mean_total_time"]) == pytest.approx(runs["total_time"].mean())
        assert row["achieves_target"] == str(row["decision"] == "pass")
        if weight != 0.5:
            assert row["total_time_diff_vs_baseline"] != ""
    code, out, err = cli("report", "plain", "--target", f"tta_accuracy>={threshold!r}")
    assert code == 0, err
    assert "Note: judged after the runs against mean tta_accuracy >=" in " ".join(out.split())
    with hotlap.open(workdir) as store:
        folder = store.sweep("plain").directory
    assert (folder / "report-rejudged" / "report.html").exists() and not (folder / "report").exists()
    code, out, err = cli("report", "plain", "--format", "csv")  # the stored report is unchanged
    assert code == 0 and {r["achieves_target"] for r in csv.DictReader(io.StringIO(out))} == {""}

    code, _, err = cli(
        "eval",
        record.id,
        "--reweight",
        "0.3,0.7",
        "--name",
        "judged",
        f"objective.target.at_least={threshold!r}",
    )
    assert code == 0, err
    with hotlap.open(workdir) as store:
        spec = store.sweep("judged").spec
    assert spec["target"]["at_least"] == threshold and spec["objective"] == [
        {"metric": "total_time", "direction": "minimize"}
    ]
    code, out, _ = cli("report", "judged", "--format", "csv")
    assert {r["achieves_target"] for r in csv.DictReader(io.StringIO(out))} <= {"True", "False"}

    for args, said in (
        (["report", "plain", "--alpha", "0.1"], "--alpha and --criterion judge a target: give --target too"),
        (["report", "plain", "--target", "loss>=0.5"], "--target: unknown metric 'loss'"),
        (["report", "plain", "--target", "1.5"], "tta_accuracy is a fraction; give a value in (0, 1)"),
        (["report", "plain", "--target", "0.5", "--alpha", "0.9"], "--alpha 0.9: expected an error rate"),
        (["report", "plain", "--target", "0.5", "--criterion", "median"], "unknown decision rule 'median'"),
        (["report", "plain", "--target", "0.5", "--minimize", "tta_accuracy"], "it is the target's metric"),
        (["report", "plain", "--minimize", "nosuch"], "unknown metric 'nosuch'"),
        (["report", "plain", "--target", "abc"], "'abc' is not a number"),
        (
            ["eval", record.id, "--reweight", "0.3", "seeds=5"],
            "only the objective (objective.*) can change",
        ),
    ):
        code, _, err = cli(*args)
        assert code == 2 and said in err and "Traceback" not in err, (args, err)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--reweight", "0.3:0.7"], "expected LOW:HIGH:STEP"),
        (["--reweight", "0.7:0.3:0.1"], "LOW 0.7 is above HIGH 0.3; write 0.3:0.7:0.1"),
        (["--reweight", "1.5"], "between 0 and 1"),
        ([], "give a sweep and --reweight"),
        (["--vary", "tta_level"], "expected FIELD=VALUES"),
        (["--vary", "tta_level=a,b"], "tta_level='a'"),
        (["--vary", "tta_level=0:2"], "expected LOW:HIGH:STEP"),
        (["--reweight", "a,b"], "weights are numbers between 0 and 1"),
        (["--vary", "tta_level=5"], "tta_level"),
        (["--vary", "width=0.5"], "changes airbench94's training"),
        (["--vary", "nonsense=1"], "has no field 'nonsense'"),
    ],
)
def test_bad_eval_input_is_one_line(trained, cli, monkeypatch, args, fragment):
    workdir, record = trained
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    with hotlap.open(workdir) as store:
        before = len(store.sweeps())
    code, _, err = cli("eval", record.id, *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    with hotlap.open(workdir) as store:
        assert len(store.sweeps()) == before  # nothing half-written


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the malicious file below
def test_saved_weights_are_checked_before_use(trained, cli, tmp_path):
    _, record = trained
    (config_dir,) = [p for p in record.directory.iterdir() if (p / "seed-0").is_dir()]
    model = config_dir / "seed-0" / "model.pt"
    base = ["eval", "--recipe", "airbench94", "--data", "digits", "--device", "cpu", "--no-warmup"]
    tiny = [f"{k}={v}" for k, v in TINY.items()]
    code, out, _ = cli(*base, "--weights", str(model), *tiny, "tta_level=1")
    assert code == 0 and "tta_accuracy %" in out and "views" in out
    assert out.split("│")[-2].strip() == "2"  # two views at level 1
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(256))
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"w": os.system}))
    for path, fragment in (
        (tmp_path / "absent.pt", "no such file"),
        (garbage, "not a loadable checkpoint"),
        (evil, "not a loadable checkpoint"),
    ):
        code, _, err = cli(*base, "--weights", str(path), *tiny)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(*base, "--weights", str(model), "width=0.25")
    assert code == 2 and "does not fit airbench94" in err and "for this config" in err
    code, out, err = cli(*base, "--weights", str(model), "--tta-level", "1")  # config.json beside it
    assert code == 0 and out.split("│")[-2].strip() == "2", err  # (the option's old spelling)
    alone = tmp_path / "alone.pt"
    alone.write_bytes(model.read_bytes())
    code, _, err = cli(*base, "--weights", str(alone))
    assert code == 2 and " in the file, " in err and "width=" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("eval", "--weights", str(model))
    assert code == 2 and "--weights needs --recipe" in err


def test_the_default_quantization_keeps_a_trained_network_and_a_ruinous_one_says_so(trained, cli):
    """`quant.all.weight_bits=8` on saved weights (the quantization guide's command) keeps the network's
    accuracy: the default format scales each output channel to its weights. Fixed point 8.4 has a
    range of +-7.94 that the whitening layer's weights exceed: that one is named in one warning
    line, and the accuracy it ruins is what it is."""
    _, record = trained
    (config_dir,) = [p for p in record.directory.iterdir() if (p / "seed-0").is_dir()]
    model = config_dir / "seed-0" / "model.pt"
    base = ["eval", "--recipe", "airbench94", "--data", "digits", "--device", "cpu", "--no-warmup"]
    base += ["--weights", str(model), *(f"{k}={v}" for k, v in TINY.items())]

    def accuracy(out: str) -> float:
        row = next(line for line in out.splitlines() if line.strip().startswith("│"))
        return float(row.strip("│ ").split("│")[0])

    code, out, err = cli(*base)
    assert code == 0, err
    full = accuracy(out)
    code, out, err = cli(*base, "quant.all.weight_bits=8")
    assert code == 0 and "warning" not in err, err
    kept = accuracy(out)  # this 2-epoch network is barely trained (40%): its margins are thin
    code, out, err = cli(*base, "quant.all.weight_bits=8", "quant.all.format=fixed")
    assert code == 0
    assert abs(kept - full) <= 3 and accuracy(out) < full - 10  # points
    (line,) = [line for line in err.splitlines() if "warning" in line]
    assert line.startswith("hotlap: warning: quant: layer ") and "saturate" in line and "fixed 8.4" in line


def test_a_sweep_with_reweight_derives_them_when_it_finishes_from_the_cli_and_the_api(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "work"))
    spec = tmp_path / "tta.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tta",
                "recipe": "airbench94",
                "dataset": "digits",
                "device": "cpu",
                "base": {**TINY, "epochs": 1},
                "seeds": 2,
                "reweight": {"low": 0.3, "high": 0.7, "step": 0.1},
            }
        )
    )
    code, out, err = cli("sweep", str(spec), "--no-warmup")
    assert code == 0, err
    assert "re-evaluated offline" in out and "hotlap report tta-tta" in out.replace("\n", "")
    frame = hotlap.open(Path(os.environ["HOTLAP_HOME"])).to_pandas("tta-tta")
    assert len(frame) == 5 * 2 and frame["is_baseline"].sum() == 2
    result = hotlap.resume_sweep("tta", warmup=False)  # the library does what the command line does
    assert result.state == "done" and result.derived is not None
    assert result.derived.sweep.name == "tta-tta" and result.derived.state == "done"
    assert result.derived.best is not None


def test_other_tta_levels_are_evaluated_on_the_stored_networks_and_timed(trained, cli, monkeypatch):
    workdir, record = trained
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    code, _, err = cli("eval", record.id, "--vary", "tta_level=0,1", "--name", "levels", "--no-warmup")
    assert code == 0, err
    with hotlap.open(workdir) as store:
        frame = store.to_pandas("levels")
        source = store.to_pandas(record.id).set_index("seed")
    assert len(frame) == 2 * 3 and (frame["status"] == "done").all()
    for _, row in frame.iterrows():
        trained_row = source.loc[row["seed"]]
        assert row["train_time"] == trained_row["train_time"]  # the source's training
        assert row["eval_time"] != trained_row["eval_time"]  # its own evaluation, timed
        assert row["total_time"] == pytest.approx(row["train_time"] + row["eval_time"])
    plain = frame[frame["tta_level"] == 0]
    assert (plain["tta_accuracy"] - plain["accuracy"]).abs().max() < 1e-6  # one view: no TTA


def test_re_weighting_is_the_recipe_familys_hook_and_a_recipe_without_one_says_so(tmp_path):
    """`--reweight` asks the source recipe's `reweighting` hook (the airbench family's TTA views):
    a recipe that declares none is refused in one line, naming it, and nothing is written."""
    from hotlap.errors import HotlapError
    from hotlap.offline import derive_reweighted
    from hotlap.testing.toy import NAME, tiny_spec, tiny_sweep

    assert all(get_recipe(n).reweighting is not None for n in ("airbench94", "airbench96_faster"))
    assert get_recipe(NAME).reweighting is None
    result = tiny_sweep(tmp_path, tiny_spec("plain"))
    with hotlap.open(tmp_path) as store:
        with pytest.raises(HotlapError, match=f"recipe {NAME} stores nothing to re-weight offline"):
            derive_reweighted(store, result.sweep.id, [0.3, 0.5])
        assert len(store.sweeps()) == 1
