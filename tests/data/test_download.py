"""Opt-in downloads, without a network: the fetch function is replaced by local files."""

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import urllib.error

import numpy as np
import pytest

from deepbalance.data import DatasetNotFoundError, cifar, download, idx, load_dataset
from deepbalance.data.download import DownloadError, Remote, fetch

pytestmark = pytest.mark.usefixtures("data_env")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class FakeWeb:
    """Stands in for urllib's urlopen: serves bytes per URL and records the requests."""

    def __init__(self, pages):
        self.pages = pages
        self.requests = []

    def __call__(self, url, timeout=None):
        self.requests.append(url)
        if url not in self.pages:
            raise urllib.error.URLError(f"no route to {url}")
        return io.BytesIO(self.pages[url])


def test_fetch_checks_md5_and_tries_the_next_mirror(tmp_path, monkeypatch):
    payload = b"x" * 3_000_000  # several chunks
    web = FakeWeb({"https://b/f.bin": payload})
    monkeypatch.setattr(download, "urlopen", web)
    remote = Remote("f.bin", md5(payload), ("https://a/f.bin", "https://b/f.bin"))
    path = fetch(remote, tmp_path / "d")
    assert path.read_bytes() == payload and web.requests == ["https://a/f.bin", "https://b/f.bin"]
    # already there with the right checksum: no request
    fetch(remote, tmp_path / "d")
    assert len(web.requests) == 2


def test_checksum_mismatch_fails_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "urlopen", FakeWeb({"https://a/f.bin": b"tampered"}))
    remote = Remote("f.bin", md5(b"original"), ("https://a/f.bin",))
    with pytest.raises(DownloadError, match="MD5 mismatch") as err:
        fetch(remote, tmp_path)
    assert "https://a/f.bin" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one


def test_fetch_reads_file_urls_with_the_real_urlopen(tmp_path):
    source = tmp_path / "served.bin"
    source.write_bytes(b"hello")
    path = fetch(Remote("copy.bin", md5(b"hello"), (source.as_uri(),)), tmp_path / "out")
    assert path.read_bytes() == b"hello"


def _idx_gz(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


def test_mnist_download_into_data_dir(tmp_path, monkeypatch):
    images = _idx_gz(np.arange(3 * 4 * 4).reshape(3, 4, 4))
    labels = _idx_gz([7, 1, 0])
    pages, remotes = {}, dict(idx.REMOTES["mnist"])
    for name, data in (
        ("train-images-idx3-ubyte.gz", images),
        ("train-labels-idx1-ubyte.gz", labels),
    ):
        url = remotes[name].urls[0]
        pages[url] = data
        remotes[name] = Remote(name, md5(data), remotes[name].urls)
    monkeypatch.setitem(idx.REMOTES, "mnist", remotes)
    web = FakeWeb(pages)
    monkeypatch.setattr(download, "urlopen", web)

    with pytest.raises(DatasetNotFoundError):  # never implicit
        load_dataset("mnist", data_dir=tmp_path / "mnist")
    assert web.requests == []
    data = load_dataset("mnist", data_dir=tmp_path / "mnist", download=True)
    assert data.labels.tolist() == [7, 1, 0] and data.images.shape == (3, 1, 4, 4)
    assert web.requests[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    # the second load reads the files, no request
    load_dataset("mnist", data_dir=tmp_path / "mnist", download=True)
    assert len(web.requests) == 2


def test_fashion_mnist_download_goes_to_the_cache_by_default(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "_SYSTEM_DIRS", {"fashion-mnist": (), "mnist": ()})
    monkeypatch.setattr(download, "urlopen", FakeWeb({}))  # every mirror down
    with pytest.raises(DownloadError, match="fashion-mnist.s3-website") as err:
        load_dataset("fashion-mnist", "test", download=True)
    assert str(tmp_path / "xdg-cache" / "deepbalance" / "fashion-mnist") in str(err.value)


def test_cifar_download_extracts_known_members_only(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = [*cifar.BATCHES["train"], *cifar.BATCHES["test"], cifar.META]
        for i, name in enumerate([*names, "../escape"]):
            if name == cifar.META:
                obj = {b"label_names": [c.encode() for c in cifar.CIFAR10_CLASSES]}
            else:
                obj = {b"data": np.full((2, 3072), i, np.uint8), b"labels": [i % 10, 3]}
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(name if name.startswith("..") else f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = buffer.getvalue()
    url = cifar.REMOTE.urls[0]
    monkeypatch.setattr(cifar, "REMOTE", Remote(cifar.REMOTE.filename, md5(archive), (url,)))
    monkeypatch.setattr(download, "urlopen", FakeWeb({url: archive}))
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "data"))

    test = load_dataset("cifar10", "test", download=True)
    assert test.images.shape == (2, 3, 32, 32) and test.labels.tolist() == [5, 3]
    target = tmp_path / "data" / "cifar10"
    assert sorted(p.name for p in (target / cifar.FOLDER).iterdir()) == sorted(names)
    assert not (target / cifar.REMOTE.filename).exists()  # archive removed after extraction
    assert not (tmp_path / "data" / "escape").exists() and not (target / "escape").exists()
    assert len(load_dataset("cifar10", download=False)) == 10
