"""MNIST and Fashion-MNIST from IDX files (gzipped or not).

IDX layout (big-endian): two zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions, one uint32 per dimension, then the data. No library reads this format without
pulling in a framework, so the few lines below do it: the data is read straight into a numpy
array in chunks (no per-pixel Python, at most one copy in memory).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .download import Remote, fetch
from .imageset import ImageSet
from .locations import download_dir, not_found, search_dirs
from .registry import register_dataset

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))

_UBYTE = 0x08
_CHUNK = 1 << 22
_PREFIX = {"train": "train", "test": "t10k"}
_NDIM = {"images": 3, "labels": 1}

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
REMOTES = {
    name: {
        fname: Remote(fname, md5, tuple(m + fname for m in mirrors))
        for fname, md5 in _MD5[name].items()
    }
    for name, mirrors in (("mnist", _MNIST_MIRRORS), ("fashion-mnist", _FASHION_MIRRORS))
}
_SYSTEM_DIRS = {"fashion-mnist": ("/usr/share/datasets/fashion-mnist",), "mnist": ()}
# torchvision's layout, so an existing torchvision download is found too
_TORCHVISION_SUBDIR = {"fashion-mnist": "FashionMNIST/raw", "mnist": "MNIST/raw"}


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _read(stream, n: int) -> bytes:
    data = stream.read(n)
    return data if data is not None else b""


def _header(stream, path: Path, ndim: int) -> tuple[int, ...]:
    magic = _read(stream, 4)
    fix = "re-download it (download=True) or replace it with an intact copy"
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise ValueError(f"{path} is not an IDX file (magic bytes {magic.hex() or 'none'}); {fix}")
    if magic[2] != _UBYTE:
        raise ValueError(
            f"{path} holds IDX type 0x{magic[2]:02x}; only unsigned bytes (0x08) are supported"
        )
    if magic[3] != ndim:
        raise ValueError(f"{path} has {magic[3]} dimensions where {ndim} were expected; {fix}")
    raw = _read(stream, 4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"{path} is truncated inside its header; {fix}")
    return struct.unpack(f">{ndim}I", raw)


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzipped or raw) with ``ndim`` dimensions.

    Raises
    ------
    ValueError
        Naming the file when it is not IDX, has other dimensions, is truncated, has trailing
        bytes or is a broken gzip stream.
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            dims = _header(stream, path, ndim)
            size = math.prod(dims)
            # a damaged header must not make us allocate gigabytes: deflate cannot expand
            # data more than ~1032-fold, a raw file holds what its size says
            stored = path.stat().st_size
            if size > (1032 * stored if isinstance(stream, gzip.GzipFile) else stored):
                raise ValueError(
                    f"{path} is truncated or its header is damaged: it announces shape {dims} "
                    f"({size} bytes) but the file has {stored} bytes; re-download it "
                    "(download=True)"
                )
            out = np.empty(size, dtype=np.uint8)
            view, got = memoryview(out), 0
            while got < out.size:
                n = stream.readinto(view[got : got + _CHUNK])
                if not n:
                    break
                got += n
            if got < out.size:
                raise ValueError(
                    f"{path} is truncated: its header announces shape {dims} ({out.size} bytes) "
                    f"but only {got} bytes follow; re-download it (download=True)"
                )
            if _read(stream, 1):
                raise ValueError(
                    f"{path} has bytes beyond the shape {dims} its header announces; "
                    "re-download it (download=True)"
                )
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{path} is a corrupt or truncated gzip file ({exc}); re-download it (download=True)"
        ) from None
    return out.reshape(dims)


def read_idx_shape(path: str | Path, ndim: int) -> tuple[int, ...]:
    """The shape an IDX file's header announces (reads only the header)."""
    path = Path(path)
    try:
        with _open(path) as stream:
            return _header(stream, path, ndim)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is a corrupt gzip file ({exc})") from None


