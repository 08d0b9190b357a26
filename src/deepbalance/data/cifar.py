"""CIFAR-10 from the official python pickle batches (``cifar-10-batches-py/``).

The batches are pickles (that is the published format). They are read with an Unpickler that
only resolves the handful of numpy functions needed to rebuild arrays, so a tampered file cannot
run code.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from .._checks import atomic_write_bytes
from .download import Remote, fetch
from .imageset import ImageSet
from .locations import download_dir, not_found, search_dirs
from .registry import register_dataset

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
META = "batches.meta"
REMOTE = Remote(
    "cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
)


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:  # numpy >= 1.26 / 2.x
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - older numpy
        from numpy.core import multiarray, numeric
    import codecs

    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        if hasattr(numeric, "_frombuffer"):
            allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    # pickles written by Python 3 with protocol <= 2 store bytes as codecs.encode(str, "latin1")
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


class _ArrayUnpickler(pickle.Unpickler):
    """Resolves only numpy's array-rebuilding functions; anything else is refused."""

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: CIFAR batches hold only arrays, lists and bytes"
            ) from None


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
    ) as exc:
        raise ValueError(
            f"{path} is not a readable CIFAR pickle batch ({exc}); re-download the dataset "
            "(download=True)"
        ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a CIFAR batch dict")
    # Python 2 pickles decode keys as bytes; normalise to str
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 of one CIFAR-10 batch."""
    path = Path(path)
    batch = _unpickle(path)
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path} lacks the 'data' or 'labels' entry of a CIFAR-10 batch")
    data, labels = batch["data"], np.asarray(batch["labels"])
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"{path}: 'data' should be an (n, 3072) array, got {shape}")
    if data.dtype != np.uint8:
        raise ValueError(f"{path}: 'data' has dtype {data.dtype}, expected uint8")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: {len(data)} images but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels span {labels.min()}..{labels.max()}, expected 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _class_names(folder: Path) -> tuple[str, ...]:
    if not (folder / META).is_file():
        return CIFAR10_CLASSES
    names = _unpickle(folder / META).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"{folder / META}: 'label_names' should list 10 class names")
    return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)


def _candidate_folders(data_dir: Path | None) -> list[Path]:
    folders = []
    for d in search_dirs("cifar10", data_dir):
        folders += [d / FOLDER, d]
    return folders


def _locate(split: str, data_dir: Path | None) -> Path | None:
    for folder in _candidate_folders(data_dir):
        if all((folder / b).is_file() for b in BATCHES[split]):
            return folder
    return None


def _download(target: Path) -> None:
    archive = fetch(REMOTE, target)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # only the known members are read, by name: no path in the archive is trusted
            for name in (*BATCHES["train"], *BATCHES["test"], META):
                member = tar.extractfile(f"{FOLDER}/{name}")
                if member is None:
                    raise ValueError(f"{archive} has no regular file {FOLDER}/{name}")
                atomic_write_bytes(target / FOLDER / name, member.read())
    except (tarfile.TarError, KeyError, EOFError, OSError) as exc:
        raise ValueError(f"{archive} is not a complete CIFAR-10 archive ({exc})") from None
    archive.unlink()


@register_dataset(
    "cifar10",
    description="CIFAR-10: 60,000 32x32 colour images, 10 classes (python pickle batches)",
    splits=("train", "test"),
    probe=lambda data_dir: _probe(data_dir),
)
def load_cifar10(split: str, *, data_dir=None, download=False) -> ImageSet:
    """CIFAR-10, shape ``(N, 3, 32, 32)``: 50,000 train / 10,000 test images."""
    folder = _locate(split, data_dir)
    if folder is None and download:
        target = download_dir("cifar10", data_dir)
        _download(target)
        folder = _locate(split, target)
    if folder is None:
        raise not_found(
            "cifar10",
            f"{FOLDER}/ with {', '.join(BATCHES[split])}",
            _candidate_folders(data_dir),
            [
                "load_dataset('cifar10', download=True) fetches cifar-10-python.tar.gz "
                "(163 MB) from www.cs.toronto.edu",
                f"or download it by hand and extract it: tar xzf cifar-10-python.tar.gz "
                f"(creates {FOLDER}/)",
            ],
        )
    parts = [read_cifar_batch(folder / b) for b in BATCHES[split]]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts])
    return ImageSet(
        np.ascontiguousarray(images),
        labels,
        _class_names(folder),
        source=f"cifar10 ({split}) from {folder}",
        meta={
            "dataset": "cifar10",
            "split": split,
            "files": [str(folder / b) for b in BATCHES[split]],
        },
    )


def _probe(data_dir: Path | None):
    counts, location = {}, None
    for split in ("train", "test"):
        folder = _locate(split, data_dir)
        if folder is not None:
            # the batch pickles carry no header: count the labels, one batch in memory at a time
            counts[split] = sum(len(read_cifar_batch(folder / b)[1]) for b in BATCHES[split])
            location = location or str(folder)
    return (location, counts) if counts else None
