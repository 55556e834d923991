"""airbench94 matches the reference's published facts, and trains for real on digits."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from hotlap.errors import RunFailed
from hotlap.recipes import count_parameters, get_recipe
from hotlap.recipes.airbench94 import (
    ema_decay_at,
    label_smoothing_at,
    lr_multiplier,
    make_net,
    make_optimizer,
    total_steps,
)
from hotlap.recipes.tta import (
    VIEW_NAMES,
    combine_views,
    predict_views,
    tta_view_weights,
    view_logits,
)
from hotlap.recipes.whitening import image_patches, whitening_filters

RECIPE = get_recipe("airbench94")


def config(**overrides):
    return RECIPE.config(overrides)


def test_default_run_makes_476_steps_on_cifar10():
    assert total_steps(config(), 50_000) == 476
    assert total_steps(config(batch_size=512), 50_000) == math.ceil(97 * 9.9)


def test_lr_schedule_is_the_reference_piecewise_linear_one():
    cfg = config()
    values = [lr_multiplier(step, 476, cfg) for step in range(477)]
    assert values[0] == pytest.approx(0.2)
    assert values[109] == pytest.approx(1.0)
    assert values[476] == pytest.approx(0.07)
    assert values[54] == pytest.approx(0.2 + 0.8 * 54 / 109)
    assert all(a < b for a, b in itertools.pairwise(values[:110]))
    assert all(a > b for a, b in itertools.pairwise(values[109:]))


def test_network_holds_1972792_parameter_values():
    assert count_parameters(make_net(config())) == 1_972_792
    assert count_parameters(make_net(config(width=0.5))) < 1_972_792 / 3


def test_frozen_and_trained_tensors_are_the_reference_ones():
    net = make_net(config())
    assert not net[0].weight.requires_grad and net[0].bias.requires_grad
    for name, param in net.named_parameters():
        if "norm" in name and name.endswith("weight"):
            assert not param.requires_grad and torch.all(param == 1)
    conv = net[2].conv1.weight  # Dirac init on the first C_in filters
    assert torch.equal(conv[:24, :, 1, 1], torch.eye(24))


def test_optimizer_uses_the_decoupled_conversion():
    cfg = config()
    optimizer = make_optimizer(make_net(cfg), cfg)
    scale = 1024 * (1 + 1 / (1 - 0.85))
    lr, wd_total = 11.5 / scale, 0.0153 * 1024 / scale
    norm_group, other_group = optimizer.param_groups
    assert norm_group["lr"] == pytest.approx(lr * 64)
    assert other_group["lr"] == pytest.approx(lr)
    for group in optimizer.param_groups:
        assert group["lr"] * group["weight_decay"] == pytest.approx(wd_total)  # decay independent of lr
        assert group["nesterov"] and group["momentum"] == 0.85
    assert len(norm_group["params"]) == 6  # the six BatchNorm biases


def test_whitening_unfreeze_gets_its_own_group_with_the_same_decay_convention():
    cfg = config(whiten_unfreeze_epoch=7, whiten_lr_scaler=0.1)
    net = make_net(cfg)
    optimizer = make_optimizer(net, cfg)
    assert len(optimizer.param_groups) == 3
    whiten_group = optimizer.param_groups[2]
    assert whiten_group["params"] == [net[0].weight]
    assert whiten_group["lr"] == pytest.approx(optimizer.param_groups[1]["lr"] * 0.1)
    assert whiten_group["lr"] * whiten_group["weight_decay"] == pytest.approx(
        optimizer.param_groups[1]["lr"] * optimizer.param_groups[1]["weight_decay"]
    )


def test_label_smoothing_anneals_linearly_only_when_asked():
    assert label_smoothing_at(300, 476, config()) == 0.2
    cfg = config(label_smoothing_final=0.0)
    assert label_smoothing_at(0, 400, cfg) == pytest.approx(0.2)
    assert label_smoothing_at(200, 400, cfg) == pytest.approx(0.1)


def test_ema_decay_ramps_in_cubically():
    cfg = config()
    assert ema_decay_at(0, 476, cfg) == 0
    assert ema_decay_at(476, 476, cfg) == pytest.approx(0.95**5)
    assert ema_decay_at(238, 476, cfg) == pytest.approx(0.95**5 / 8)


def test_whitened_patch_covariance_is_identity(small_data):
    images = small_data.normalize(small_data.train_images)
    filters = whitening_filters(images, 2, eps=0.0).double()
    patches = image_patches(images, 2).double().flatten(1)
    whitened = patches @ filters.flatten(1).T
    covariance = whitened.T @ whitened / len(patches)
    torch.testing.assert_close(covariance, torch.eye(12, dtype=torch.float64), atol=2e-3, rtol=0)


def test_airbench94_muons_whitening_is_the_same_filters_in_eighs_ascending_order(small_data):
    images = small_data.normalize(small_data.train_images, torch.float32, False)
    largest_first = whitening_filters(images, 2, eps=5e-4)
    ascending = whitening_filters(images, 2, eps=5e-4, largest_first=False)
    assert torch.equal(largest_first.flip(0), ascending)
    norms = ascending.flatten(1).norm(dim=1)  # 1/sqrt(eigenvalue): the weakest direction first
    assert norms[0] > norms[-1]


def test_whitening_eps_shrinks_only_the_weak_directions(small_data):
    images = small_data.normalize(small_data.train_images)
    patches = image_patches(images, 2).double().flatten(1)
    eigenvalues = torch.linalg.eigvalsh(patches.T @ patches / len(patches)).flip(0)
    filters = whitening_filters(images, 2, eps=0.5).double().flatten(1)
    whitened = patches @ filters.T
    variance = (whitened**2).mean(0)
    torch.testing.assert_close(variance, eigenvalues / (eigenvalues + 0.5), atol=2e-3, rtol=1e-3)


@pytest.mark.parametrize("weight", [0.3, 0.5, 0.65, 1.0])
def test_tta_level_2_is_the_weighted_mean_of_its_six_views(small_data, weight):
    net = make_net(config(width=0.25)).eval()
    images = small_data.normalize(small_data.test_images)
    logits = predict_views(net, images, level=2, batch_size=7)
    assert logits.shape == (len(VIEW_NAMES[2]), 16, 10)
    combined = combine_views(logits, tta_view_weights(2, weight))
    with torch.no_grad():
        padded = torch.nn.functional.pad(images, (1, 1, 1, 1), mode="reflect")
        up_left, down_right = padded[:, :, 0:32, 0:32], padded[:, :, 2:34, 2:34]
        expected = weight * 0.5 * (net(images) + net(images.flip(-1))) + (1 - weight) * 0.25 * (
            net(up_left) + net(up_left.flip(-1)) + net(down_right) + net(down_right.flip(-1))
        )
    torch.testing.assert_close(combined, expected, atol=1e-5, rtol=1e-4)
    assert tta_view_weights(2).tolist() == [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    with torch.no_grad():
        assert len(view_logits(net, images, 1)) == 2


def test_a_run_keeps_every_tta_view(digits_data):
    tiny = config(width=0.125, epochs=2, batch_size=256)
    result = RECIPE.train(tiny, digits_data, seed=0, keep_weights=False)
    assert len(result.history) == 2 and result.history[-1]["steps"] == total_steps(tiny, 1437) == 10
    assert (
        result.artifacts["logits.npy"].shape == (6, 360, 10)
        and result.artifacts["logits.npy"].dtype == torch.float16
    )
    combined = combine_views(result.artifacts["logits.npy"].float(), tta_view_weights(2))
    labels = digits_data.test_labels
    assert (combined.argmax(1) == labels).float().mean().item() == pytest.approx(
        result["tta_accuracy"], abs=0.01
    )
    assert "model.pt" not in result.artifacts


def test_a_run_is_reproducible_from_config_and_seed_on_cpu(small):
    cfg = config(width=0.125, epochs=1, batch_size=128)
    first = RECIPE.train(cfg, small, seed=3)
    again = RECIPE.train(cfg, small, seed=3)
    other = RECIPE.train(cfg, small, seed=4)
    assert first["tta_accuracy"] == again["tta_accuracy"]
    for key, value in first.artifacts["model.pt"].items():
        assert torch.equal(value, again.artifacts["model.pt"][key]), key
    assert any(
        not torch.equal(v, other.artifacts["model.pt"][k]) for k, v in first.artifacts["model.pt"].items()
    )


def test_whitening_weights_move_only_when_unfrozen(small):
    base = dict(width=0.125, epochs=2, batch_size=64)  # 4 steps an epoch on the small set
    frozen = RECIPE.train(config(**base), small, seed=0)
    unfrozen = RECIPE.train(config(**base, whiten_unfreeze_epoch=1), small, seed=0)
    net = make_net(config(**base))
    from hotlap.recipes.whitening import init_whitening

    init_whitening(net[0], small.normalize(small.train_images[:5000]), 5e-4)
    torch.testing.assert_close(frozen.artifacts["model.pt"]["0.weight"], net[0].weight.data)
    assert not torch.allclose(unfrozen.artifacts["model.pt"]["0.weight"], net[0].weight.data)


def test_a_diverging_run_fails_with_a_clear_error(digits_data):
    with pytest.raises(RunFailed, match="non-finite training loss"):
        RECIPE.train(config(width=0.125, epochs=1, batch_size=256, lr=1e30), digits_data, seed=0)


@pytest.mark.parametrize(
    "variant",
    [
        {"translate_schedule": "cyclic"},
        {"label_smoothing_final": 0.0},
        {"flip": "random", "cutout": 8},
        {"tta_level": 0},
        {"tta_level": 1},
    ],
)
def test_variants_train(small, variant):
    result = RECIPE.train(config(width=0.125, epochs=1, batch_size=256, **variant), small, seed=0)
    assert 0.0 <= result["tta_accuracy"] <= 1.0
    assert result.artifacts["logits.npy"].shape[0] == len(VIEW_NAMES[config(**variant).tta_level])


FAMILY = ["airbench94", "airbench95", "airbench96", "airbench96_faster", "airbench94_muon"]


@pytest.mark.parametrize("name", FAMILY)
def test_the_warmup_run_is_one_epoch_of_the_shape_it_warms(name):
    """A worker's untimed warmup trains one epoch of the config's own shape (cuDNN autotunes on the
    first batches and the final evaluation's views): a whole run only spent its time again."""
    recipe = get_recipe(name)
    config = recipe.config({**recipe.smoke, "compile": False})
    warm = recipe.warmup_config(config)
    assert warm.epochs == 1 and config.epochs > 1
    assert recipe.shape_of(warm) == recipe.shape_of(config)
    short = recipe.config({**recipe.smoke, "compile": False, "epochs": 0.5})
    assert recipe.warmup_config(short).epochs == 0.5  # never longer than the run


@pytest.mark.parametrize("name", FAMILY)
def test_a_compiled_configs_warmup_trains_through_the_whitening_bias_freeze(name):
    """Compiled, the warmup trains into the epoch where the whitening bias freezes, so that CUDA's
    graphs compile and record for both states before a timed run (on CUDA nothing compiles
    before the first training steps: hotlap.recipes.compiling). Never longer than the run."""
    recipe = get_recipe(name)

    def warm(**fields):
        return recipe.warmup_config(recipe.config({**recipe.smoke, "compile": True, **fields})).epochs

    assert warm(epochs=6, whiten_bias_epochs=2) == 3  # frozen from the third epoch: 3 epochs
    assert warm(epochs=6, whiten_bias_epochs=7) == 1  # trains all run: no change to warm
    assert warm(epochs=2, whiten_bias_epochs=1.5 if name == "airbench94_muon" else 1) == 2
    if name != "airbench94_muon":
        assert warm(epochs=6, whiten_bias_epochs=1, whiten_unfreeze_epoch=4) == 5


def test_a_worker_warms_up_airbench94_with_one_epoch(small):
    from hotlap.executors.inprocess import Worker

    recipe = get_recipe("airbench94")
    config = recipe.config(recipe.smoke)
    warmed = Worker(small).warmup(recipe, config)
    assert warmed is not None and len(warmed.history) == 1


def test_the_logging_evaluation_is_left_out_between_its_epochs_and_changes_nothing(small):
    """`log_every`: the untimed per-epoch test evaluation after every Nth epoch and the last (0: the
    last only); the training and the final evaluation are the same bit for bit."""
    recipe = get_recipe("airbench94")
    config = recipe.config({**recipe.smoke, "epochs": 3})
    every = recipe.train(config, small, seed=1, keep_weights=False)
    last = recipe.train(config, small, seed=1, keep_weights=False, log_every=0)
    assert [r["val_acc"] is None for r in last.history] == [True, True, False]
    assert all(r["val_acc"] is not None for r in every.history)
    assert last.history[-1]["val_acc"] == every.history[-1]["val_acc"]
    assert [r["train_loss"] for r in last.history] == [r["train_loss"] for r in every.history]
    assert last.metrics["tta_accuracy"] == every.metrics["tta_accuracy"]
    assert recipe.accepts("log_every") and get_recipe("airbench96").accepts("log_every")


def test_the_training_loss_sums_each_images_loss_and_stays_finite_in_fp16():
    """The references' loss: per image, then summed. A `reduction="sum"` adds the label-smoothing
    term over every logit in fp16 and overflows to inf at a batch of 2,000 images of loss ~1.5
    each (airbench94_muon failed so on an H200); per image, it is fp32's sum to fp16's precision."""
    from hotlap.recipes.layers import summed_cross_entropy

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2000, 10, generator=generator) * 3
    labels = torch.randint(0, 10, (2000,), generator=generator)
    exact = summed_cross_entropy(logits, labels, 0.2)
    half = summed_cross_entropy(logits.half(), labels, 0.2)
    assert torch.isfinite(half)
    assert abs(half.float().item() - exact.item()) <= 1e-3 * exact.item()
