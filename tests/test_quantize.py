"""Post-training quantization: per-layer formats, fake quantization, bit-width counting, and the
quantization study through the CLI (TPE and brute force on networks trained once per seed)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from hotlap.config import flatten
from hotlap.errors import ConfigError
from hotlap.recipes import SourceRun, get_recipe, list_recipes
from hotlap.recipes.quantize import bit_widths, fake_quantize, layer_formats, quantize_network
from hotlap.recipes.tta import reweighted


def small_net() -> nn.Sequential:
    """conv 3->4 (3x3, bias): 108 + 4 parameters; BN: 4 + 4; linear 16 -> 10 (bias): 160 + 10."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, bias=True),
        nn.BatchNorm2d(4),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def test_the_average_bit_width_counts_every_parameter_at_its_width():
    net = small_net()
    full = bit_widths(net, {})
    assert (full.avg_bits, full.memory_density, full.parameters) == (32, 1, 290)
    assert full.quantized_bytes == 290 * 4
    # conv weights and bias at 4 bits, linear's at 8, BatchNorm's 8 parameters as stored (32)
    widths = bit_widths(net, {"conv.weight_bits": 4, "linear.weight_bits": 8})
    total = (108 + 4) * 4 + 8 * 32 + (160 + 10) * 8
    assert widths.avg_bits == pytest.approx(total / 290)
    assert widths.memory_density == pytest.approx(32 / (total / 290))
    assert widths.quantized_bytes == math.ceil(total / 8)
    lower = bit_widths(net, {"conv.weight_bits": 2, "linear.weight_bits": 8})
    assert lower.avg_bits == pytest.approx((112 * 2 + 8 * 32 + 170 * 8) / 290)
    assert lower.avg_bits < widths.avg_bits
    # input widths quantize activations, which the network does not store
    assert bit_widths(net, {"all.act_bits": 4}).avg_bits == 32


def test_mases_count_is_the_quantized_layers_weights_only_beside_hotlaps_whole_model_count():
    """The Mase study's average bit width and memory density count the quantized conv/linear
    weights only: 8 bits everywhere is density 4.0 (hotlap's count, with BatchNorm and biases: 3.99),
    2 bits 16.0, and quantizing only the head reads its 4 bits where the whole model stays ~32."""
    from hotlap.recipes import get_recipe

    recipe = get_recipe("airbench94")
    net = recipe.build_model(recipe.config(), 10)
    eight, two = bit_widths(net, {"all.weight_bits": 8}), bit_widths(net, {"all.weight_bits": 2})
    assert (eight.weight_avg_bits, eight.metrics()["weight_memory_density"]) == (8.0, 4.0)
    assert two.metrics()["weight_memory_density"] == 16.0
    assert 3.95 < eight.memory_density < 4.0  # hotlap's own: every parameter, BatchNorm's at 32
    head = bit_widths(net, {"linear.weight_bits": 4})
    assert head.weight_avg_bits == 4.0 and head.avg_bits > 31.9
    assert bit_widths(net, {}).weight_avg_bits == 32.0  # nothing quantized: full precision


def test_a_bias_takes_its_own_width_where_given_as_mase_sets_it_apart():
    """`bias_bits` / `bias_frac` quantize a layer's bias apart from its weights (default: the
    weights' format); the bit counts follow."""
    torch.manual_seed(0)
    net = small_net()
    with torch.no_grad():
        net[0].bias.copy_(torch.tensor([0.3, -0.7, 1.1, 0.05]))
    bias = net[0].bias.clone()
    same = small_net()
    same.load_state_dict(net.state_dict())
    quantize_network(net, {"conv.weight_bits": 4, "conv.bias_bits": 32, "conv.format": "fixed"})
    assert torch.equal(net[0].bias, bias)  # 32 bits: the bias as stored, the weights at 4
    quantize_network(same, {"conv.weight_bits": 4, "conv.format": "fixed"})
    assert torch.equal(same[0].bias, fake_quantize(bias, 4, 2, "fixed"))  # the weights' format
    apart = small_net()
    apart.load_state_dict(same.state_dict() | {"0.bias": bias})
    quantize_network(
        apart, {"conv.weight_bits": 4, "conv.bias_bits": 8, "conv.bias_frac": 6, "conv.format": "fixed"}
    )
    assert torch.equal(apart[0].bias, fake_quantize(bias, 8, 6, "fixed"))
    widths = bit_widths(small_net(), {"conv.weight_bits": 4, "conv.bias_bits": 8, "linear.weight_bits": 8})
    assert widths.avg_bits == pytest.approx((108 * 4 + 4 * 8 + 8 * 32 + 170 * 8) / 290)
    with pytest.raises(ValueError, match="bias_bits"):
        bit_widths(small_net(), {"conv.bias_bits": 1})


