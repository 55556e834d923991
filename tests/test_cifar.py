"""The CIFAR download, verification, safe extraction, parser and cache, on generated archives."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from hotlap.data import cifar, load_dataset
from hotlap.errors import DataError

PER_BATCH = 12


def _batch(rng, n, label_key, num_classes):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, num_classes, size=n).tolist()
    return {
        b"batch_label": b"generated",
        label_key: labels,
        b"data": data,
        b"filenames": [b"x.png"] * n,
    }


def _add(tar, name, payload: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def make_archive(path: Path, name: str = "cifar10", *, extra_member: str | None = None, seed: int = 0):
    """A small archive laid out like the official python version, with its batches."""
    spec = cifar.CIFAR_ARCHIVES[name]
    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        for member in spec.train_files + spec.test_files:
            batch = _batch(rng, PER_BATCH, spec.label_key, spec.num_classes)
            if name == "cifar100":
                batch[b"coarse_labels"] = [label // 5 for label in batch[spec.label_key]]
            batches[member] = batch
            _add(tar, f"{spec.folder}/{member}", pickle.dumps(batch, protocol=2))
        _add(tar, f"{spec.folder}/batches.meta", pickle.dumps({b"label_names": []}, protocol=2))
        if extra_member:
            _add(tar, extra_member, b"escaped")
    return batches


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Point cifar10/cifar100 at generated archives served from file:// URLs."""

    def serve(name="cifar10", md5=None, **kwargs):
        source = tmp_path / "mirror" / cifar.CIFAR_ARCHIVES[name].filename
        source.parent.mkdir(exist_ok=True)
        batches = make_archive(source, name, **kwargs)
        digest = md5 or hashlib.md5(source.read_bytes()).hexdigest()
        patched = dataclasses.replace(cifar.CIFAR_ARCHIVES[name], url=source.as_uri(), md5=digest)
        monkeypatch.setitem(cifar.CIFAR_ARCHIVES, name, patched)
        return batches, source

    return serve


def _expected(batches, members, label_key):
    images = np.concatenate(
        [b[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) for b in (batches[m] for m in members)]
    )
    labels = np.concatenate([batches[m][label_key] for m in members])
    return images, labels


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_download_parse_and_cache(served, tmp_path, name):
    batches, _ = served(name)
    spec = cifar.CIFAR_ARCHIVES[name]
    data_dir = tmp_path / "data"
    dataset = load_dataset(name, data_dir)
    train_images, train_labels = _expected(batches, spec.train_files, spec.label_key)
    test_images, test_labels = _expected(batches, spec.test_files, spec.label_key)
    assert dataset.train_images.shape == (len(spec.train_files) * PER_BATCH, 32, 32, 3)
    np.testing.assert_array_equal(dataset.train_images, train_images)
    np.testing.assert_array_equal(dataset.train_labels, train_labels)
    np.testing.assert_array_equal(dataset.test_images, test_images)
    np.testing.assert_array_equal(dataset.test_labels, test_labels)
    # Row 0 of the flat batch is the red plane: pixel (0, 1) red is byte 1, green is byte 1024.
    first = batches[spec.train_files[0]][b"data"][0]
    assert (
        dataset.train_images[0, 0, 1, 0] == first[1] and dataset.train_images[0, 0, 1, 1] == first[1024 + 1]
    )
    assert dataset.num_classes == spec.num_classes
    # Nothing but the archive and the cache remain: no temporary files or extracted folders.
    assert sorted(p.name for p in data_dir.iterdir()) == sorted([spec.filename, f"{name}.v1.npz"])


def test_the_cache_is_used_once_built(served, tmp_path):
    served("cifar10")
    data_dir = tmp_path / "data"
    first = load_dataset("cifar10", data_dir)
    (data_dir / "cifar-10-python.tar.gz").unlink()
    again = load_dataset("cifar10", data_dir)  # no archive, no download: the cache answers
    np.testing.assert_array_equal(first.train_images, again.train_images)


def test_data_dir_defaults_to_hotlap_data(served, tmp_path, monkeypatch):
    served("cifar10")
    monkeypatch.setenv("HOTLAP_DATA", str(tmp_path / "env-data"))
    load_dataset("cifar10")
    assert (tmp_path / "env-data" / "cifar10.v1.npz").exists()


def test_checksum_mismatch_is_refused_and_nothing_is_kept(served, tmp_path):
    served("cifar10", md5="0" * 32)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", data_dir)
    message = str(info.value)
    assert "checksum mismatch" in message and "by hand" in message
    assert str(data_dir / "cifar-10-python.tar.gz") in message
    assert list(data_dir.iterdir()) == []


def test_a_truncated_archive_put_by_hand_is_refused(served, tmp_path):
    _, source = served("cifar10")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / source.name).write_bytes(source.read_bytes()[:200])
    with pytest.raises(DataError, match="damaged or truncated: delete it"):
        load_dataset("cifar10", data_dir)
    assert not (data_dir / "cifar10.v1.npz").exists()


