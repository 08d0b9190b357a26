"""The embedded scikit-learn digits dataset."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbalance.data import load_dataset


def test_all_split_matches_scaled_sklearn_digits(tiny_images):
    data = load_dataset("digits", "all")
    digits = load_digits()
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == np.uint8
    assert data.images.max() == 255 and data.images.min() == 0
    np.testing.assert_array_equal(data.images[:, 0], np.rint(digits.images * 255 / 16))
    np.testing.assert_array_equal(data.labels, digits.target)
    assert data.class_names == tuple("0123456789")
    # the same scaling as the shared tiny_images fixture
    X, _ = tiny_images
    np.testing.assert_array_equal(X[0], data.images[np.flatnonzero(data.labels == 0)[0]])


def test_fixed_stratified_train_test_split():
    train = load_dataset("digits")
    test = load_dataset("digits", split="test")
    assert (len(train), len(test)) == (1347, 450)
    np.testing.assert_array_equal(train.labels, load_dataset("digits").labels)  # fixed
    # stratified: each class's share differs by less than one image between splits
    share_train = train.class_counts() / len(train)
    share_test = test.class_counts() / len(test)
    assert np.abs(share_train - share_test).max() < 1 / len(test) + 1e-9
    # together exactly the whole set (as a multiset of image+label rows)
    everything = load_dataset("digits", "all")

    def rows(d):
        flat = np.concatenate([d.images.reshape(len(d), -1), d.labels[:, None]], axis=1)
        return flat[np.lexsort(flat.T[::-1])]

    joined = np.concatenate([rows(train), rows(test)])
    np.testing.assert_array_equal(joined[np.lexsort(joined.T[::-1])], rows(everything))


def test_rejects_data_dir_and_bad_split(tmp_path):
    with pytest.raises(ValueError, match="embedded.*data_dir=None"):
        load_dataset("digits", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split='valid'.*'all'"):
        load_dataset("digits", split="valid")
