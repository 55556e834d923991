"""Cost metrics measured by the worker after each run: latency, throughput, memory, energy; a
measure the device lacks is missing, never 0."""

from __future__ import annotations

import pytest
import torch

import hotlap
from hotlap.costs import COST_NAMES, EnergyMeter, measure_inference
from hotlap.recipes.base import Inference
from hotlap.spec import SpecError, parse_spec

SPEC = {
    "name": "costs",
    "recipe": "airbench94",
    "dataset": "digits",
    "device": "cpu",
    "base": {"width": 0.125, "epochs": 1, "batch_size": 256, "eval_batch_size": 64},
    "space": {"lr": [20.0, 30.0]},
    "seeds": 2,
    "objective": {"maximize": "tta_accuracy", "minimize": "latency_batch1"},
    "costs": ["throughput", "peak_host_memory", "energy"],
}


def test_energy_is_the_counters_difference_and_missing_without_one():
    readings = iter([1_000, 6_000])  # millijoules, as the driver counts
    meter = EnergyMeter(lambda: next(readings))
    with meter:
        pass
    meter.wall = 2.0  # seconds of the region
    assert meter.metrics() == {"energy": 5.0, "mean_power": 2.5}
    with EnergyMeter(lambda: None) as none:
        pass
    assert none.metrics() == {}  # no counter (a CPU): nothing, not 0
    backwards = iter([6_000, 1_000])  # a counter that went back (reset): no figure
    with EnergyMeter(lambda: next(backwards)) as reset:
        pass
    assert reset.metrics() == {}
    assert EnergyMeter.for_device(torch.device("cpu")).counter() is None
    if not torch.cuda.is_available():  # nvidia-ml-py is installed (hotlap[gpu]) but finds no driver
        import pynvml  # noqa: F401

        assert EnergyMeter.for_device(torch.device("cuda")).counter() is None


def test_latency_and_throughput_of_a_network():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 10)).eval()
    inference = Inference(net, torch.zeros(1, 3, 8, 8), batch_size=32)
    measured = measure_inference(inference, ["latency_batch1", "latency_batch", "throughput"])
    assert measured["latency_batch1"] > 0 and measured["latency_batch"] > 0
    assert measured["throughput"] == pytest.approx(32 / measured["latency_batch"])
    assert set(measure_inference(inference, ["latency_batch1"])) == {"latency_batch1"}
    assert measure_inference(inference, ["energy"]) == {}


def test_a_sweep_measures_the_costs_it_names_and_leaves_out_what_the_cpu_lacks(tmp_path, cli):
    spec = parse_spec(SPEC)
    assert spec.costs == [
        "latency_batch1",
        "throughput",
        "peak_host_memory",
        "energy",
    ]  # the objective's too
    assert {"latency_batch1", "throughput", "energy"} <= set(spec.metric_names)
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor
    from hotlap.store import Store

    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        runs = store.runs(record.id)
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    for run in runs:
        assert run.values["latency_batch1"] > 0 and run.values["throughput"] > 0
        assert run.values["peak_host_memory"] > 50e6  # a Python process with torch
        assert "energy" not in run.values and "mean_power" not in run.values  # missing on a CPU
    with hotlap.open(tmp_path) as store:
        frame = store.to_pandas("costs")
    assert frame["energy"].isna().all() and (frame["latency_batch1"] > 0).all()
    code, out, err = cli("report", "costs", "--workdir", str(tmp_path))
    assert code == 0 and "latency_batch1" in out, err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"costs": ["latency"]}, "costs: unknown cost metric 'latency'"),
        (
            {
                "recipe": "script",
                "costs": ["energy"],
                "base": {},
                "script": {"command": ["x"], "metrics": {"a": "max"}},
                "space": {},
                "objective": None,
            },
            "measures its own costs",
        ),
    ],
)
def test_bad_costs_are_one_line(change, message):
    raw = {**SPEC, **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_cost_metric_is_registered_with_a_unit():
    from hotlap.metrics import get_metric

    for name in COST_NAMES:
        metric = get_metric(name)
        assert (metric.unit or metric.kind == "count") and metric.description


def test_a_plugin_may_declare_a_cost_again_with_the_same_meaning_only():
    from hotlap.metrics import Metric, get_metric, register_metric

    again = register_metric(Metric("energy", "J", "minimize", "cost", description="energy per run"))
    assert again is get_metric("energy")  # the first description stays
    with pytest.raises(ValueError, match="another definition"):
        register_metric(Metric("energy", "kWh", "minimize", "cost"))


def test_flops_of_a_conv_and_a_linear_layer_are_the_formulas():
    from hotlap.recipes.measure import forward_flops

    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=False),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 32 * 32, 10, bias=False),
    )
    conv = 2 * (8 * 3 * 3 * 3) * (32 * 32)  # 2 FLOPs per multiply-add, per output position
    linear = 2 * (8 * 32 * 32) * 10
    assert forward_flops(net) == conv + linear == 606_208


