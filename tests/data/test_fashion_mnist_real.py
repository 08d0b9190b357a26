"""The real Fashion-MNIST files from Debian's dataset-fashion-mnist package."""

from pathlib import Path

import numpy as np
import pytest

from deepbalance.data import list_datasets, load_dataset

DEBIAN = Path("/usr/share/datasets/fashion-mnist")

pytestmark = [
    pytest.mark.fmnist,
    pytest.mark.skipif(not DEBIAN.is_dir(), reason="needs: apt-get install dataset-fashion-mnist"),
    pytest.mark.usefixtures("data_env"),
]


def test_real_fashion_mnist():
    train = load_dataset("fashion-mnist", split="train")
    test = load_dataset("fashion-mnist", split="test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.class_counts().tolist() == [6000] * 10
    assert test.class_counts().tolist() == [1000] * 10
    assert train.class_names[0] == "T-shirt/top" and train.class_names[-1] == "Ankle boot"
    assert str(DEBIAN) in train.source
    # real clothing images: dark background corners, a bright object in the middle
    assert train.images[:, 0, 0, 0].mean() < 5 and train.images[:, 0, 14, 14].mean() > 100
    assert train.labels[:5].tolist() == [9, 0, 0, 3, 0]  # the published first labels
    info = {i.name: i for i in list_datasets()}["fashion-mnist"]
    assert info.n_images == {"train": 60000, "test": 10000} and info.location == str(DEBIAN)