def test_a_name_wins_over_a_type_and_a_type_over_all():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1), nn.Flatten(), nn.Linear(4, 2))
    formats = layer_formats(
        net, {"all.weight_bits": 8, "conv.weight_bits": 6, "0.weight_bits": 4, "all.format": "int"}
    )
    assert {name: f.weight_bits for name, f in formats.items()} == {"0": 4, "1": 6, "3": 8}
    assert {f.format for f in formats.values()} == {"int"}
    assert formats["0"].frac("weight") == 2  # fixed point's default: half the width
    with pytest.raises(ConfigError, match="'conv9' is no layer of this network"):
        layer_formats(net, {"conv9.weight_bits": 4})


def test_fixed_point_rounds_to_its_grid_and_clips_to_its_range():
    x = torch.tensor([0.3, 0.374, 5.0, -5.0, -0.13])
    # 4 bits, 2 fractional: steps of 0.25 from -2 to 1.75
    assert fake_quantize(x, 4, 2, "fixed").tolist() == [0.25, 0.25, 1.75, -2.0, -0.25]
    wide = fake_quantize(x, 12, 8, "fixed")
    assert torch.all((wide * 256).round() == wide * 256)
    assert fake_quantize(x, 32, 16, "fixed") is x  # 32 bits: as stored


def test_integers_are_symmetric_per_tensor_or_per_channel():
    torch.manual_seed(1)
    w = torch.randn(6, 3, 3, 3) * torch.tensor([1, 10, 100, 1, 1, 1.0]).view(6, 1, 1, 1)
    q = fake_quantize(w, 4, 0, "int")
    step = w.abs().max() / 7
    assert len(torch.unique(q)) <= 15  # -7..7 steps
    assert torch.allclose(q / step, (q / step).round(), atol=1e-4)
    per_channel = fake_quantize(w, 4, 0, "int", axis=0)
    for channel in range(6):  # each channel keeps its own largest value exactly
        largest = w[channel].abs().max()
        assert per_channel[channel].abs().max() == pytest.approx(float(largest), rel=1e-6)
    # the per-channel error is smaller than one scale for the whole tensor
    assert (per_channel - w).abs().mean() < (q - w).abs().mean()


def test_inputs_are_rounded_before_the_layer_with_a_calibrated_scale():
    layer = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(4))
    net = nn.Sequential(layer)
    calibration = torch.tensor([[1.0, -2.0, 0.5, 0.25], [0.0, 1.5, -0.5, 2.0]])
    formats = quantize_network(net, {"0.act_bits": 3, "0.format": "int"}, lambda: calibration)
    assert formats["0"].act_bits == 3
    x = torch.tensor([[0.3, 1.9, -1.2, 5.0]])
    step = 2.0 / 3  # the largest calibration input over 2^(3-1) - 1 steps
    expected = (x / step).round().clamp(-3, 3) * step
    assert torch.allclose(net(x), expected)


