"""The resnet recipe: torchvision models and stems, schedules, augmentation with soft targets, the
validation split, early stopping, progressive fine-tuning from a local file, AMP per device."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from hotlap.errors import ConfigError
from hotlap.recipes import count_parameters, get_recipe
from hotlap.recipes.augment import color_jitter, mix, random_erasing, random_resized_crop
from hotlap.recipes.resnet_setup import (
    build,
    make_net,
    make_optimizer,
    resolve_amp,
    split_validation,
    total_steps,
)
from hotlap.recipes.schedules import LrSchedule

RECIPE = get_recipe("resnet")
# 8x8 (the digits' own resolution) keeps a ResNet-18 epoch on the digits to about a second.
TINY = {"image_size": 8, "epochs": 2, "batch_size": 64, "val_size": 200, "milestones": [100]}


def config(**overrides):
    return RECIPE.config(overrides)


def test_the_cifar_stem_resnet18_for_100_classes_has_11220132_parameters(cli):
    assert count_parameters(make_net(config(), 100)) == 11_220_132
    code, out, _ = cli("show", "resnet", "--data", "cifar100", "model=resnet18")
    assert code == 0 and "11,220,132" in out
    assert count_parameters(make_net(config(stem="imagenet"), 1000)) == 11_689_512  # torchvision's


def test_the_defaults_are_the_course_studys_and_torchs(cli):
    """The course study trains on all 50,000 images, without warmup, with torch's StepLR and
    MultiStepLR (gamma 0.1): `hotlap show` says so (390 full batches an epoch, not 45,000's 351)."""
    import inspect

    default = config()
    torch_gamma = inspect.signature(torch.optim.lr_scheduler.StepLR).parameters["gamma"].default
    assert (default.val_size, default.warmup_epochs, default.gamma) == (0, 0, torch_gamma)
    assert inspect.signature(torch.optim.lr_scheduler.MultiStepLR).parameters["gamma"].default == torch_gamma
    code, out, _ = cli("show", "resnet", "--data", "cifar100")
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") >= 3
    }
    assert code == 0 and (rows["val_size"], rows["warmup_epochs"], rows["gamma"]) == ("0", "0", "0.1")
    assert rows["steps per epoch"] == "390" and rows["optimizer steps"] == "78,000"


def test_every_model_builds_with_both_stems():
    for model in ("resnet18", "resnet34", "resnet50", "wide_resnet50_2"):
        cifar = make_net(config(model=model), 10)
        assert cifar.conv1.kernel_size == (3, 3) and isinstance(cifar.maxpool, torch.nn.Identity)
        assert make_net(config(model=model, stem="imagenet"), 10).conv1.kernel_size == (7, 7)


def _lrs(scheduler, epochs=10, steps=2, val=None, **kw):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedule = LrSchedule(optimizer, scheduler, epochs=epochs, steps_per_epoch=steps, **kw)
    out = []
    for epoch in range(epochs):
        schedule.epoch_start(epoch)
        out.append(schedule.lr)
        for _ in range(steps):
            optimizer.step()
            schedule.batch_end()
        schedule.epoch_end(None if val is None else val[epoch])
    return out


