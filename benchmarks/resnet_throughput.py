"""Images per second of a ResNet-18 training epoch: hotlap's device-resident loader (crop with
padding and flip as whole-set tensor operations on the device) against the usual torchvision
pipeline (a Dataset of PIL images, RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor,
Normalize, a DataLoader with workers and pinned memory), in the same run, on the same model.

    .venv/bin/python benchmarks/resnet_throughput.py [--images 2048] [--batch 128] [--workers 2]
        [--repeat 3] [--device auto] [--image-size 32]

Each pipeline runs one untimed epoch first (workers start, cuDNN tunes), then `--repeat` timed
epochs taken in turn with the other's; the medians and their ratio are printed. It also times the
data alone (every batch produced and moved to the device, no model), which is where the two
differ; on a CPU the model's own time dominates a training epoch. CIFAR-shaped synthetic images
(random uint8), 10 classes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from hotlap.data.loader import DeviceData, DeviceLoader, make_generator
from hotlap.data.synthetic import make_synthetic
from hotlap.envinfo import resolve_device
from hotlap.recipes.augment import resize
from hotlap.recipes.resnet_setup import ResnetConfig, make_net


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_batches(data: DeviceData, batch: int, seed: int, channels_last: bool) -> Callable[[], Iterable]:
    generator = make_generator(seed, data.device)
    loader = DeviceLoader(
        data,
        train=True,
        batch_size=batch,
        generator=generator,
        channels_last=channels_last,
        flip="random",
        translate=4,
        pad="black",
    )
    return lambda: iter(loader)


def torchvision_batches(
    data: DeviceData, batch: int, workers: int, device: torch.device
) -> Callable[[], Iterable]:
    from PIL import Image
    from torchvision import transforms

    images = data.train_images.permute(0, 2, 3, 1).cpu().numpy()  # HWC uint8, as CIFAR ships
    labels = data.train_labels.cpu().numpy()
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(data.mean, data.std),
        ]
    )

    class Pictures(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(labels)

        def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
            return transform(Image.fromarray(np.ascontiguousarray(images[i]))), int(labels[i])

    loader = torch.utils.data.DataLoader(
        Pictures(),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )

    def epoch():  # type: ignore[no-untyped-def]
        for x, y in loader:
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    return epoch


def timed_epoch(
    batches: Callable[[], Iterable], step: Callable | None, device: torch.device, size: int
) -> float:
    _sync(device)
    begin = time.perf_counter()
    count = 0
    for x, y in batches():
        if step is not None:
            step(resize(x, size), y)
        count += len(y)
    _sync(device)
    return count / (time.perf_counter() - begin)


def measure(
    images: int, batch: int, workers: int, repeat: int, device: torch.device, image_size: int
) -> dict[str, dict[str, float]]:
    """Median images per second of each pipeline, for the data alone and for a training epoch,
    with the ratio hotlap / torchvision: {"data only": {...}, "training epoch": {...}}."""
    channels_last = device.type == "cuda"
    data = DeviceData.from_dataset(make_synthetic(train_size=images, test_size=16), device)
    torch.manual_seed(0)
    net = make_net(ResnetConfig(), 10).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    amp = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if amp is not None and scaler is not None:
            with amp:
                loss = F.cross_entropy(net(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    pipelines = {
        "hotlap device loader": device_batches(data, batch, 0, channels_last),
        f"torchvision DataLoader ({workers} workers)": torchvision_batches(data, batch, workers, device),
    }
    out: dict[str, dict[str, float]] = {}
    for label, use_model in (("data only", False), ("training epoch", True)):
        rates: dict[str, list[float]] = {name: [] for name in pipelines}
        for batches in pipelines.values():  # untimed: workers start, kernels tune
            timed_epoch(batches, step if use_model else None, device, image_size)
        for _ in range(repeat):
            for name, batches in pipelines.items():
                rates[name].append(timed_epoch(batches, step if use_model else None, device, image_size))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        hot, tv = medians.values()
        out[label] = {**medians, "ratio (hotlap / torchvision)": hot / tv}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--image-size",
        type=int,
        default=32,
        help="the model's input side (CPU: smaller is quicker)",
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(
        f"device {device}, {args.images} CIFAR-shaped images, batch {args.batch}, ResNet-18 (CIFAR stem) at "
        f"{args.image_size}x{args.image_size}, {args.repeat} timed epochs each, in turn"
    )
    results = measure(args.images, args.batch, args.workers, args.repeat, device, args.image_size)
    for label, medians in results.items():
        print(f"{label}:")
        for name, rate in medians.items():
            if name.startswith("ratio"):
                print(f"  {name:<36} {rate:>12.2f}x")
            else:
                print(f"  {name:<36} {rate:>12,.0f} images/s")


if __name__ == "__main__":
    main()