def test_quantization_leaves_the_weights_at_a_config_of_32_bits():
    net = small_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    quantize_network(net, {"all.weight_bits": 32, "all.act_bits": 32})
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_quant_takes_dotted_and_nested_keys_and_refuses_bad_ones_in_one_line():
    recipe = get_recipe("airbench94")
    config = recipe.config({"quant": {"conv": {"weight_bits": 4}}, "quant.linear.weight_bits": 8})
    assert config.quant == {"conv.weight_bits": 4, "linear.weight_bits": 8}
    assert recipe.config({"quant.conv.weight_bits": 4}).quant == {"conv.weight_bits": 4}
    # a swept dotted key replaces the base's nested entry (the space wins over the base)
    replaced = recipe.config({"quant": {"conv": {"weight_bits": 4}}, "quant.conv.weight_bits": 8})
    assert replaced.quant == {"conv.weight_bits": 8}
    assert flatten({"a": {"b": 1}, "c": 2}) == {"a.b": 1, "c": 2}
    from hotlap.config import parse_overrides

    assert parse_overrides(["quant={}"]) == {"quant": {}}  # `hotlap show` prints it so
    with pytest.raises(ConfigError, match=r"set one entry: quant.KEY=VALUE"):
        parse_overrides(["quant={conv.weight_bits: 4}"])
    for overrides, message in [
        ({"quant.conv.weight_bits": 40}, "40 bits is not a width from 2 to 32"),
        ({"quant.conv.bits": 4}, "unknown attribute 'bits'"),
        ({"quant.conv.format": "float"}, "'float' is not a format"),
        ({"quant.conv.weight_bits": 4.5}, "not a whole number of bits"),
        ({"quant.weight_bits": 4}, "write SELECTOR.ATTRIBUTE"),
        ({"quanta.conv.weight_bits": 4}, "unknown config key 'quanta.conv.weight_bits'"),
    ]:
        with pytest.raises(ConfigError) as caught:
            config = recipe.config(overrides)
            recipe.check_trainable(config, "digits")  # a selector naming no layer
        assert "\n" not in str(caught.value)
        if message is not None:
            assert message in str(caught.value)


def test_quant_is_evaluation_only_and_never_reuses_another_formats_logits():
    recipe = get_recipe("airbench94")
    plain, quantized = recipe.config({}), recipe.config({"quant.all.weight_bits": 4})
    assert recipe.training_key(plain.model_dump()) == recipe.training_key(quantized.model_dump())
    source = SourceRun(config=plain.model_dump(), metrics={"tta_accuracy": 0.9})
    assert reweighted(quantized, source, torch.zeros(3, dtype=torch.long)) is None


QUANTIZABLE = [r.name for r in list_recipes() if "quant" in r.eval_fields]


def test_every_recipe_with_a_network_to_evaluate_can_be_quantized():
    assert {"airbench94", "airbench95", "airbench96", "airbench94_muon", "resnet"} <= set(QUANTIZABLE)


@pytest.mark.parametrize("name", QUANTIZABLE)
def test_32_bits_reproduce_full_precision_exactly_and_fewer_bits_do_not(name, small):
    """On each quantizable recipe's trained network: `quant: {}` and every width at 32 give the
    same logits as the run's own evaluation; 2-bit weights change them; a run trained with a
    quant config keeps its full-precision weights and evaluates a quantized copy."""
    from hotlap.costs import static_costs

    recipe = get_recipe(name)  # on 456 of the digits: exactness needs no accuracy
    config = recipe.config({**recipe.smoke, "epochs": 1})
    result = recipe.train(config, small, 0)
    source = SourceRun(config=config.model_dump(), metrics=result.metrics, state=result.artifacts["model.pt"])

    def with_quant(quant):
        return recipe.config({**config.model_dump(), "quant": quant})

    def evaluated(quant):
        return recipe.evaluate(with_quant(quant), small, source, warmup=False)

    full = evaluated({})
    assert torch.equal(full.artifacts["logits.npy"], result.artifacts["logits.npy"])
    at_32 = evaluated({"all.weight_bits": 32, "all.act_bits": 32, "all.format": "int"})
    assert torch.equal(at_32.artifacts["logits.npy"], full.artifacts["logits.npy"])

    def measured(result):  # the accuracies (times are measured again)
        return {k: v for k, v in result.metrics.items() if not k.endswith("_time")}

    assert measured(at_32) == measured(full) and measured(full) == measured(result)
    two = {"all.weight_bits": 2, "all.format": "int_channel"}
    assert not torch.equal(evaluated(two).artifacts["logits.npy"], full.artifacts["logits.npy"])
    again = recipe.train(with_quant(two), small, 0)
    assert not torch.equal(again.artifacts["logits.npy"], full.artifacts["logits.npy"])
    assert again.artifacts["model.pt"].keys() == result.artifacts["model.pt"].keys()
    sizes = (small.num_classes, small.train_size, len(small.test_labels))
    bits = static_costs(recipe, with_quant(two), *sizes, wanted={"avg_bits"})["avg_bits"]
    assert 2 < bits < 3 and static_costs(recipe, config, *sizes, wanted={"avg_bits"})["avg_bits"] == 32