def test_each_schedule_follows_its_definition():
    assert _lrs("none") == [1.0] * 10
    assert _lrs("step", step_size=3, gamma=0.5) == pytest.approx(
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    )
    assert _lrs("multistep", milestones=[2, 5], gamma=0.2) == pytest.approx(
        [1, 1, 0.2, 0.2, 0.2, 0.04, 0.04, 0.04, 0.04, 0.04]
    )
    cosine = _lrs("cosine")
    assert cosine[0] == 1.0 and cosine == sorted(cosine, reverse=True)
    assert cosine[5] == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 10)))
    # plateau: the validation accuracy stops improving after epoch 2; patience 2 -> x0.1 after 3 bad epochs
    val = [0.5, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    plateau = _lrs("plateau", val=val, plateau_patience=2, plateau_factor=0.1)
    assert plateau[:6] == pytest.approx([1, 1, 1, 1, 1, 1]) and plateau[6] == pytest.approx(0.1)
    # on a loss (mode min): a loss that stops falling after epoch 2 cuts the lr the same way
    loss = [2.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    on_loss = _lrs("plateau", val=loss, plateau_patience=2, plateau_factor=0.1, plateau_mode="min")
    assert on_loss[:6] == pytest.approx([1] * 6) and on_loss[6] == pytest.approx(0.1)
    # the same losses read as if higher were better: the lr is cut two epochs sooner
    assert _lrs("plateau", val=loss, plateau_patience=2, plateau_mode="max")[4] == pytest.approx(0.1)
    onecycle = _lrs("onecycle", warmup_epochs=3)
    peak = onecycle.index(max(onecycle))
    assert onecycle[0] < 0.1 and peak == 3 and onecycle[-1] < onecycle[peak] / 10


def test_warmup_rises_linearly_per_step_then_the_schedule_holds():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.4)
    schedule = LrSchedule(
        optimizer,
        "multistep",
        epochs=4,
        steps_per_epoch=4,
        milestones=[3],
        gamma=0.1,
        warmup_epochs=1,
        warmup_start=0.25,
    )
    seen = []
    for epoch in range(4):
        schedule.epoch_start(epoch)
        for _ in range(4):
            seen.append(schedule.lr)
            schedule.batch_end()
    assert seen[:5] == pytest.approx([0.1, 0.175, 0.25, 0.325, 0.4])
    assert seen[4:12] == pytest.approx([0.4] * 8) and seen[12:] == pytest.approx([0.04] * 4)


def test_mixup_and_cutmix_give_soft_targets_the_loss_takes():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    for alphas in ((0.2, 0.0), (0.0, 1.0), (0.2, 0.2)):
        mixed, targets = mix(x, y, 10, mixup_alpha=alphas[0], cutmix_alpha=alphas[1])
        assert targets.shape == (16, 10) and torch.allclose(targets.sum(1), torch.ones(16))
        assert (targets > 0).sum(1).max() == 2 and not torch.equal(mixed, x)
        loss = F.cross_entropy(torch.randn(16, 10), targets, label_smoothing=0.1)
        assert math.isfinite(loss.item())
    same, labels = mix(x, y, 10, mixup_alpha=0.0, cutmix_alpha=0.0)
    assert same is x and labels is y


def test_per_image_augmentation_draws_per_image():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, 16, 16)
    erased = random_erasing(x, p=1.0, generator=generator)
    zeros = (erased == 0).all(1).flatten(1).sum(1)  # erased pixels per image
    assert (zeros > 0).all() and zeros.unique().numel() > 5 and (zeros <= 0.34 * 256).all()
    assert torch.equal(random_erasing(x, p=0.0, generator=generator), x)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    images = (torch.rand(32, 3, 16, 16) - 0.5) / 0.25
    assert torch.allclose(
        color_jitter(images, mean, std, brightness=0, contrast=0, saturation=0, generator=generator),
        images,
        atol=1e-6,
    )
    jittered = color_jitter(
        images, mean, std, brightness=0.4, contrast=0.4, saturation=0.4, generator=generator
    )
    ratios = (jittered * 0.25 + 0.5).mean((1, 2, 3)) / (images * 0.25 + 0.5).mean((1, 2, 3))
    assert ratios.std() > 0.01  # a factor per image, not one for the batch
    crops = random_resized_crop(x, 24, scale=(0.3, 1.0), generator=generator)
    assert crops.shape == (32, 3, 24, 24) and not torch.allclose(crops[0], crops[1])


def test_colour_jitter_is_torchvisions_on_the_same_draws():
    """Each image: torchvision's ColorJitter draws its order and factors (seeded); hotlap's batched
    ops, given the same order and factors, give the same pixels (torchvision's grayscale weights,
    clamps and per-call order), and its own draws cover every order."""
    from torchvision import transforms

    from hotlap.recipes.augment import jittered

    images = torch.rand(12, 3, 10, 10)
    jitter = transforms.ColorJitter(brightness=0.4, contrast=0.5, saturation=0.6)
    expected, orders, factors = [], [], []
    for i, image in enumerate(images):
        torch.manual_seed(i)
        fn_idx, b, c, s, _ = jitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation, None)
        torch.manual_seed(i)
        expected.append(jitter(image))
        orders.append([int(k) for k in fn_idx if k != 3])  # no hue
        factors.append([b, c, s])
    ours = jittered(images, torch.tensor(orders), torch.tensor(factors))
    assert len({tuple(o) for o in orders}) > 2  # the draws did permute the ops
    torch.testing.assert_close(ours, torch.stack(expected), atol=1e-6, rtol=0)
    generator = torch.Generator().manual_seed(0)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    many = (torch.rand(600, 3, 4, 4) - 0.5) / 0.25
    drawn = color_jitter(many, mean, std, brightness=0.4, contrast=0.4, saturation=0.4, generator=generator)
    assert drawn.shape == many.shape and not torch.allclose(drawn, many)


