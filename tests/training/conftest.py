"""Digits 8x8 train/test ImageSets for the training tests."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbalance.data.imageset import ImageSet


def digits_sets(train_counts=(30, 12, 7), n_test=20):
    """Imbalanced training set (first rows of classes 0..K-1) and a balanced, disjoint test set."""
    digits = load_digits()
    X = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = digits.target.astype(np.int64)
    names = tuple(str(c) for c in range(len(train_counts)))
    train = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate(train_counts)])
    test = np.concatenate([np.flatnonzero(y == c)[-n_test:] for c in range(len(train_counts))])
    return ImageSet(X[train], y[train], names, "digits"), ImageSet(
        X[test], y[test], names, "digits"
    )


@pytest.fixture
def digits():
    return digits_sets()
