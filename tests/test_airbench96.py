"""airbench96 is airbench94's loop with the reference's residual network, schedule and augmentation."""

from __future__ import annotations

import pytest
import torch

from hotlap.recipes import SourceRun, count_parameters, get_recipe
from hotlap.recipes.airbench94 import lr_multiplier, total_steps
from hotlap.recipes.airbench96 import ResidualConvGroup, make_net

RECIPE = get_recipe("airbench96")


def config(**overrides):
    return RECIPE.config(overrides)


def reference_parameter_count(widths=(128, 384, 512), classes=10):
    """Counted by hand from the reference's layers: a 2x2 whitening conv (12 filters and their
    negatives, with bias), per group one 3x3 conv in, two 3x3 convs across, three BatchNorms (weight
    and bias), and a linear head without bias."""
    total = 24 * 3 * 2 * 2 + 24
    c_in = 24
    for c in widths:
        total += c_in * c * 9 + 2 * c * c * 9 + 3 * 2 * c
        c_in = c
    return total + widths[-1] * classes


def test_network_is_the_references_ten_convs():
    net = make_net(config())
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 10
    assert count_parameters(net) == reference_parameter_count()
    assert count_parameters(make_net(config(width=0.125))) == reference_parameter_count((16, 48, 64))


def test_the_residual_is_added_before_the_last_activation():
    """With conv2 and conv3 zeroed, the group's output is GELU(x0 + BN bias) where x0 is the first
    stage's activation: the residual carries x0 through. Adding after the activation would give
    x0 + GELU(bias) instead."""
    group = ResidualConvGroup(4, 8, batchnorm_momentum=0.9).eval()
    for conv in (group.conv2, group.conv3):
        conv.weight.data.zero_()
    x = torch.randn(2, 4, 8, 8)
    x0 = group.activ(group.norm1(group.pool(group.conv1(x))))
    with torch.no_grad():
        out = group(x)
        expected = group.activ(x0 + group.norm3(torch.zeros_like(x0)))
    assert torch.allclose(out, expected, atol=1e-6)
    assert not torch.allclose(out, x0 + group.activ(group.norm3(torch.zeros_like(x0))), atol=1e-3)


def test_schedule_warms_up_a_tenth_of_the_steps_then_decays_to_zero():
    cfg = config()
    steps = total_steps(cfg, 50_000)
    assert steps == 1776
    assert lr_multiplier(0, steps, cfg) == pytest.approx(0.2)
    assert lr_multiplier(177, steps, cfg) == pytest.approx(1.0)
    assert lr_multiplier(steps, steps, cfg) == pytest.approx(0.0)


def test_batchnorm_keeps_torchs_default_momentum():
    norms = [m for m in make_net(config()).modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 9 and all(m.momentum == pytest.approx(0.1) for m in norms)


def test_a_trained_network_is_evaluated_again_as_the_same_network(small):
    """An evaluation-only config (another TTA level) rebuilds airbench96's network, not
    airbench94's, to load the trained weights (the load is strict)."""
    tiny = config(width=0.125, epochs=1, batch_size=256)
    trained = RECIPE.train(tiny, small, seed=0)
    assert any(".conv3." in key for key in trained.artifacts["model.pt"])
    source = SourceRun(config=tiny.model_dump(), metrics=trained.metrics, state=trained.artifacts["model.pt"])
    again = RECIPE.evaluate(config(width=0.125, epochs=1, batch_size=256), small, source)
    assert again["tta_accuracy"] == pytest.approx(trained["tta_accuracy"], abs=1e-6)
    mirror = RECIPE.evaluate(config(width=0.125, epochs=1, batch_size=256, tta_level=0), small, source)
    assert mirror["tta_accuracy"] == pytest.approx(trained["accuracy"], abs=1e-6)