EXAMPLE = str(Path(__file__).parents[1] / "examples" / "quantize.yaml")
SMALL = [
    "dataset=digits",
    "device=cpu",
    "seeds=2",
    "base.width=0.125",
    "base.epochs=1",
    "base.batch_size=128",
    "base.tta_level=0",  # one view: each config's evaluation is what the study repeats
    "base.lr=30.0",
    "space.quant.conv.weight_bits=[4, 32]",
    "space.quant.linear.weight_bits=[8, 32]",
    "space.quant.all.act_bits=[32]",
    "constraints=[{metric: avg_bits, at_most: 40}]",
    "--no-warmup",
]


def test_the_quantization_study_runs_with_tpe_and_brute_force(cli, tmp_path):
    from hotlap.analysis.anytime import best_so_far
    from hotlap.report import load_report
    from hotlap.store import open_store

    code, _, err = cli("sweep", EXAMPLE, *SMALL, "strategy=brute", "name=qz-brute")
    assert code == 0, err
    code, _, err = cli("sweep", EXAMPLE, *SMALL, "strategy.trials=3", "name=qz-tpe")
    assert code == 0, err
    space = {(conv, linear, 32) for conv in (4, 32) for linear in (8, 32)}
    with open_store(None, create=False) as store:
        for name in ("qz-brute", "qz-tpe"):
            sweep = store.require(name)
            configs = store.configs(sweep.id)
            proposed = {
                tuple(
                    c.params[k]
                    for k in ("quant.conv.weight_bits", "quant.linear.weight_bits", "quant.all.act_bits")
                )
                for c in configs
                if not c.is_baseline
            }
            if name == "qz-brute":
                assert proposed == space and len(configs) == len(space) + 1  # exactly the space
            else:
                assert proposed <= space and 1 <= len(proposed) <= 3
            runs = store.runs(sweep.id, status="done")
            assert len(runs) == 2 * len(configs)
            # each seed's network trained once; every other config was evaluated on it
            trained = [r for r in runs if (r.details or {}).get("source_run") is None]
            assert sorted(r.seed for r in trained) == [0, 1]
            by_config = {}
            for run in runs:
                by_config.setdefault(run.config_id, {})[run.seed] = run.values
            loaded = load_report(store, name)
            full = [c for c in configs if c.is_baseline]
            if name == "qz-brute":  # all 32 bits: the baseline's accuracies, seed by seed
                at_32 = next(
                    c
                    for c in configs
                    if c.params.get("quant.conv.weight_bits") == 32
                    and c.params.get("quant.linear.weight_bits") == 32
                )
                for seed in (0, 1):
                    assert (
                        by_config[at_32.config_id][seed]["tta_accuracy"]
                        == (by_config[full[0].config_id][seed]["tta_accuracy"])
                    )
                    assert by_config[at_32.config_id][seed]["avg_bits"] == 32
            curve = best_so_far(loaded.analysis, [c.config_id for c in configs], name)
            assert [p.runs for p in curve.points] == [2 * (i + 1) for i in range(len(configs))]
            bests = [p.best for p in curve.points]
            assert bests == sorted(bests)  # never worse as the search goes on
            means = {r.config_id: r.metrics["tta_accuracy"].mean for r in loaded.analysis.configs}
            assert curve.final.best == max(means.values())
    plot = tmp_path / "curve.png"
    code, out, err = cli("best-so-far", "qz-tpe", "qz-brute", "--plot", str(plot))
    assert code == 0, err
    assert "qz-brute" in out and "brute" in out and "tpe" in out and "reaches the best" in out
    assert plot.stat().st_size > 1000
    # Without --plot, a comparison of two sweeps goes beside them, into neither's folder.
    code, out, err = cli("best-so-far", "qz-tpe", "qz-brute")
    assert code == 0, err
    written = Path(" ".join(out.split()).split("plot written to ")[1].strip())
    assert written.is_file() and written.parent.name == "comparisons"
    assert written.name == "best_so_far-qz-tpe+qz-brute.png"
    assert not list(written.parent.parent.glob("sweeps/*/report/best_so_far.png"))
    code, _, err = cli("best-so-far", "qz-tpe", "--plot", str(tmp_path / "curve.txt"))
    assert code == 2 and "--plot" in err and "\n" not in err.strip()
    _reports_show_the_bits("qz-brute", cli, tmp_path)


