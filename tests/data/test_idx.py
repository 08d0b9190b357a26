"""MNIST / Fashion-MNIST loaders on tiny IDX files written in the true format."""

import gzip
import struct

import numpy as np
import pytest

from deepbalance.data import DatasetNotFoundError, load_dataset
from deepbalance.data.idx import FASHION_MNIST_CLASSES, read_idx, read_idx_shape

pytestmark = pytest.mark.usefixtures("data_env")


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_split(folder, prefix, images, labels, *, gz):
    folder.mkdir(parents=True, exist_ok=True)
    for kind, arr, d in (("images", images, 3), ("labels", labels, 1)):
        data = idx_bytes(arr)
        name = f"{prefix}-{kind}-idx{d}-ubyte"
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def tiny(n=12, h=5, w=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_loads_train_and_test(tmp_path, gz):
    X, y = tiny()
    Xt, yt = tiny(n=7, seed=1)
    write_split(tmp_path / "m", "train", X, y, gz=gz)
    write_split(tmp_path / "m", "t10k", Xt, yt, gz=gz)

    train = load_dataset("mnist", data_dir=tmp_path / "m")
    test = load_dataset("mnist", split="test", data_dir=str(tmp_path / "m"))

    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.images.shape == (12, 1, 5, 4) and test.images.shape == (7, 1, 5, 4)
    np.testing.assert_array_equal(train.images[:, 0], X)
    np.testing.assert_array_equal(train.labels, y)
    np.testing.assert_array_equal(test.images[:, 0], Xt)
    assert train.class_names == tuple("0123456789")
    assert "mnist (train)" in train.source and "train-images-idx3-ubyte" in train.source
    assert train.images.flags.writeable


def test_fashion_mnist_class_names_and_env_subfolder(tmp_path, monkeypatch):
    X, y = tiny()
    write_split(tmp_path / "fashion-mnist", "train", X, y, gz=True)
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path))
    data = load_dataset("fashion-mnist")
    assert data.class_names == FASHION_MNIST_CLASSES
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert str(tmp_path / "fashion-mnist") in data.source


def test_env_root_itself_and_torchvision_layout(tmp_path, monkeypatch):
    X, y = tiny()
    write_split(tmp_path / "env", "t10k", X, y, gz=False)
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist", split="test")) == 12

    write_split(tmp_path / "tv" / "MNIST" / "raw", "train", X[:3], y[:3], gz=True)
    assert len(load_dataset("mnist", data_dir=tmp_path / "tv")) == 3


def test_uncompressed_file_preferred_and_dotted_names(tmp_path):
    X, y = tiny()
    write_split(tmp_path, "train", X, y, gz=True)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(X[::-1]))
    data = load_dataset("mnist", data_dir=tmp_path)
    np.testing.assert_array_equal(data.images[:, 0], X[::-1])

    other = tmp_path / "dotted"
    other.mkdir()
    (other / "t10k-images.idx3-ubyte").write_bytes(idx_bytes(X))
    (other / "t10k-labels.idx1-ubyte").write_bytes(idx_bytes(y))
    assert len(load_dataset("mnist", "test", data_dir=other)) == 12


def test_missing_files_message_lists_searched_paths_and_remedies(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    # an explicit data_dir is the only place searched, even where Debian's copy exists
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion-mnist", data_dir=empty)
    msg = str(err.value)
    assert str(empty) in msg and str(empty / "fashion-mnist") in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "download=True" in msg and "data_dir=" in msg
    assert "train-images-idx3-ubyte" in msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, FileNotFoundError)

    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("mnist", split="test")
    msg = str(err.value)
    assert str(tmp_path / "env" / "mnist") in msg and "t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path / "xdg-cache" / "deepbalance" / "mnist") in msg
    assert "apt-get" not in msg


def test_labels_file_missing_counts_as_missing(tmp_path):
    X, _ = tiny()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(X))
    with pytest.raises(DatasetNotFoundError, match="train-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def _write_pair(folder, images_bytes, labels_bytes, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    (folder / f"train-images-idx3-ubyte{suffix}").write_bytes(images_bytes)
    (folder / f"train-labels-idx1-ubyte{suffix}").write_bytes(labels_bytes)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b[:-5], "truncated"),
        (lambda b: b + b"\x00", "beyond the shape"),
        (lambda b: b"\x12\x34" + b[2:], "not an IDX file"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "IDX type 0x0d"),
        (lambda b: b[:3] + b"\x02" + b[4:], "2 dimensions"),
        (lambda b: b[:10], "truncated inside its header"),
        (lambda b: b"", "not an IDX file"),
    ],
)
def test_corrupt_raw_files_raise_naming_the_file(tmp_path, corrupt, message):
    X, y = tiny()
    _write_pair(tmp_path, corrupt(idx_bytes(X)), idx_bytes(y))
    with pytest.raises(ValueError, match=message) as err:
        load_dataset("mnist", data_dir=tmp_path)
    assert "train-images-idx3-ubyte" in str(err.value)


@pytest.mark.parametrize("gz", [False, True])
def test_damaged_header_does_not_allocate_the_announced_size(tmp_path, gz):
    X, y = tiny()
    huge = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2_000_000_000, 28, 28) + X.tobytes()
    wrap = gzip.compress if gz else bytes
    _write_pair(tmp_path, wrap(huge), wrap(idx_bytes(y)), gz=gz)
    with pytest.raises(ValueError, match="truncated or its header is damaged"):
        load_dataset("mnist", data_dir=tmp_path)


def test_bad_gzip_streams_raise_naming_the_file(tmp_path):
    X, y = tiny()
    full = gzip.compress(idx_bytes(X))
    _write_pair(tmp_path / "cut", full[: len(full) // 2], gzip.compress(idx_bytes(y)), gz=True)
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        load_dataset("mnist", data_dir=tmp_path / "cut")
    assert "train-images-idx3-ubyte.gz" in str(err.value)

    bad_crc = bytearray(full)
    bad_crc[-6] ^= 0xFF  # flip a byte of the CRC32 trailer
    _write_pair(tmp_path / "crc", bytes(bad_crc), gzip.compress(idx_bytes(y)), gz=True)
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        load_dataset("mnist", data_dir=tmp_path / "crc")
    assert "train-images-idx3-ubyte.gz" in str(err.value)


def test_images_and_labels_must_agree(tmp_path):
    X, y = tiny()
    _write_pair(tmp_path / "a", idx_bytes(X), idx_bytes(y[:-1]))
    with pytest.raises(ValueError, match="12 images but .* 11 labels"):
        load_dataset("mnist", data_dir=tmp_path / "a")
    bad = y.copy()
    bad[3] = 10
    _write_pair(tmp_path / "b", idx_bytes(X), idx_bytes(bad))
    with pytest.raises(ValueError, match="label 10"):
        load_dataset("mnist", data_dir=tmp_path / "b")


def test_read_idx_and_header_only_shape(tmp_path):
    X, _ = tiny(n=3)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(X)))
    assert read_idx_shape(path, 3) == (3, 5, 4)
    np.testing.assert_array_equal(read_idx(path, 3), X)
    with pytest.raises(ValueError, match="3 dimensions where 1"):
        read_idx(path, 1)


@pytest.mark.parametrize("split", ["valid", "all", "TRAIN", 3])
def test_split_is_validated(split):
    with pytest.raises(ValueError, match="split=.*'train', 'test'"):
        load_dataset("mnist", split=split)