def _find_file(folder: Path, split: str, kind: str) -> Path | None:
    stem = f"{_PREFIX[split]}-{kind}"
    d = _NDIM[kind]
    # the uncompressed file first: it is read without a decompression pass
    for name in (f"{stem}-idx{d}-ubyte", f"{stem}.idx{d}-ubyte"):
        for suffix in ("", ".gz"):
            if (folder / (name + suffix)).is_file():
                return folder / (name + suffix)
    return None


def _candidate_folders(name: str, data_dir: Path | None) -> list[Path]:
    folders = []
    for d in search_dirs(name, data_dir, _SYSTEM_DIRS[name]):
        folders += [d, d / _TORCHVISION_SUBDIR[name]]
    return folders


def _locate(name: str, split: str, data_dir: Path | None) -> tuple[Path, Path] | None:
    for folder in _candidate_folders(name, data_dir):
        images, labels = _find_file(folder, split, "images"), _find_file(folder, split, "labels")
        if images is not None and labels is not None:
            return images, labels
    return None


def _how_to_get(name: str) -> list[str]:
    how = []
    if name == "fashion-mnist":
        how.append("on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist")
    how.append(f"load_dataset({name!r}, download=True) fetches them from the official mirror")
    return how


def _read_idx_dataset(name: str, split: str, data_dir: Path | None, download: bool) -> ImageSet:
    found = _locate(name, split, data_dir)
    if found is None and download:
        target = download_dir(name, data_dir)
        for kind in ("images", "labels"):
            fname = f"{_PREFIX[split]}-{kind}-idx{_NDIM[kind]}-ubyte.gz"
            fetch(REMOTES[name][fname], target)
        found = _locate(name, split, target)
    if found is None:
        p = _PREFIX[split]
        raise not_found(
            name,
            f"{p}-images-idx3-ubyte[.gz] and {p}-labels-idx1-ubyte[.gz]",
            _candidate_folders(name, data_dir),
            _how_to_get(name),
        )
    images_path, labels_path = found
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} "
            "labels; the two files belong to different downloads — replace both"
        )
    if labels.size and labels.max() >= 10:
        raise ValueError(f"{labels_path} holds label {labels.max()}; expected labels 0..9")
    classes = FASHION_MNIST_CLASSES if name == "fashion-mnist" else MNIST_CLASSES
    return ImageSet(
        images[:, None],
        labels.astype(np.int64),
        classes,
        source=f"{name} ({split}) from {images_path}",
        meta={"dataset": name, "split": split, "files": [str(images_path), str(labels_path)]},
    )


def _probe(name: str, data_dir: Path | None):
    counts, location = {}, None
    for split in ("train", "test"):
        found = _locate(name, split, data_dir)
        if found is not None:
            counts[split] = read_idx_shape(found[0], 3)[0]
            location = location or str(found[0].parent)
    return (location, counts) if counts else None


@register_dataset(
    "fashion-mnist",
    description="Fashion-MNIST: 70,000 28x28 grayscale clothing images, 10 classes (IDX files)",
    splits=("train", "test"),
    probe=lambda data_dir: _probe("fashion-mnist", data_dir),
)
def load_fashion_mnist(split: str, *, data_dir=None, download=False) -> ImageSet:
    """Fashion-MNIST, shape ``(N, 1, 28, 28)``: 60,000 train / 10,000 test images."""
    return _read_idx_dataset("fashion-mnist", split, data_dir, download)


@register_dataset(
    "mnist",
    description="MNIST: 70,000 28x28 grayscale handwritten digits, 10 classes (IDX files)",
    splits=("train", "test"),
    probe=lambda data_dir: _probe("mnist", data_dir),
)
def load_mnist(split: str, *, data_dir=None, download=False) -> ImageSet:
    """MNIST, shape ``(N, 1, 28, 28)``: 60,000 train / 10,000 test images."""
    return _read_idx_dataset("mnist", split, data_dir, download)
