"""scikit-learn's embedded 8x8 handwritten digits: the dataset that needs no files.

Pixels (0..16) are scaled to uint8 as ``round(x * 255 / 16)``. Splits: ``"all"`` (1,797
images) and a fixed stratified 75/25 split, ``train_test_split(test_size=0.25,
stratify=y, random_state=0)``: 1,347 ``"train"`` / 450 ``"test"`` images, each kept in the
original order.
"""

from __future__ import annotations

import numpy as np

from .imageset import ImageSet
from .registry import register_dataset

DIGITS_CLASSES = tuple(str(d) for d in range(10))
SPLITS = ("train", "test", "all")
SPLIT_SEED = 0
TEST_FRACTION = 0.25


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return images, digits.target.astype(np.int64)


def _split_rows(labels: np.ndarray, split: str) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    if split == "all":
        return rows
    train, test = train_test_split(
        rows, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    return np.sort(train if split == "train" else test)


@register_dataset(
    "digits",
    description="scikit-learn digits: 1,797 8x8 grayscale digits, 10 classes (embedded)",
    splits=SPLITS,
    probe=lambda data_dir: _probe(),
)
def load_digits_images(split: str, *, data_dir=None, download=False) -> ImageSet:
    """scikit-learn's digits, shape ``(N, 1, 8, 8)``; train/test is a fixed stratified 75/25."""
    if data_dir is not None:
        raise ValueError(
            "digits is embedded in scikit-learn and reads no files; pass data_dir=None"
        )
    images, labels = _digits()
    rows = _split_rows(labels, split)
    return ImageSet(
        images[rows],
        labels[rows],
        DIGITS_CLASSES,
        source=f"digits ({split}) from sklearn.datasets.load_digits",
        meta={"dataset": "digits", "split": split},
    )


def _probe():
    _, labels = _digits()
    counts = {s: len(_split_rows(labels, s)) for s in SPLITS}
    return "sklearn.datasets.load_digits (embedded)", counts