def test_random_erasing_is_torchvisions_on_the_same_draws(monkeypatch):
    """torchvision's RandomErasing tries up to 10 boxes and erases nothing where none fits (it
    never clamps a box to a full-height or full-width strip): its draws, recorded per image, give
    the same box in hotlap's batched version."""
    from torchvision import transforms

    from hotlap.recipes.augment import ERASING_TRIES, erasing_boxes

    height, width = 12, 10
    uniform, randint = torch.Tensor.uniform_, torch.randint
    drawn: list[float] = []

    def recorded_uniform(self, *args, **kwargs):
        out = uniform(self, *args, **kwargs)
        drawn.append(float(out))
        return out

    def recorded_randint(*args, **kwargs):
        out = randint(*args, **kwargs)
        drawn.append(int(out))
        return out

    monkeypatch.setattr(torch.Tensor, "uniform_", recorded_uniform)
    monkeypatch.setattr(torch, "randint", recorded_randint)
    scale, ratio = (0.5, 0.95), (0.3, 3.3)  # large boxes: many tries fail, some images erase none
    expected, areas, log_ratios, positions = [], [], [], []
    for i in range(60):
        torch.manual_seed(i)
        drawn.clear()
        top, left, h, w, _ = transforms.RandomErasing.get_params(
            torch.zeros(3, height, width), scale=scale, ratio=ratio, value=[0.0]
        )
        tries = (len(drawn) - 2) // 2 if isinstance(drawn[-1], int) else len(drawn) // 2
        area = drawn[0 : 2 * tries : 2] + [1.0] * (ERASING_TRIES - tries)  # unused tries never fit
        log_ratio = drawn[1 : 2 * tries : 2] + [0.0] * (ERASING_TRIES - tries)
        erased = h < height  # torchvision returns the whole image where no try fit
        expected.append((top, left, h, w) if erased else (0, 0, 0, 0))
        position = [(top + 0.5) / (height - h + 1), (left + 0.5) / (width - w + 1)] if erased else [0.0, 0.0]
        areas.append(area), log_ratios.append(log_ratio), positions.append(position)
    monkeypatch.undo()
    boxes = erasing_boxes(
        height,
        width,
        torch.tensor(areas),
        torch.tensor(log_ratios),
        torch.tensor(positions),
        torch.ones(60, dtype=torch.bool),
    )
    ours = list(zip(*(b.tolist() for b in boxes), strict=True))
    assert [tuple(e) for e in expected] == ours
    assert any(h == 0 for _, _, h, _ in ours) and any(h > 0 for _, _, h, _ in ours)
    images = torch.randn(200, 3, height, width)
    erased = random_erasing(images, p=1.0, generator=torch.Generator().manual_seed(0), scale=scale)
    rows = (erased == 0).all(1).all(2).sum(1)  # full-width erased rows per image
    assert (rows == 0).all()  # no box spans the whole width


def test_resize_then_crop_is_imagenets_preprocessing(cli, tmp_path):
    """`resize_to`: the evaluation's view is torchvision's Resize and CenterCrop; training takes a
    random window of the resized image per image; a resize smaller than the crop is one line."""
    from torchvision.transforms.v2 import functional as TF

    from hotlap.recipes.augment import random_crop, resize

    images = torch.rand(6, 3, 6, 6)
    expected = TF.center_crop(TF.resize(images, [10, 10], antialias=False), [8, 8])
    torch.testing.assert_close(resize(images, 8, first=10), expected)
    resized = resize(images, 10)
    crops = random_crop(resized, 8, generator=torch.Generator().manual_seed(0))
    windows = [(top, left) for top in range(3) for left in range(3)]
    found = [
        next(w for w in windows if torch.equal(crop, resized[i, :, w[0] : w[0] + 8, w[1] : w[1] + 8]))
        for i, crop in enumerate(crops)
    ]
    assert len(set(found)) > 1  # a position per image
    with pytest.raises(ConfigError, match="resize_to 200 is smaller than the image_size 224"):
        config(stem="imagenet", resize_to=200)
    code, _, err = cli(
        "run", "resnet", "resize_to=9", "image_size=10", "--data", "digits", "--out", str(tmp_path)
    )
    assert code == 2 and "resize_to 9 is smaller" in err and len(err.strip().splitlines()) == 1


