"""The registries' contents: the digits and synthetic datasets. (The conformance kit over every
entry: test_conformance.py; the generated reference naming every key and entry: test_docs.py.)"""

from __future__ import annotations

import numpy as np

from hotlap.data import load_dataset


def test_digits_are_real_upscaled_digits_with_a_fixed_stratified_split():
    first, again = load_dataset("digits"), load_dataset("digits")
    np.testing.assert_array_equal(first.test_labels, again.test_labels)
    assert (first.train_size, first.test_size) == (1437, 360)
    assert np.array_equal(first.train_images[..., 0], first.train_images[..., 2])  # grey in RGB
    block = first.train_images[0, :4, :4, 0]
    assert (block == block[0, 0]).all()  # each 8x8 pixel became a 4x4 block
    counts = np.bincount(first.test_labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 20% of each class's ~180 images


def test_synthetic_takes_a_size():
    dataset = load_dataset("synthetic:100")
    assert (dataset.train_size, dataset.test_size) == (100, 20)