def _reports_show_the_bits(name: str, cli, tmp_path) -> None:
    """The study's quantity in every format: each config's avg_bits and memory_density (32 / avg
    bits) in the table (at 80 and 120 columns, keys and numbers whole), CSV, JSON, Markdown and
    HTML, and the accuracy plotted against the bits, in a file named for them."""
    import json

    from rich.console import Console

    from hotlap.report import load_report, render_table
    from hotlap.store import open_store

    with open_store(None, create=False) as store:
        loaded = load_report(store, name)
    expected = {
        r.config_id: (r.metrics["avg_bits"].mean, r.metrics["memory_density"].mean)
        for r in loaded.analysis.configs
    }
    assert all(density == pytest.approx(32 / bits) for bits, density in expected.values())
    code, out, _ = cli("report", name, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {
        r["config_id"]: (float(r["mean_avg_bits"]), float(r["mean_memory_density"])) for r in rows
    } == expected
    code, out, _ = cli("report", name, "--format", "json")
    document = json.loads(out)
    assert {
        r["config_id"]: (r["mean_avg_bits"], r["mean_memory_density"]) for r in document["configs"]
    } == expected
    for form in ("md", "html"):
        code, out, _ = cli("report", name, "--format", form)
        assert code == 0 and "avg_bits" in out and "memory_density" in out
        for bits, _density in expected.values():
            assert loaded.analysis.spec.metric("avg_bits").format(bits, unit=False) in out
    for width in (80, 120):
        console = Console(width=width, record=True, color_system=None)
        console.print(render_table(loaded.analysis, loaded.sweep, width=width))
        text = console.export_text()
        assert "avg_bits" in text
        for config in loaded.analysis.configs:
            for key, value in config.params.items():
                assert f"{key.split('.', 1)[1]}={value}" in text, (width, key)  # whole, prefix quant. dropped
    code, out, err = cli("report", name, "--out", str(tmp_path / "qz-report"))
    assert code == 0, err
    plot = tmp_path / "qz-report" / "accuracy_vs_avg_bits.png"
    assert plot.stat().st_size > 1000 and not (tmp_path / "qz-report" / "accuracy_vs_time.png").exists()


def test_configs_breaking_a_per_config_bound_never_run(cli):
    """avg_bits is known before a run: a config above the bound is excluded, recorded as such,
    never run (also when the same command runs again), and the report says so."""
    from hotlap.store import open_store

    small = [o for o in SMALL if not o.startswith(("constraints", "space."))]
    args = [
        "sweep",
        EXAMPLE,
        *small,
        "strategy=brute",
        "name=qz-bound",
        "space.quant.conv.weight_bits=[4, 16]",
        "space.quant.linear.weight_bits=[8]",
        "space.quant.all.act_bits=[32]",
    ]
    code, out, err = cli(*args)
    assert code == 0, err
    with open_store(None, create=False) as store:
        sweep = store.require("qz-bound")
        by_bits = {c.params.get("quant.conv.weight_bits"): c.config_id for c in store.configs(sweep.id)}
        excluded = store.excluded(sweep.id)
        assert list(excluded) == [by_bits[16]] and "avg_bits 16" in excluded[by_bits[16]]
        assert "at most 6.5" in excluded[by_bits[16]]
        runs = store.runs(sweep.id)
        assert {r.config_id for r in runs} == {by_bits[4], by_bits[None]}  # and the baseline
    assert "excluded" in out + err
    code, _, err = cli(*args)
    assert code == 0, err
    with open_store(None, create=False) as store:
        assert len(store.runs(sweep.id)) == len(runs)
    code, out, _ = cli("report", "qz-bound")
    assert "Excluded before running, 1 config(s)" in out and by_bits[16] in out