def test_black_padding_is_normalized_black(small_data):
    from hotlap.data.loader import DeviceLoader, make_generator

    loader = DeviceLoader(
        small_data,
        train=True,
        batch_size=64,
        generator=make_generator(0, "cpu"),
        translate=4,
        pad="black",
        flip="none",
    )
    images = loader.augmented_epoch()
    black = small_data.normalize(torch.zeros(1, 3, 1, 1, dtype=torch.uint8))
    shifted = loader.last_offsets[:, 1] == 4  # shifted 4 px right: the last 4 columns are padding
    assert shifted.any()
    border = images[shifted][:, :, :, -4:]
    assert torch.allclose(border, black.expand_as(border))


def test_the_validation_split_holds_out_training_images_only(digits_data):
    cfg = config(val_size=200, val_seed=3)
    train, val_images, val_labels = split_validation(digits_data, cfg)
    assert len(val_labels) == 200 and train.train_size == digits_data.train_size - 200
    assert torch.equal(train.test_images, digits_data.test_images)
    again = split_validation(digits_data, cfg)
    assert torch.equal(again[1], val_images)  # fixed per val_seed: the same for every run seed
    flat = {tuple(img.flatten().tolist()) for img in train.train_images}
    assert not any(tuple(img.flatten().tolist()) in flat for img in val_images[:50])


def test_training_never_reads_the_test_set(small):
    """Two runs whose test sets differ in every label make the same training: the same
    validation accuracies, lrs (plateau reads them) and early stopping; only the test metrics
    differ."""
    cfg = config(
        **{
            **TINY,
            "epochs": 3,
            "val_size": 64,
            "scheduler": "plateau",
            "plateau_patience": 0,
            "early_stopping": 2,
        }
    )
    small = replace(small, train_images=small.train_images[:192], train_labels=small.train_labels[:192])
    scrambled = replace(small, test_labels=(small.test_labels + 1) % 10)
    one = RECIPE.train(cfg, small, seed=0, keep_weights=False)
    two = RECIPE.train(cfg, scrambled, seed=0, keep_weights=False)
    keys = ("val_acc", "lr", "train_loss")
    assert [[r[k] for k in keys] for r in one.history] == [[r[k] for k in keys] for r in two.history]
    assert one["accuracy"] != two["accuracy"]


def test_early_stopping_ends_on_the_best_validated_weights(small):
    cfg = config(**{**TINY, "epochs": 8, "lr": 1e-6, "warmup_epochs": 0, "early_stopping": 1})
    result = RECIPE.train(cfg, small, seed=0, keep_weights=False)
    vals = [r["val_acc"] for r in result.history]
    assert len(vals) < 8  # at lr 1e-6 the validation accuracy stops improving at once
    assert result["val_accuracy"] == pytest.approx(max(vals))


def test_the_batch_schedule_grows_the_batch_and_scales_the_lr(small):
    cfg = config(**{**TINY, "epochs": 3, "batch_schedule": {2: 128}, "warmup_epochs": 0, "scheduler": "none"})
    assert [cfg.batch_at(e) for e in range(3)] == [64, 128, 128]
    kept = small.train_size - 200  # TINY holds 200 out
    assert total_steps(cfg, small.train_size) == kept // 64 + 2 * (kept // 128)
    result = RECIPE.train(cfg, small, seed=0, keep_weights=False)
    assert [r["batch_size"] for r in result.history] == [64, 128, 128]
    assert [r["lr"] for r in result.history] == pytest.approx([0.1, 0.2, 0.2])  # lr 0.1, x2 with the batch


