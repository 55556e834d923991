"""airbench94 written plainly, with nothing of hotlap: the loop that `gpu_check.py` times hotlap's
`airbench94` recipe against.

The same math as the recipe at its defaults, which are the reference's (../shared facts in the
recipe's header): uint8 data resident on the device, normalized once to fp16 channels_last; an
alternating flip and a random 2-px translate of a reflect-padded copy, made per epoch for the whole
set; the whitening conv from the first 5,000 images' 2x2 patch covariance; three conv groups;
SGD-Nesterov with the decoupled lr and weight decay; the piecewise linear lr; label smoothing 0.2
on a summed loss; the Lookahead EMA every 5 steps; TTA level 2 in batches of 2,000.

Timed as the reference times it (CUDA events and a synchronize on a GPU, perf_counter on a CPU):
the whitening init, every training epoch and the final TTA evaluation; not moving the data, not
building the network or optimizer, not the per-epoch logging evaluation. This file imports only
torch, on purpose: a helper shared with hotlap would hide the overhead it is there to find.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

DEFAULTS = {
    "epochs": 9.9,
    "batch_size": 1024,
    "lr": 11.5,
    "momentum": 0.85,
    "weight_decay": 0.0153,
    "bias_scaler": 64.0,
    "label_smoothing": 0.2,
    "width": 1.0,
    "whiten_bias_epochs": 3,
    "whiten_init_images": 5000,
    "eval_batch_size": 2000,
}


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, channels: int) -> None:
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):
    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, padding: str | int = "same", bias: bool = False
    ):
        super().__init__(c_in, c_out, kernel_size=kernel, padding=padding, bias=bias)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        torch.nn.init.dirac_(self.weight.data[: self.weight.size(1)])


class Group(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1, self.pool, self.norm1 = Conv(c_in, c_out), nn.MaxPool2d(2), BatchNorm(c_out)
        self.conv2, self.norm2, self.activ = Conv(c_out, c_out), BatchNorm(c_out), nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Mul(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / 9


def make_net(width: float, classes: int, device: torch.device, dtype: torch.dtype) -> nn.Sequential:
    w1, w2, w3 = (max(1, round(width * w)) for w in (64, 256, 256))
    net = nn.Sequential(
        Conv(3, 24, kernel=2, padding=0, bias=True),
        nn.GELU(),
        Group(24, w1),
        Group(w1, w2),
        Group(w2, w3),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(w3, classes, bias=False),
        Mul(),
    )
    net[0].weight.requires_grad = False
    net = net.to(device=device, dtype=dtype)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    for module in net.modules():
        if isinstance(module, BatchNorm):
            module.float()
    return net


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.device, self.seconds = device, 0.0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self.device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            torch.cuda.synchronize(self.device)
            self.seconds += start.elapsed_time(end) / 1000
        else:
            begin = time.perf_counter()
            yield
            self.seconds += time.perf_counter() - begin


def normalize(
    images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    out = ((images.float() / 255 - mean) / std).to(dtype)
    return out.contiguous(memory_format=torch.channels_last) if images.is_cuda else out


def crop(padded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image shifted by a random offset in [-2, 2] per axis: masked copies, rows then columns."""
    n, layout = len(padded), {"memory_format": torch.channels_last} if padded.is_cuda else {}
    offsets = torch.randint(-2, 3, (n, 2), generator=generator, device=padded.device)
    rows = torch.empty((n, 3, 32, 36), dtype=padded.dtype, device=padded.device, **layout)
    for dy in range(-2, 3):
        mask = offsets[:, 0] == dy
        rows[mask] = padded[mask, :, 2 + dy : 34 + dy, :]
    out = torch.empty((n, 3, 32, 32), dtype=padded.dtype, device=padded.device, **layout)
    for dx in range(-2, 3):
        mask = offsets[:, 1] == dx
        out[mask] = rows[mask, :, :, 2 + dx : 34 + dx]
    return out


def whiten(layer: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1).transpose(1, 3).reshape(-1, 3, 2, 2).float()
    flat = patches.view(len(patches), -1)
    values, vectors = torch.linalg.eigh(flat.T @ flat / len(flat), UPLO="U")
    values, vectors = values.flip(0).view(-1, 1, 1, 1), vectors.T.reshape(12, 3, 2, 2).flip(0)
    filters = vectors / torch.sqrt(values + eps)
    layer.weight.data[:] = torch.cat((filters, -filters)).to(layer.weight.dtype)


