"""airbench96_faster against the reference's algorithm, step by step, on a tiny network.

The reference (airbench96_faster.py in KellerJordan/cifar10-airbench) is written out below as its
script does it, in plain torch: its layers, its whitening, its two SGD groups, its schedule, its
proxy loop (every batch scored in training mode, the hardest half masked, an optimizer step on every
fourth), its main loop (the masked examples' summed loss, Lookahead every 5 steps, its switch of the
whitening bias that never fires). Both sides start from the same weights and read the same batches;
every proxy mask and the main network's every tensor after every step must be equal. The one
documented difference is aligned: the EMA snapshot is taken after the whitening init, not before.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from hotlap.recipes import count_parameters, forward_flops, get_recipe
from hotlap.recipes.airbench96_faster import (
    MaskedTraining,
    batch_streams,
    make_proxy,
    networks,
    proxy_masks,
    run_flops,
)
from hotlap.recipes.whitening import init_whitening

RECIPE = get_recipe("airbench96_faster")
TINY = {"width": 0.125, "batch_size": 64, "batch_size_masked": 32, "epochs": 2, "lr": 30.0}

# ---------------------------------------------------------------------------------------------
#  The reference, as its script writes it
# ---------------------------------------------------------------------------------------------


class RefBatchNorm(nn.BatchNorm2d):
    def __init__(self, features):
        super().__init__(features, eps=1e-12)  # torch's momentum
        self.weight.requires_grad = False


class RefConv(nn.Conv2d):
    def __init__(self, c_in, c_out, kernel_size=3, padding="same", bias=False):
        super().__init__(c_in, c_out, kernel_size=kernel_size, padding=padding, bias=bias)


class RefGroup(nn.Module):
    def __init__(self, c_in, c_out, depth):
        super().__init__()
        self.depth = depth
        self.conv1, self.pool, self.norm1 = RefConv(c_in, c_out), nn.MaxPool2d(2), RefBatchNorm(c_out)
        self.conv2, self.norm2 = RefConv(c_out, c_out), RefBatchNorm(c_out)
        if depth == 3:
            self.conv3, self.norm3 = RefConv(c_out, c_out), RefBatchNorm(c_out)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        x0 = x
        x = self.activ(self.norm2(self.conv2(x)))
        if self.depth == 3:
            x = self.activ(self.norm3(self.conv3(x)) + x0)
        return x


class RefMul(nn.Module):
    def forward(self, x):
        return x * (1 / 9)


def ref_net(widths, depth, classes=10):
    net = nn.Sequential(
        RefConv(3, 24, 2, padding=0, bias=True),
        nn.GELU(),
        RefGroup(24, widths[0], depth),
        RefGroup(widths[0], widths[1], depth),
        RefGroup(widths[1], widths[2], depth),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(widths[2], classes, bias=False),
        RefMul(),
    )
    net[0].weight.requires_grad = False
    return net


def ref_whiten(layer, images, eps=5e-4):
    c, (h, w) = images.shape[1], layer.weight.shape[2:]
    patches = images.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c, h, w).float()
    flat = patches.view(len(patches), -1)
    values, vectors = torch.linalg.eigh(flat.T @ flat / len(flat), UPLO="U")
    values, vectors = values.flip(0).view(-1, 1, 1, 1), vectors.T.reshape(c * h * w, c, h, w).flip(0)
    scaled = vectors / torch.sqrt(values + eps)
    layer.weight.data[:] = torch.cat((scaled, -scaled))


def ref_optimizer(net, hyp, only_trainable):
    scale = 1024 * (1 + 1 / (1 - hyp["momentum"]))
    lr, wd = hyp["lr"] / scale, hyp["weight_decay"] * hyp["batch_size"] / scale
    lr_biases = lr * hyp["bias_scaler"]
    named = [(k, p) for k, p in net.named_parameters() if p.requires_grad or not only_trainable]
    groups = [
        {"params": [p for k, p in named if "norm" in k], "lr": lr_biases, "weight_decay": wd / lr_biases},
        {"params": [p for k, p in named if "norm" not in k], "lr": lr, "weight_decay": wd / lr},
    ]
    return torch.optim.SGD(groups, momentum=hyp["momentum"], nesterov=True)


def ref_schedule(optimizer, total):
    def get_lr(step):
        warmup = int(total * 0.1)
        if step < warmup:
            frac = step / warmup
            return 0.2 * (1 - frac) + 1.0 * frac
        return (total - step) / (total - warmup)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, get_lr)


def ref_masks(proxy, batches, hyp, total):
    optimizer = ref_optimizer(proxy, hyp, only_trainable=True)
    scheduler = ref_schedule(optimizer, total)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="none")
    masks = []
    proxy.train()
    for step, (inputs, labels) in enumerate(batches):
        with torch.set_grad_enabled(step % 4 == 0):
            loss1 = loss_fn(proxy(inputs), labels)
            mask = torch.zeros(len(inputs)).bool()
            mask[loss1.argsort()[-hyp["batch_size_masked"] :]] = True
            masks.append(mask)
            if step % 4 == 0:
                loss = (loss1 * mask.float()).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        scheduler.step()
    return masks


def ref_main_steps(net, batches, masks, hyp, total, steps_per_epoch):
    """Yields the network after every step of the reference's main loop."""
    optimizer = ref_optimizer(net, hyp, only_trainable=False)
    scheduler = ref_schedule(optimizer, total)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="none")
    ema = {k: v.clone() for k, v in net.state_dict().items()}  # aligned: after the whitening init

    def lookahead(decay):
        for kept, current in zip(ema.values(), net.state_dict().values(), strict=True):
            if current.dtype in (torch.half, torch.float):
                kept.lerp_(current, 1 - decay)
                current.copy_(kept)

    alpha = 0.95**5 * (torch.arange(total + 1) / total) ** 3
    epoch = None
    for step, ((inputs, labels), mask) in enumerate(zip(batches, masks, strict=True)):
        # The reference's switch to the frozen-bias copy compares the epoch with 3 x steps per
        # epoch, which it never reaches: the bias trains throughout.
        assert epoch != 3 * steps_per_epoch
        if step % steps_per_epoch == 0:
            epoch = step // steps_per_epoch
            net.train()
        loss = loss_fn(net(inputs[mask]), labels[mask]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if (step + 1) % 5 == 0:
            lookahead(alpha[step + 1].item())
        if step + 1 == total:
            lookahead(1.0)
        yield net


# ---------------------------------------------------------------------------------------------
#  hotlap against it
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setting(small):
    config = RECIPE.config(TINY)
    data = replace(small, test_images=small.test_images[:40], test_labels=small.test_labels[:40])
    total = RECIPE.total_steps(config, data.train_size)
    hyp = {k: getattr(config, k) for k in ("lr", "momentum", "weight_decay", "bias_scaler", "batch_size")}
    hyp["batch_size_masked"] = config.batch_size_masked
    return config, data, total, hyp


def reference_copies(config, data, seed):
    """hotlap's fresh networks for `seed`, and the reference's networks holding the same weights."""
    net, _, proxy, _ = networks(config, data, seed, torch.float32)
    ref_main = ref_net(config.block_widths(), 3)
    ref_proxy = ref_net(config.proxy_config().block_widths(), 2)
    ref_main.load_state_dict(net.state_dict())
    ref_proxy.load_state_dict(proxy.state_dict())
    ref_proxy[0].bias.requires_grad = False
    first = data.normalize(data.train_images[: config.whiten_init_images])
    ref_whiten(ref_main[0], first)
    ref_whiten(ref_proxy[0], first)
    return net, proxy, ref_main, ref_proxy, first


def test_every_mask_and_every_step_are_the_references(setting):
    config, data, total, hyp = setting
    net, proxy, ref_main, ref_proxy, first = reference_copies(config, data, seed=3)
    for layer in (net[0], proxy[0]):
        init_whitening(layer, first, config.whiten_eps)
    assert torch.equal(net[0].weight, ref_main[0].weight)

    proxy_stream, stream = batch_streams(config, data, 3, torch.float32)
    reference_stream = batch_streams(config, data, 3, torch.float32)[0]
    batches = [next(reference_stream) for _ in range(total)]

    masks = proxy_masks(config, proxy, proxy, proxy_stream, total)
    expected_masks = ref_masks(ref_proxy, batches, hyp, total)
    assert len(masks) == total and all(int(m.sum()) == config.batch_size_masked for m in masks)
    for step, (mask, expected) in enumerate(zip(masks, expected_masks, strict=True)):
        assert torch.equal(mask, expected), f"proxy mask differs at step {step}"
    for key, value in ref_proxy.state_dict().items():
        assert torch.equal(proxy.state_dict()[key], value), f"proxy {key} differs"

    training = MaskedTraining(config, net, net, total)
    per_epoch = data.train_size // config.batch_size
    reference = ref_main_steps(ref_main, batches, expected_masks, hyp, total, per_epoch)
    for step in range(total):
        inputs, labels = next(stream)
        training.step(inputs, labels, masks[step])
        expected = next(reference).state_dict()
        for key, value in net.state_dict().items():
            assert torch.equal(value, expected[key]), f"{key} differs after step {step + 1}"
    assert ref_main[0].bias.requires_grad and net[0].bias.grad is not None  # trained to the end


def test_a_whole_run_ends_on_the_references_weights(setting):
    """`train` glues the pieces as the reference does: its kept weights are the reference's after
    the proxy run and every main step from the same start."""
    config, data, total, hyp = setting
    _, _, ref_main, ref_proxy, _ = reference_copies(config, data, seed=5)
    stream = batch_streams(config, data, 5, torch.float32)[0]
    batches = [next(stream) for _ in range(total)]
    masks = ref_masks(ref_proxy, batches, hyp, total)
    *_, final = ref_main_steps(ref_main, batches, masks, hyp, total, data.train_size // config.batch_size)
    result = RECIPE.train(config, data, seed=5)
    for key, value in final.state_dict().items():
        assert torch.equal(result.artifacts["model.pt"][key], value), f"{key} differs at the end"
    assert len(result.history) == math.ceil(total / (data.train_size // config.batch_size))
    assert result.history[-1]["steps"] == total


def test_its_facts_are_the_references():
    """2,160 steps of 48 on CIFAR-10, airbench96's network, a proxy of airbench94's groups at
    32/64/64, and the reference's 3.1 PFLOPs a run (counted at 2 FLOPs per multiply-add)."""
    config = RECIPE.config()
    assert RECIPE.total_steps(config, 50_000) == 2160
    assert (config.batch_size, config.batch_size_masked, config.whiten_bias_epochs) == (1024, 512, 45)
    assert count_parameters(RECIPE.build_model(config, 10)) == count_parameters(
        get_recipe("airbench96").build_model(config, 10)
    )
    proxy = make_proxy(config)
    assert count_parameters(proxy) == count_parameters(ref_net((32, 64, 64), 2))
    assert not proxy[0].bias.requires_grad
    assert all(m.momentum == pytest.approx(0.1) for m in proxy.modules() if isinstance(m, nn.BatchNorm2d))
    flops = run_flops(config, 10, 50_000, 10_000)
    assert 3.0e15 < flops < 3.3e15
    main, small = forward_flops(RECIPE.build_model(config, 10)), forward_flops(proxy)
    assert flops == pytest.approx(main * (3 * 2160 * 512 + 6 * 10_000) + small * 1024 * (2160 + 2 * 540))
    with pytest.raises(Exception, match="batch_size_masked 2048 exceeds batch_size 1024"):
        RECIPE.config({"batch_size_masked": 2048})