def test_amp_is_fp16_with_a_scaler_on_cuda_and_fp32_on_the_cpu():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert resolve_amp(config(), cuda) == (torch.float16, True)
    assert resolve_amp(config(), cpu) == (None, False)
    assert resolve_amp(config(dtype="bf16"), cuda) == (torch.bfloat16, False)
    assert resolve_amp(config(dtype="fp32"), cuda) == (None, False)


@pytest.fixture
def weights(tmp_path):
    """A local torchvision ResNet-18 state dict, as a user downloads it (ImageNet head)."""
    import torchvision

    torch.manual_seed(1)
    path = tmp_path / "resnet18-local.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path


def test_pretrained_weights_load_under_a_new_head_with_progressive_lrs(weights):
    cfg = config(stem="imagenet", pretrained=str(weights), lr=0.01)
    net = build(cfg, 100)
    saved = torch.load(weights, weights_only=True)
    assert torch.equal(net.state_dict()["layer3.0.conv1.weight"], saved["layer3.0.conv1.weight"])
    assert net.fc.out_features == 100
    lrs = {g["name"]: g["lr"] for g in make_optimizer(net, cfg).param_groups}
    assert lrs == pytest.approx(
        {"stem": 0.0025, "layer1": 0.0025, "layer2": 0.0025, "layer3": 0.005, "layer4": 0.01, "fc": 0.01}
    )
    plain = {g["name"]: g["lr"] for g in make_optimizer(make_net(config(), 10), config(lr=0.01)).param_groups}
    assert set(plain.values()) == {0.01}  # from scratch, every part at the lr


def test_fine_tuning_records_every_parts_lr_each_epoch(weights, small):
    """The per-epoch record (and so W&B and MLflow) carries each part's lr, not only the stem's
    (param group 0): layer4 and the head at the lr, the early layers at their multipliers."""
    cfg = config(**{**TINY, "epochs": 1}, stem="imagenet", pretrained=str(weights), lr=0.01, warmup_epochs=0)
    (record,) = RECIPE.train(cfg, small, seed=0, keep_weights=False).history
    assert record["lr"] == pytest.approx(0.0025)  # the first group: the stem
    assert {k: v for k, v in record.items() if k.startswith("lr_")} == pytest.approx(
        {
            "lr_stem": 0.0025,
            "lr_layer1": 0.0025,
            "lr_layer2": 0.0025,
            "lr_layer3": 0.005,
            "lr_layer4": 0.01,
            "lr_fc": 0.01,
        }
    )


def test_a_missing_or_misfit_pretrained_file_is_one_line(weights, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no weights file at"):
        build(config(stem="imagenet", pretrained=str(tmp_path / "nope.pth")), 10)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / "resnet50-11ad3fa6.pth").write_bytes(b"")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    with pytest.raises(ConfigError, match=r"torchvision's cache holds resnet50-11ad3fa6\.pth"):
        build(config(stem="imagenet", pretrained=str(tmp_path / "nope.pth")), 10)
    with pytest.raises(ConfigError, match=r"does not fit this model: missing .* key"):
        build(config(model="resnet50", stem="imagenet", pretrained=str(weights)), 10)
    with pytest.raises(ConfigError, match="imagenet stem"):
        config(pretrained=str(weights))


def test_a_bad_pretrained_file_in_a_run_is_exit_2_in_one_line(weights, tmp_path, cli):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    for path, message in ((tmp_path / "nope.pth", "no weights file"), (bad, "pretrained:")):
        code, _, err = cli(
            "run",
            "resnet",
            "stem=imagenet",
            f"pretrained={path}",
            "--data",
            "digits",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "out"),
        )
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "out").exists()


def test_fine_tuning_from_a_local_file_trains(weights, small):
    cfg = config(**{**TINY, "epochs": 1, "stem": "imagenet", "image_size": 32, "pretrained": str(weights)})
    result = RECIPE.train(cfg, small, seed=0, keep_weights=False)
    assert result.history and 0 <= result["accuracy"] <= 1
    assert result.history[0]["lr"] == pytest.approx(0.1 * 0.25)  # the stem's group (no warmup)


