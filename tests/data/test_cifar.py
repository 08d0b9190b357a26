"""CIFAR-10 loader on tiny pickle batches written in the published layout."""

import pickle

import numpy as np
import pytest

from deepbalance.data import DatasetNotFoundError, load_dataset
from deepbalance.data.cifar import BATCHES, CIFAR10_CLASSES, FOLDER, read_cifar_batch

pytestmark = pytest.mark.usefixtures("data_env")


def batch(n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    return {
        b"batch_label": b"batch",
        b"labels": labels,
        b"data": data,
        b"filenames": [b"x.png"] * n,
    }


def write_cifar(root, sizes=(3, 2, 2, 1, 2, 4), protocol=2, meta=True):
    folder = root / FOLDER
    folder.mkdir(parents=True)
    names = (*BATCHES["train"], *BATCHES["test"])
    written = {}
    for seed, (name, n) in enumerate(zip(names, sizes, strict=True)):
        written[name] = batch(n, seed)
        (folder / name).write_bytes(pickle.dumps(written[name], protocol=protocol))
    if meta:
        names_b = [n.upper().encode() for n in CIFAR10_CLASSES]
        (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names_b}, protocol=2))
    return written


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_loads_train_and_test(tmp_path, protocol):
    written = write_cifar(tmp_path, protocol=protocol)
    train = load_dataset("cifar10", data_dir=tmp_path)
    test = load_dataset("cifar10", split="test", data_dir=tmp_path)

    assert train.images.shape == (10, 3, 32, 32) and train.images.dtype == np.uint8
    assert test.images.shape == (4, 3, 32, 32) and test.labels.dtype == np.int64
    first = written["data_batch_1"]
    # row-major 3072 = 1024 red, 1024 green, 1024 blue values
    np.testing.assert_array_equal(train.images[0, 1].ravel(), first[b"data"][0, 1024:2048])
    expected = np.concatenate([written[b][b"labels"] for b in BATCHES["train"]])
    np.testing.assert_array_equal(train.labels, expected)
    np.testing.assert_array_equal(test.labels, written["test_batch"][b"labels"])
    assert train.class_names[0] == "AIRPLANE"  # read from batches.meta
    assert FOLDER in train.source


def test_python2_era_module_names_load(tmp_path):
    """The published files name numpy.core.multiarray (numpy 1.x); numpy 2 calls it _core."""
    raw = pickle.dumps(batch(3, 0), protocol=2)
    raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in raw
    (tmp_path / "test_batch").write_bytes(raw)
    images, labels = read_cifar_batch(tmp_path / "test_batch")
    assert images.shape == (3, 3, 32, 32) and labels.tolist() == batch(3, 0)[b"labels"]


def test_default_names_without_meta_and_env_lookup(tmp_path, monkeypatch):
    write_cifar(tmp_path / "cifar10", meta=False)
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path))
    assert load_dataset("cifar10", "test").class_names == CIFAR10_CLASSES


def test_missing_batch_reported(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / FOLDER / "data_batch_4").unlink()
    assert len(load_dataset("cifar10", "test", data_dir=tmp_path)) == 4
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", data_dir=tmp_path)
    msg = str(err.value)
    assert "data_batch_4" in msg and str(tmp_path / FOLDER) in msg and "download=True" in msg


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_unpickling_refuses_anything_but_arrays(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(str(marker)), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match="refusing to load .*open") as err:
        read_cifar_batch(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_truncated_and_malformed_batches(tmp_path):
    write_cifar(tmp_path)
    path = tmp_path / FOLDER / "data_batch_2"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable CIFAR pickle batch") as err:
        load_dataset("cifar10", data_dir=tmp_path)
    assert "data_batch_2" in str(err.value)

    bad = batch(2, 0)
    bad[b"data"] = bad[b"data"][:, :100]
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"\(n, 3072\)"):
        load_dataset("cifar10", data_dir=tmp_path)

    bad = batch(2, 0)
    bad[b"labels"] = [0, 11]
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match="expected 0..9"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_split_validated():
    with pytest.raises(ValueError, match="split='valid'"):
        load_dataset("cifar10", split="valid")
