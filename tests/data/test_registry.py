"""load_dataset / list_datasets / DATASETS and the search order."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from deepbalance.data import DATASETS, DatasetInfo, ImageSet, list_datasets, load_dataset
from deepbalance.data.locations import cache_root, download_dir, search_dirs

pytestmark = pytest.mark.usefixtures("data_env")

EXPECTED = {"celeba", "cifar10", "digits", "fashion-mnist", "image-folder", "mnist", "svhn"}


def test_registry_holds_every_format():
    assert EXPECTED <= set(DATASETS.names())


def test_list_datasets_reports_availability(tmp_path):
    infos = {i.name: i for i in list_datasets(data_dir=tmp_path)}
    assert EXPECTED <= set(infos)
    assert all(isinstance(i, DatasetInfo) and i.description for i in infos.values())
    digits = infos["digits"]
    assert digits.available and digits.n_images == {"train": 1347, "test": 450, "all": 1797}
    for name in ("mnist", "fashion-mnist", "cifar10", "svhn", "celeba", "image-folder"):
        assert infos[name] == DatasetInfo(name, infos[name].description, False, None, None)


def test_list_datasets_reads_headers_only(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28)
    # headers announcing 60,000 images with no pixels: listing must not read the data
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header))
    (folder / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 60000))
    info = {i.name: i for i in list_datasets(data_dir=tmp_path)}["mnist"]
    assert info.available and info.n_images == {"train": 60000}
    assert info.location == str(folder)


def test_plain_callables_are_listed(monkeypatch):
    def load_toy(split, data_dir=None, download=False):
        """A toy dataset."""
        return ImageSet(np.zeros((1, 1, 2, 2), np.uint8), np.zeros(1, np.int64), ("a",))

    monkeypatch.setitem(DATASETS._entries, "toy", load_toy)
    info = {i.name: i for i in list_datasets()}["toy"]
    assert info == DatasetInfo("toy", "A toy dataset.", False, None, None)
    assert len(load_dataset("toy")) == 1


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown dataset 'fashion_mnist'.*'fashion-mnist'"):
        load_dataset("fashion_mnist")
    with pytest.raises(TypeError, match="data_dir=3"):
        load_dataset("mnist", data_dir=3)
    with pytest.raises(TypeError, match="download='yes'"):
        load_dataset("mnist", download="yes")
    with pytest.raises(TypeError, match="no option 'size'.*none"):
        load_dataset("mnist", size=32)
    with pytest.raises(TypeError, match="no option 'colour'.*size, mode, on_error"):
        load_dataset("image-folder", colour="L")


def test_data_dir_must_be_a_folder(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        load_dataset("mnist", data_dir=f)


def test_search_order(tmp_path, monkeypatch):
    cache = tmp_path / "xdg-cache" / "deepbalance"
    assert cache_root() == cache
    assert search_dirs("x", None, ["/sys/x"]) == [Path("/sys/x"), cache / "x"]
    assert download_dir("x") == cache / "x"
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "env"))
    assert search_dirs("x", None, ["/sys/x"]) == [
        tmp_path / "env" / "x",
        tmp_path / "env",
        Path("/sys/x"),
        cache / "x",
    ]
    assert download_dir("x") == tmp_path / "env" / "x"
    # an explicit folder is the only place searched, and where downloads go
    assert search_dirs("x", tmp_path / "d", ["/sys/x"]) == [tmp_path / "d", tmp_path / "d" / "x"]
    assert download_dir("x", tmp_path / "d") == tmp_path / "d"