@torch.no_grad()
def tta_logits(net: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    net.eval()
    out = []
    for x in images.split(batch_size):
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        shifted = (padded[:, :, 0:32, 0:32], padded[:, :, 2:34, 2:34])
        plain = 0.5 * (net(x) + net(x.flip(-1)))
        moved = sum(0.5 * (net(v) + net(v.flip(-1))) for v in shifted) / 2
        out.append((0.5 * plain + 0.5 * moved).float())
    return torch.cat(out)


def train(data: dict[str, torch.Tensor], seed: int, **overrides: float) -> dict[str, float]:
    """One run on `data` (uint8 NCHW `train_images`, `test_images`; int64 `train_labels`,
    `test_labels`; float `mean`, `std` of shape (1, 3, 1, 1)) on their device. Returns its train and
    eval times (the reference's convention), its TTA accuracy and the first and last epoch's loss."""
    hp = {**DEFAULTS, **overrides}
    device = data["train_images"].device
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    torch.backends.cudnn.benchmark = True  # as the reference sets it (and hotlap's worker)
    torch.manual_seed(seed)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    labels, classes = data["train_labels"], int(data["train_labels"].max()) + 1
    batch, n = int(hp["batch_size"]), len(labels)
    steps = math.ceil(n // batch * hp["epochs"])
    warmup = int(steps * 0.23)

    net = make_net(hp["width"], classes, device, dtype)
    scale = 1024 * (1 + 1 / (1 - hp["momentum"]))
    lr, decay = hp["lr"] / scale, hp["weight_decay"] * batch / scale
    named = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
    biases, others = [p for k, p in named if "norm" in k], [p for k, p in named if "norm" not in k]
    bias_lr = lr * hp["bias_scaler"]
    optimizer = torch.optim.SGD(
        [
            {"params": biases, "lr": bias_lr, "weight_decay": decay / bias_lr},
            {"params": others, "lr": lr, "weight_decay": decay / lr},
        ],
        momentum=hp["momentum"],
        nesterov=True,
    )

    def multiplier(step: int) -> float:
        if step < warmup:
            return 0.2 + 0.8 * step / warmup
        return 1 + (0.07 - 1) * (step - warmup) / max(1, steps - warmup)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)
    timer, log_images = Timer(device), normalize(data["test_images"], data["mean"], data["std"], dtype)
    losses: list[float] = []

    with timer():  # the whitening init, and the set normalized, flipped once and padded
        train_images = normalize(data["train_images"], data["mean"], data["std"], dtype)
        whiten(net[0], train_images[: int(hp["whiten_init_images"])])
        coin = torch.rand(n, generator=generator, device=device) < 0.5
        flipped = torch.where(coin.view(-1, 1, 1, 1), train_images.flip(-1), train_images)
        padded = F.pad(flipped, (2, 2, 2, 2), mode="reflect")
    ema = {k: v.clone() for k, v in net.state_dict().items()}
    alpha = 0.95**5 * (torch.arange(steps + 1) / steps) ** 3  # the reference's float32 schedule

    def lookahead(rate: float) -> None:
        for kept, now in zip(ema.values(), net.state_dict().values(), strict=True):
            if now.dtype.is_floating_point:
                kept.lerp_(now, 1 - rate)
                now.copy_(kept)

    step = 0
    for epoch in range(math.ceil(hp["epochs"])):
        net[0].bias.requires_grad = epoch < hp["whiten_bias_epochs"]
        with timer():
            net.train()
            images = crop(padded, generator)
            if epoch % 2 == 1:
                images = images.flip(-1)
            order = torch.randperm(n, generator=generator, device=device)
            for i in range(n // batch):
                index = order[i * batch : (i + 1) * batch]
                outputs = net(images[index])
                loss = F.cross_entropy(outputs, labels[index], label_smoothing=0.2, reduction="none").sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                if step % 5 == 0:
                    lookahead(alpha[step].item())
                if step >= steps:
                    lookahead(1.0)  # end on the EMA's weights
                    break
        losses.append(loss.item() / batch)  # untimed, as the per-epoch evaluation
        with torch.no_grad():
            net.eval()
            torch.cat([net(x) for x in log_images.split(int(hp["eval_batch_size"]))])
    train_time = timer.seconds

    with timer():
        test_images = normalize(data["test_images"], data["mean"], data["std"], dtype)
        logits = tta_logits(net, test_images, int(hp["eval_batch_size"]))
        tta_accuracy = (logits.argmax(1) == data["test_labels"]).float().mean().item()
    return {
        "train_time": train_time,
        "eval_time": timer.seconds - train_time,
        "tta_accuracy": tta_accuracy,
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }
