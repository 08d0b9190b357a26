"""SVHN loader on tiny .mat files written with scipy.io.savemat."""

import numpy as np
import pytest
import scipy.io

from deepbalance.data import DatasetNotFoundError, list_datasets, load_dataset

pytestmark = pytest.mark.usefixtures("data_env")


def write_mat(path, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).astype(np.uint8)[:, None]  # digit 0 is stored as 10
    scipy.io.savemat(path, {"X": X, "y": y})
    return X, y


def test_loads_train_with_label_ten_mapped_to_zero(tmp_path):
    X, y = write_mat(tmp_path / "train_32x32.mat", 12)
    data = load_dataset("svhn", data_dir=tmp_path)
    assert data.images.shape == (12, 3, 32, 32) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, y[:, 0] % 10)
    assert data.labels[9] == 0 and data.labels[0] == 1
    # pixel (row 3, col 5) of image 4, green channel
    assert data.images[4, 1, 3, 5] == X[3, 5, 1, 4]
    assert data.images.flags.c_contiguous
    assert data.class_names == tuple("0123456789")


def test_extra_split_and_missing_split_message(tmp_path):
    write_mat(tmp_path / "extra_32x32.mat", 3)
    assert len(load_dataset("svhn", "extra", data_dir=tmp_path)) == 3
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("svhn", "test", data_dir=tmp_path)
    assert "test_32x32.mat" in str(err.value) and "download=True" in str(err.value)
    with pytest.raises(ValueError, match="split='all'"):
        load_dataset("svhn", "all", data_dir=tmp_path)


def test_corrupt_and_malformed_files(tmp_path):
    (tmp_path / "train_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 50)
    with pytest.raises(ValueError, match="train_32x32.mat"):
        load_dataset("svhn", data_dir=tmp_path)

    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8)})
    with pytest.raises(ValueError, match="lacks the variables"):
        load_dataset("svhn", "test", data_dir=tmp_path)

    scipy.io.savemat(
        tmp_path / "test_32x32.mat",
        {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[1], [2], [3]])},
    )
    with pytest.raises(ValueError, match="2 images but 'y' 3 labels"):
        load_dataset("svhn", "test", data_dir=tmp_path)


def test_list_datasets_counts_from_headers(tmp_path):
    write_mat(tmp_path / "train_32x32.mat", 5)
    write_mat(tmp_path / "test_32x32.mat", 2)
    info = {i.name: i for i in list_datasets(data_dir=tmp_path)}["svhn"]
    assert info.available and info.location == str(tmp_path)
    assert info.n_images == {"train": 5, "test": 2}
