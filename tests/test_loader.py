from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hotlap.data import DeviceLoader, batch_crop, cyclic_offsets, make_generator


def loader(data, seed=0, **kwargs):
    kwargs.setdefault("batch_size", 16)
    return DeviceLoader(data, train=True, generator=make_generator(seed, "cpu"), **kwargs)


def test_batches_have_the_right_shapes_and_count(small_data):
    dl = loader(small_data, batch_size=24, flip="alternating", translate=2)
    batches = list(dl)
    assert len(batches) == len(dl) == 64 // 24  # drop_last on the training set
    for inputs, labels in batches:
        assert inputs.shape == (24, 3, 32, 32)
        assert labels.shape == (24,)
        assert inputs.dtype == torch.float32
    no_drop = DeviceLoader(
        small_data, train=True, batch_size=24, generator=make_generator(0, "cpu"), drop_last=False
    )
    assert [len(x) for x, _ in no_drop] == [24, 24, 16]


def test_normalization_uses_the_dataset_statistics(small_data):
    dl = loader(small_data)
    images = dl.normalized()
    raw = small_data.train_images.float() / 255
    mean = torch.tensor(small_data.mean).view(1, 3, 1, 1)
    std = torch.tensor(small_data.std).view(1, 3, 1, 1)
    torch.testing.assert_close(images, (raw - mean) / std)


def test_translate_crops_a_reflect_padded_copy(small_data):
    dl = loader(small_data, flip="none", translate=2)
    images = dl.augmented_epoch()
    offsets = dl.last_offsets
    assert offsets.shape == (64, 2)
    assert offsets.min() >= -2 and offsets.max() <= 2
    assert len({tuple(o) for o in offsets.tolist()}) > 5  # offsets are drawn per image
    padded = F.pad(dl.normalized(), (2, 2, 2, 2), mode="reflect")
    for i, (dy, dx) in enumerate(offsets.tolist()):
        torch.testing.assert_close(images[i], padded[i, :, 2 + dy : 34 + dy, 2 + dx : 34 + dx])


def test_reflect_padding_mirrors_without_repeating_the_edge():
    image = torch.arange(3 * 32 * 32, dtype=torch.float32).view(1, 3, 32, 32)
    padded = F.pad(image, (2, 2, 2, 2), mode="reflect")
    out = batch_crop(padded, torch.tensor([[-2, -2]]), 32)
    # Shifted by (-2, -2): the top-left pixel is the reflection of pixel (2, 2), not a zero or a copy.
    assert out[0, 0, 0, 0] == image[0, 0, 2, 2]
    assert out[0, 0, 1, 1] == image[0, 0, 1, 1]
    assert out[0, 0, 2, 2] == image[0, 0, 0, 0]


def test_alternating_flip_flips_exactly_the_complement_on_odd_epochs(small_data):
    dl = loader(small_data, flip="alternating", translate=0)
    epoch0 = dl.augmented_epoch()
    mask0 = dl.last_flip_mask.clone()
    epoch1 = dl.augmented_epoch()
    mask1 = dl.last_flip_mask.clone()
    epoch2 = dl.augmented_epoch()
    assert 0 < mask0.sum() < len(mask0)
    assert torch.equal(mask1, ~mask0)
    torch.testing.assert_close(epoch1, epoch0.flip(-1))
    torch.testing.assert_close(epoch2, epoch0)
    plain = dl.normalized()
    torch.testing.assert_close(epoch0[mask0], plain[mask0].flip(-1))
    torch.testing.assert_close(epoch0[~mask0], plain[~mask0])


def test_random_flip_draws_a_new_coin_every_epoch(small_data):
    dl = loader(small_data, flip="random", translate=0)
    plain = dl.normalized()
    masks = []
    for _ in range(3):
        images = dl.augmented_epoch()
        mask = dl.last_flip_mask.clone()
        torch.testing.assert_close(images[mask], plain[mask].flip(-1))
        torch.testing.assert_close(images[~mask], plain[~mask])
        masks.append(mask)
    assert not torch.equal(masks[1], ~masks[0])  # not the alternating scheme


def test_cyclic_translate_shifts_every_image_the_same_way(small_data):
    dl = loader(small_data, flip="none", translate=2, translate_schedule="cyclic")
    cycle = cyclic_offsets(2)
    assert len(cycle) == 25 and len(set(cycle)) == 25 and cycle[0] == (0, 0)
    padded = F.pad(dl.normalized(), (2, 2, 2, 2), mode="reflect")
    for epoch in range(3):
        images = dl.augmented_epoch()
        dy, dx = cycle[epoch]
        assert torch.equal(dl.last_offsets, torch.tensor([[dy, dx]]).expand(64, 2))
        torch.testing.assert_close(images, padded[:, :, 2 + dy : 34 + dy, 2 + dx : 34 + dx])


def test_cutout_zeroes_one_square_per_image(small_data):
    dl = loader(small_data, flip="none", translate=0, cutout=8)
    images = dl.augmented_epoch()
    plain = dl.normalized()
    changed = (images != plain).any(dim=1)  # per pixel, over channels
    for i in range(len(images)):
        rows = changed[i].any(dim=1).nonzero().flatten()
        cols = changed[i].any(dim=0).nonzero().flatten()
        assert rows.max() - rows.min() + 1 <= 8 and cols.max() - cols.min() + 1 <= 8
    assert (images[changed.unsqueeze(1).expand_as(images)] == 0).all()


@pytest.mark.parametrize("flip", ["alternating", "random", "none"])
def test_a_loader_is_reproducible_from_its_seed(small_data, flip):
    def batches(seed):
        return list(loader(small_data, seed=seed, flip=flip, translate=2, cutout=4))

    first, again, other = batches(7), batches(7), batches(8)
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert any(not torch.equal(x1, x3) for (x1, _), (x3, _) in zip(first, other, strict=True))


@pytest.mark.parametrize("batch_size", [24, 150])
def test_the_stream_fills_every_batch_across_epochs_without_dropping_an_example(small_data, batch_size):
    """airbench96_faster's loader: every batch is full; one reaching the end of an epoch takes the
    rest from the next epoch (its own augmentation and order); read end to end, the stream is the
    epochs one after another, each example once per epoch (150: one batch spans three epochs)."""
    kwargs = {"flip": "alternating", "translate": 2, "cutout": 4}
    stream = loader(small_data, batch_size=batch_size, **kwargs).stream()
    batches = [next(stream) for _ in range(7)]
    assert all(len(x) == len(y) == batch_size for x, y in batches)
    whole = loader(small_data, batch_size=len(small_data.train_labels), drop_last=False, **kwargs)
    epochs = [next(iter(whole)) for _ in range(math.ceil(7 * batch_size / 64) + 1)]
    images = torch.cat([x for x, _ in epochs])[: 7 * batch_size]
    labels = torch.cat([y for _, y in epochs])[: 7 * batch_size]
    assert torch.equal(torch.cat([x for x, _ in batches]), images)
    assert torch.equal(torch.cat([y for _, y in batches]), labels)
    first_epoch = torch.cat([y for _, y in batches])[:64]
    assert torch.equal(first_epoch.sort().values, small_data.train_labels.sort().values)
