"""Shared, seeded fixtures: tiny images so the whole suite runs in minutes on 2 cores."""

import os

# Tiny test models run fastest on one thread, and idle OpenMP threads must not spin: set
# before torch is first imported (test modules import it after this file).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def one_thread():
    """Torch on one thread during the test: tiny networks run fastest so, and test workers
    share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_images():
    """Imbalanced (N, 1, 8, 8) uint8 images from scikit-learn's digits: classes 0/1/2 at 30/12/7."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = digits.target
    rows = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in [(0, 30), (1, 12), (2, 7)]])
    return X[rows], y[rows].astype(np.int64)