def test_static_costs_of_airbench94_are_the_hand_counts():
    from hotlap.costs import static_costs
    from hotlap.recipes import count_parameters, forward_flops, get_recipe
    from hotlap.recipes.airbench94 import make_net

    recipe = get_recipe("airbench94")
    config = recipe.config()
    costs = static_costs(recipe, config, 10, 50_000, 10_000)
    forward = forward_flops(make_net(config, 10))
    assert costs["parameters"] == count_parameters(make_net(config, 10)) == 1_972_792
    assert costs["forward_flops"] == forward
    assert costs["run_flops"] == forward * (3 * 476 * 1024 + 6 * 10_000)  # 476 steps of 1,024; 6 TTA views
    assert static_costs(get_recipe("script"), None, 10, 1, 1) == {}


def test_a_sweep_records_the_static_costs_and_the_stored_weights_size(tmp_path):
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor
    from hotlap.recipes.airbench94 import make_net
    from hotlap.store import Store

    raw = {
        **SPEC,
        "name": "static",
        "costs": ["parameters", "run_flops", "model_bytes"],
        "keep_weights": False,
        "objective": {"maximize": "tta_accuracy", "minimize": "run_flops"},
        "space": {"width": [0.125, 0.25]},
    }
    spec = parse_spec(raw)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        runs = store.runs(record.id)
        configs = {c.config_id: c for c in store.configs(record.id)}
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    for run in runs:
        config = get_config(configs[run.config_id])
        net = make_net(config, 10)
        assert run.values["parameters"] == sum(p.numel() for p in net.parameters())
        # fp32 weights on the CPU, and each BatchNorm's int64 step counter
        assert run.values["model_bytes"] == sum(
            t.numel() * t.element_size() for t in net.state_dict().values()
        )
        assert run.values["model_bytes"] == 4 * sum(p.numel() for p in net.parameters()) + sum(
            4 * b.numel() if b.dtype.is_floating_point else 8 for b in net.buffers()
        )
    small, large = sorted({r.values["run_flops"] for r in runs})
    assert small < large  # the wider network costs more, the same for both of its seeds
    assert not list(tmp_path.rglob("model.pt"))  # measured, not kept


def get_config(record):
    from hotlap.recipes import get_recipe

    return get_recipe("airbench94").config_cls.model_validate(record.config)


def test_a_target_on_a_per_config_cost_is_refused():
    raw = {
        **SPEC,
        "objective": {"target": {"metric": "run_flops", "at_most": 1e12}, "minimize": "train_time"},
    }
    with pytest.raises(SpecError, match="same for every seed of a config"):
        parse_spec(raw)


def test_a_plugin_probe_is_found_by_the_cost_it_names_and_runs_around_the_run(tmp_path):
    """tests/plugins/toy_recipe.py registers `toy_probe` (metric `toy_hooks`): a spec naming the
    metric gets it measured, after both hooks around the run, in every run's metrics."""
    from hotlap.testing.toy import tiny_spec, tiny_sweep

    result = tiny_sweep(tmp_path, tiny_spec("probed", costs=["toy_hooks"]))
    with hotlap.open(tmp_path) as store:
        runs = store.runs(store.require("probed").id)
    assert result.state == "done" and len(runs) == 4
    assert {run.values["toy_hooks"] for run in runs} == {2.0}
    with pytest.raises(SpecError, match="toy_hook"):
        parse_spec({**SPEC, "costs": ["toy_hook"]})  # a typo is named, with the closest


def test_no_metric_takes_the_name_of_a_runs_own_field():
    from hotlap.metrics import Metric, register_metric

    with pytest.raises(ValueError, match="a run's own field"):
        register_metric(Metric("status", "", "maximize", "score"))