def test_what_reads_the_validation_set_needs_one():
    for overrides in (
        {"scheduler": "plateau"},
        {"early_stopping": 3},
        {"scheduler": "plateau", "plateau_metric": "val_loss"},
    ):
        with pytest.raises(ConfigError, match="give val_size > 0"):
            config(val_size=0, **overrides)
    assert config(val_size=0).val_size == 0  # a fixed schedule trains on every image
    assert config(val_size=0, scheduler="plateau", plateau_metric="train_loss").val_size == 0


def test_plateau_on_the_training_loss_trains_on_every_image(small):
    """`plateau_metric=train_loss` needs no held-out images; each epoch records its validation loss
    where there is a validation set, and none here."""
    cfg = config(
        **{**TINY, "epochs": 2, "val_size": 0, "scheduler": "plateau", "plateau_metric": "train_loss"}
    )
    result = RECIPE.train(cfg, small, seed=0, keep_weights=False)
    assert [r["val_loss"] for r in result.history] == [None, None]
    with_val = config(**{**TINY, "epochs": 1, "scheduler": "plateau", "plateau_metric": "val_loss"})
    (record,) = RECIPE.train(with_val, small, seed=0, keep_weights=False).history
    assert record["val_loss"] > 0 and 0 <= record["val_acc"] <= 1


def test_gradient_clipping_bounds_the_step(small):
    """With the gradient norm clipped to 1e-6, an epoch at lr 0.1 barely moves the weights;
    without clipping it moves them by far more."""

    def moved(**extra):
        cfg = config(**{**TINY, "epochs": 1, "warmup_epochs": 0, "weight_decay": 0.0, **extra})
        torch.manual_seed(0)
        before = make_net(cfg, 10).state_dict()["layer1.0.conv1.weight"]
        after = RECIPE.train(cfg, small, seed=0).artifacts["model.pt"]["layer1.0.conv1.weight"]
        return (after - before).abs().max().item()

    assert moved(grad_clip=1e-6) < 1e-4 < 1e-2 < moved()


def test_a_bf16_run_on_the_cpu_autocasts_and_records_its_history(small):
    # bf16 on a CPU without bf16 instructions is emulated (minutes an epoch of the digits, 5 s a
    # backward pass of 16 images): one step of 16 images, 16 held out, 16 test images
    data = replace(
        small,
        train_images=small.train_images[:32],
        train_labels=small.train_labels[:32],
        test_images=small.test_images[:16],
        test_labels=small.test_labels[:16],
    )
    tiny = {**TINY, "epochs": 1, "dtype": "bf16", "val_size": 16, "batch_size": 16}
    result = RECIPE.train(config(**tiny), data, seed=0, keep_weights=False)
    assert result.precision == "bf16" and 0 <= result["accuracy"] <= 1
    record = result.history[0]
    assert {
        "train_loss",
        "train_acc",
        "val_acc",
        "lr",
        "batch_size",
        "epoch_time",
        "host_rss",
        "peak_memory",
    } <= set(record)
    assert record["host_rss"] > 10_000_000 and record["peak_memory"] is None  # no device memory on the CPU


def test_a_validation_split_as_large_as_the_training_set_is_one_line(cli, tmp_path):
    out = str(tmp_path / "out")
    code, _, err = cli("run", "resnet", "val_size=5000", "--data", "digits", "--device", "cpu", "--out", out)
    assert code == 2 and "val_size 5000 holds out all of the 1437 training images" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_saved_weights_are_evaluated_with_every_metric_the_recipe_reports(cli, tmp_path):
    """`hotlap eval --weights` prints the recipe's own metrics (a ResNet has no TTA views: its
    accuracies, top-5 and validation, and the evaluation's time), not the airbench family's."""
    overrides = {"image_size": 8, "val_size": 200}
    path = tmp_path / "model.pt"
    torch.save(make_net(config(**overrides), 10).state_dict(), path)
    words = ["eval", "--weights", str(path), "--recipe", "resnet", "--data", "digits", "--device", "cpu"]
    code, out, err = cli(*words, "--no-warmup", *(f"{k}={v}" for k, v in overrides.items()))
    assert code == 0, err
    header = next(line for line in out.splitlines() if "accuracy %" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "accuracy %",
        "top5_accuracy %",
        "val_accuracy %",
        "eval_time s",
    ]
