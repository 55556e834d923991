"""The registries: lazy entries (a built-in recipe's module imported where it is first wanted),
and their contents: the digits and synthetic datasets. (The conformance kit over every entry:
test_conformance.py; the generated reference naming every key and entry: test_docs.py.)"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hotlap.data import load_dataset
from hotlap.registry import Registry


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A module `lazy_entry_mod` that registers `wanted` in the registry it is given."""
    (tmp_path / "lazy_entry_mod.py").write_text(
        "from tests_lazy_registry import REGISTRY\nREGISTRY.register('wanted', 'from the module')\n"
    )
    registry: Registry[str] = Registry("thing")
    holder = type(sys)("tests_lazy_registry")
    holder.REGISTRY = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_lazy_registry", holder)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_entry_mod", raising=False)
    registry.lazy("wanted", "lazy_entry_mod")
    return registry


def test_a_lazy_entry_is_named_before_its_module_is_imported_and_got_from_it(lazy_module):
    assert "wanted" in lazy_module and lazy_module.names() == ["wanted"] and len(lazy_module) == 1
    assert "lazy_entry_mod" not in sys.modules  # named, not imported
    assert lazy_module.get("wanted") == "from the module"
    assert "lazy_entry_mod" in sys.modules
    with pytest.raises(Exception, match="unknown thing 'wantd' \\(closest: wanted\\)"):
        lazy_module.get("wantd")


def test_listing_imports_every_lazy_entry(lazy_module):
    assert lazy_module.items() == [("wanted", "from the module")]


def test_an_entry_replacing_a_lazy_one_replaces_its_modules(lazy_module):
    """A plugin that replaces a built-in recipe (`replace=True`) does so whether or not the
    built-in's module was imported yet; registering it again without `replace` is an error."""
    lazy_module.register("wanted", "the plugin's", replace=True)
    assert lazy_module.get("wanted") == "the plugin's"
    with pytest.raises(ValueError, match="registered twice"):
        lazy_module.register("wanted", "again")


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
