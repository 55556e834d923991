"""CIFAR-10 and CIFAR-100: download, verify, extract safely, convert once, cache.

The official "python version" archives hold pickled batches. They are fetched once into the data
directory, checked against the MD5 sums published on the CIFAR page, extracted with tarfile's
`data` filter (no absolute paths, no links out of the tree), and converted to one `.npz` of uint8
arrays. Every file lands under a temporary name first and is renamed into place, so an
interrupted download or conversion never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from hotlap.data.base import Dataset, register_dataset
from hotlap.errors import DataError
from hotlap.io import FILE_MODE, atomic_write

__all__ = ["CIFAR_ARCHIVES", "CifarArchive", "download_archive", "load_cifar"]

# Per-channel statistics of the CIFAR-10 training set, as the reference recipe uses them.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
# Per-channel statistics of the CIFAR-100 training set.
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)


@dataclass(frozen=True)
class CifarArchive:
    """Where an official archive lives and what is inside it."""

    name: str
    url: str
    md5: str
    folder: str  # top-level folder inside the archive
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


CIFAR_ARCHIVES: dict[str, CifarArchive] = {
    "cifar10": CifarArchive(
        name="cifar10",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        folder="cifar-10-batches-py",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_files=("test_batch",),
        label_key=b"labels",
        num_classes=10,
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD,
    ),
    "cifar100": CifarArchive(
        name="cifar100",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
        folder="cifar-100-python",
        train_files=("train",),
        test_files=("test",),
        label_key=b"fine_labels",
        num_classes=100,
        mean=CIFAR100_MEAN,
        std=CIFAR100_STD,
    ),
}

CACHE_VERSION = 1  # bump when the cached array layout changes


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _by_hand(archive: CifarArchive, path: Path) -> str:
    return f"download {archive.url} by hand and put it at {path}"


def download_archive(archive: CifarArchive, data_dir: Path, *, timeout: float = 60.0) -> Path:
    """Return the path of the verified archive in `data_dir`, downloading it if it is missing.

    A download is verified before it is renamed into place, so a damaged one never stays behind.
    """
    path = data_dir / archive.filename
    if path.exists():
        _verify(archive, path, path)
        return path
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{archive.filename}.", dir=data_dir)
    except OSError as exc:
        raise DataError(
            f"{archive.name}: cannot write to the data directory {data_dir} ({exc.strerror or exc}); "
            "give a writable --data-dir (or HOTLAP_DATA)"
        ) from None
    os.fchmod(fd, FILE_MODE)  # the archive gets the umask's permissions, not mkstemp's 0600
    tmp = Path(tmp_name)
    try:
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(archive.url, timeout=timeout) as response,
            ):
                _copy_with_progress(response, out, archive.filename)
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc.__class__.__name__
            raise DataError(
                f"{archive.name}: could not download ({reason}); {_by_hand(archive, path)}"
            ) from None
        _verify(archive, tmp, path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _verify(archive: CifarArchive, actual_path: Path, final_path: Path) -> None:
    actual = _md5(actual_path)
    if actual != archive.md5:
        what = "the file" if actual_path == final_path else "the download"
        remedy = "delete it, then " if actual_path == final_path else ""
        raise DataError(
            f"{archive.name}: checksum mismatch for {final_path} (md5 {actual}, expected "
            f"{archive.md5}); {what} is damaged or truncated: {remedy}{_by_hand(archive, final_path)}"
        )


def _copy_with_progress(response, out, label: str) -> None:  # type: ignore[no-untyped-def]
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    total = int(response.headers.get("Content-Length") or 0) or None
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(label, total=total)
        for chunk in iter(lambda: response.read(1 << 20), b""):
            out.write(chunk)
            progress.advance(task, len(chunk))


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches only: dicts, lists, bytes and numpy arrays, nothing executable."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol 2; a pure function
    }

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")


def _read_batches(root: Path, files: tuple[str, ...], label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in files:
        with (root / name).open("rb") as handle:
            batch = _BatchUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(f"{name}: data has shape {data.shape}, expected (N, 3072)")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def _convert(archive: CifarArchive, archive_path: Path, cache_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f".{archive.name}-extract-", dir=cache_path.parent) as tmp:
        try:
            with tarfile.open(archive_path, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
            root = Path(tmp) / archive.folder
            train = _read_batches(root, archive.train_files, archive.label_key)
            test = _read_batches(root, archive.test_files, archive.label_key)
        except (
            tarfile.TarError,
            EOFError,
            OSError,
            KeyError,
            ValueError,
            pickle.UnpicklingError,
        ) as exc:
            raise DataError(
                f"{archive.name}: {archive_path} is not a valid CIFAR archive ({exc}); "
                f"delete it, then {_by_hand(archive, archive_path)}"
            ) from None
        for split, (_, labels) in (("train", train), ("test", test)):
            if labels.min() < 0 or labels.max() >= archive.num_classes:
                raise DataError(f"{archive.name}: {split} labels outside 0..{archive.num_classes - 1}")
        arrays = {
            "version": np.int64(CACHE_VERSION),
            "train_images": train[0],
            "train_labels": train[1],
            "test_images": test[0],
            "test_labels": test[1],
        }
        atomic_write(cache_path, lambda out: np.savez(out, **arrays))


def load_cifar(name: str, data_dir: Path) -> Dataset:
    """Load CIFAR-10 or CIFAR-100 from the cache, building the cache on first use.

    A cache that does not hold what the conversion writes (a junk file, missing or empty arrays,
    wrong shapes or dtypes, labels out of range) is rebuilt from the archive where the archive is
    there, and is otherwise a one-line error: a bad cache never reaches a training run.
    """
    archive = CIFAR_ARCHIVES[name]
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"{name}: the data directory {data_dir} is a file, not a folder")
    cache_path = data_dir / f"{name}.v{CACHE_VERSION}.npz"
    if not cache_path.exists():
        _convert(archive, download_archive(archive, data_dir), cache_path)
    try:
        fields = read_cache(archive, cache_path)
    except DataError as exc:
        archive_path = data_dir / archive.filename
        if not archive_path.is_file():
            raise DataError(f"{exc}; delete it to rebuild it from a fresh download") from None
        print(f"hotlap: {exc}; rebuilding it from {archive_path}", file=sys.stderr)
        _convert(archive, download_archive(archive, data_dir), cache_path)
        fields = read_cache(archive, cache_path)
    return Dataset(
        name=name,
        num_classes=archive.num_classes,
        mean=archive.mean,
        std=archive.std,
        **fields,
    )


def read_cache(archive: CifarArchive, cache_path: Path) -> dict[str, np.ndarray]:
    """The four arrays of a cache file, each checked against what `_convert` writes."""
    bad = f"{archive.name}: the cache {cache_path} is not a valid cache"
    try:
        with cache_path.open("rb") as handle, np.load(handle, allow_pickle=False) as arrays:
            if "version" in arrays.files and int(arrays["version"]) != CACHE_VERSION:
                raise DataError(f"{bad} (version {int(arrays['version'])}, expected {CACHE_VERSION})")
            fields = {
                key: arrays[key] for key in ("train_images", "train_labels", "test_images", "test_labels")
            }
    except DataError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        reason = f"no array {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise DataError(f"{bad} ({reason})") from None
    for split in ("train", "test"):
        images, labels = fields[f"{split}_images"], fields[f"{split}_labels"]
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
            raise DataError(
                f"{bad} ({split} images {images.dtype} {images.shape}, expected uint8 (N, 32, 32, 3))"
            )
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
            raise DataError(f"{bad} ({split} labels {labels.dtype} {labels.shape} for {len(images)} images)")
        if not len(labels):
            raise DataError(f"{bad} (no {split} images)")
        if labels.min() < 0 or labels.max() >= archive.num_classes:
            raise DataError(f"{bad} ({split} labels outside 0..{archive.num_classes - 1})")
    return fields


@register_dataset(
    "cifar10",
    train_size=50_000,
    test_size=10_000,
    num_classes=10,
    summary="CIFAR-10, downloaded once from the official site (170 MB)",
)
def cifar10(data_dir: Path) -> Dataset:
    return load_cifar("cifar10", data_dir)


@register_dataset(
    "cifar100",
    train_size=50_000,
    test_size=10_000,
    num_classes=100,
    summary="CIFAR-100 (fine labels), downloaded once from the official site (161 MB)",
)
def cifar100(data_dir: Path) -> Dataset:
    return load_cifar("cifar100", data_dir)
