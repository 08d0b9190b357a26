"""SVHN (cropped digits) from the official MATLAB files ``{train,test,extra}_32x32.mat``.

Each file holds ``X`` of shape ``(32, 32, 3, N)`` and ``y`` of shape ``(N, 1)`` where the digit 0
is stored as label 10; read with ``scipy.io.loadmat``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .download import Remote, fetch
from .imageset import ImageSet
from .locations import download_dir, not_found, search_dirs
from .registry import register_dataset

SVHN_CLASSES = tuple(str(d) for d in range(10))
SPLITS = ("train", "test", "extra")
_MD5 = {
    "train": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test": "eb5a983be6a315427106f1b164d9cef3",
    "extra": "a93ce644f1a588dc4d68dda5feec44a7",
}
REMOTES = {
    split: Remote(
        f"{split}_32x32.mat", md5, (f"http://ufldl.stanford.edu/housenumbers/{split}_32x32.mat",)
    )
    for split, md5 in _MD5.items()
}


def _filename(split: str) -> str:
    return f"{split}_32x32.mat"


def _loadmat(path: Path, **kwargs):
    import scipy.io  # imported on use: it is slow to import and only SVHN needs it

    try:
        return scipy.io.loadmat(path, **kwargs)
    except (ValueError, TypeError, OSError, EOFError, KeyError, IndexError, MemoryError) as exc:
        raise ValueError(
            f"{path} is not a readable SVHN .mat file ({type(exc).__name__}: {exc}); "
            "re-download it (download=True)"
        ) from None


def read_svhn_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64 (label 10 mapped to 0)."""
    path = Path(path)
    mat = _loadmat(path, variable_names=["X", "y"])
    if "X" not in mat or "y" not in mat:
        raise ValueError(f"{path} lacks the variables 'X' and 'y' of an SVHN file")
    X, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if X.ndim != 4 or X.shape[2] != 3:
        raise ValueError(f"{path}: 'X' should have shape (H, W, 3, N), got {X.shape}")
    if X.shape[3] != len(y):
        raise ValueError(f"{path}: 'X' holds {X.shape[3]} images but 'y' {len(y)} labels")
    if X.dtype != np.uint8:
        if X.size and (X.min() < 0 or X.max() > 255 or not np.all(X == np.round(X))):
            raise ValueError(f"{path}: 'X' should hold 0..255 pixel values, got dtype {X.dtype}")
        X = X.astype(np.uint8)
    if y.size and not np.all(y == np.round(y)):
        raise ValueError(f"{path}: 'y' should hold integer labels 1..10")
    labels = y.astype(np.int64)
    labels[labels == 10] = 0
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels span {y.min()}..{y.max()}, expected 1..10")
    images = np.ascontiguousarray(X.transpose(3, 2, 0, 1))
    return images, labels


def _locate(split: str, data_dir: Path | None) -> Path | None:
    for d in search_dirs("svhn", data_dir):
        if (d / _filename(split)).is_file():
            return d / _filename(split)
    return None


@register_dataset(
    "svhn",
    description="SVHN: 32x32 colour house-number digits, 10 classes (.mat files)",
    splits=SPLITS,
    probe=lambda data_dir: _probe(data_dir),
)
def load_svhn(split: str, *, data_dir=None, download=False) -> ImageSet:
    """SVHN, shape ``(N, 3, 32, 32)``: 73,257 train / 26,032 test / 531,131 extra images."""
    path = _locate(split, data_dir)
    if path is None and download:
        path = fetch(REMOTES[split], download_dir("svhn", data_dir))
    if path is None:
        raise not_found(
            "svhn",
            _filename(split),
            search_dirs("svhn", data_dir),
            [
                f"load_dataset('svhn', split={split!r}, download=True) fetches it from "
                "ufldl.stanford.edu/housenumbers/",
            ],
        )
    images, labels = read_svhn_mat(path)
    return ImageSet(
        images,
        labels,
        SVHN_CLASSES,
        source=f"svhn ({split}) from {path}",
        meta={"dataset": "svhn", "split": split, "files": [str(path)]},
    )


def _probe(data_dir: Path | None):
    counts, location = {}, None
    for split in SPLITS:
        path = _locate(split, data_dir)
        if path is not None:
            import scipy.io

            try:
                shapes = {name: shape for name, shape, _ in scipy.io.whosmat(path)}
            except (ValueError, TypeError, OSError, EOFError, KeyError, IndexError) as exc:
                raise ValueError(f"{path} is not a readable .mat file ({exc})") from None
            if "y" not in shapes:
                raise ValueError(f"{path} lacks the variable 'y'")
            counts[split] = int(np.prod(shapes["y"]))
            location = location or str(path.parent)
    return (location, counts) if counts else None