def test_offline_says_where_to_put_the_archive(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "cifar-10-python.tar.gz"
    patched = dataclasses.replace(cifar.CIFAR_ARCHIVES["cifar10"], url=missing.as_uri())
    monkeypatch.setitem(cifar.CIFAR_ARCHIVES, "cifar10", patched)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", data_dir)
    assert "could not download" in str(info.value)
    assert f"put it at {data_dir / 'cifar-10-python.tar.gz'}" in str(info.value)
    assert list(data_dir.iterdir()) == []


def test_extraction_refuses_members_that_escape_the_folder(served, tmp_path):
    served("cifar10", extra_member="../escaped.txt")
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match="not a valid CIFAR archive"):
        load_dataset("cifar10", data_dir)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (data_dir / "escaped.txt").exists()
    assert not (data_dir / "cifar10.v1.npz").exists()


def test_batches_may_not_carry_code(tmp_path, monkeypatch):
    spec = cifar.CIFAR_ARCHIVES["cifar10"]
    source = tmp_path / spec.filename
    with tarfile.open(source, "w:gz") as tar:
        evil = pickle.dumps({b"data": __import__("os").system}, protocol=2)  # a global that is not data
        for member in spec.train_files + spec.test_files:
            _add(tar, f"{spec.folder}/{member}", evil)
    patched = dataclasses.replace(spec, url=source.as_uri(), md5=hashlib.md5(source.read_bytes()).hexdigest())
    monkeypatch.setitem(cifar.CIFAR_ARCHIVES, "cifar10", patched)
    with pytest.raises(DataError, match="unexpected object"):
        load_dataset("cifar10", tmp_path / "data")


def test_the_official_checksums_are_the_published_ones():
    assert cifar.CIFAR_ARCHIVES["cifar10"].md5 == "c58f30108f718f92721af3b95e74349a"
    assert cifar.CIFAR_ARCHIVES["cifar100"].md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert cifar.CIFAR_ARCHIVES["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _arrays(n=4, *, labels=None, images=None):
    return {
        "version": np.int64(1),
        "train_images": images if images is not None else np.zeros((n, 32, 32, 3), np.uint8),
        "train_labels": labels if labels is not None else np.zeros(n, np.int64),
        "test_images": np.zeros((n, 32, 32, 3), np.uint8),
        "test_labels": np.zeros(n, np.int64),
    }


BAD_CACHES = {
    "junk": b"PK\x03\x04 this is no zip archive",
    "labels-out-of-range": _arrays(labels=np.full(4, 10, np.int64)),
    "negative-labels": _arrays(labels=np.full(4, -1, np.int64)),
    "wrong-image-shape": _arrays(images=np.zeros((4, 28, 28, 1), np.uint8)),
    "float-images": _arrays(images=np.zeros((4, 32, 32, 3), np.float32)),
    "fewer-labels": _arrays(labels=np.zeros(3, np.int64)),
    "empty": _arrays(n=0),
    "missing-array": {"train_images": np.zeros((4, 32, 32, 3), np.uint8)},
}


def _write_cache(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with path.open("wb") as out:
            np.savez(out, **content)


@pytest.mark.parametrize("case", sorted(BAD_CACHES))
def test_a_bad_cache_without_its_archive_is_one_error_naming_it(tmp_path, case):
    cache = tmp_path / "data" / "cifar10.v1.npz"
    _write_cache(cache, BAD_CACHES[case])
    with pytest.raises(DataError, match="not a valid cache") as caught:
        load_dataset("cifar10", tmp_path / "data")
    assert str(cache) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("case", ["junk", "labels-out-of-range", "empty"])
def test_a_bad_cache_is_rebuilt_from_the_archive_beside_it(served, tmp_path, capsys, case):
    served("cifar10")
    data_dir = tmp_path / "data"
    good = load_dataset("cifar10", data_dir)  # downloads the archive and builds the cache
    _write_cache(data_dir / "cifar10.v1.npz", BAD_CACHES[case])
    rebuilt = load_dataset("cifar10", data_dir)
    np.testing.assert_array_equal(rebuilt.train_images, good.train_images)
    np.testing.assert_array_equal(rebuilt.test_labels, good.test_labels)
    assert "rebuilding it from" in capsys.readouterr().err
    assert sorted(p.name for p in data_dir.iterdir()) == [
        "cifar-10-python.tar.gz",
        "cifar10.v1.npz",
    ]


def test_a_data_dir_that_is_a_file_is_one_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        load_dataset("cifar10", tmp_path / "file")


def test_the_digits_are_built_once_then_read_from_their_cache(tmp_path, monkeypatch):
    """scikit-learn builds the digits once (its import alone takes seconds in every process that
    trains on them); later loads read the cached arrays, the same to the last pixel; a damaged
    cache is built again."""
    from hotlap.data import digits as module

    first = load_dataset("digits", tmp_path)
    assert (tmp_path / module.CACHE).is_file()
    with monkeypatch.context() as patched:
        patched.setattr(module, "_built", lambda: pytest.fail("built again"))
        again = load_dataset("digits", tmp_path)
    for name in module.ARRAYS:
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert (first.mean, first.std, first.num_classes) == (again.mean, again.std, again.num_classes)
    (tmp_path / module.CACHE).write_bytes(b"PK\x03\x04 not a zip")
    rebuilt = load_dataset("digits", tmp_path)
    assert np.array_equal(rebuilt.test_labels, first.test_labels)
    assert module._cached(tmp_path / module.CACHE) is not None  # written again, whole
