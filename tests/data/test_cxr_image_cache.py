"""The memory-mapped image cache behind the chest X-ray loaders."""

import json

import numpy as np
import pytest
from PIL import Image

from deepbalance.data import image_cache
from deepbalance.data.image_cache import load_images, read_image


@pytest.fixture
def files(tmp_path):
    paths = []
    for k in range(5):
        path = tmp_path / "img" / f"{k}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(np.full((16, 12), 30 * k, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((16, 16), 60000, dtype=np.uint16)).save(path)
    pixels, mode = read_image(path, (8, 8))
    assert mode.startswith("I")
    assert pixels.shape == (8, 8) and pixels.dtype == np.uint8
    assert abs(int(pixels.mean()) - round(60000 / 257)) <= 1


def test_threads_and_no_cache_give_the_same_pixels(files, tmp_path):
    plain = load_images(files, (8, 6), cache=False)
    threaded = load_images(files, (8, 6), cache_dir=tmp_path / "c", n_jobs=2)
    assert not isinstance(plain.images, np.memmap)
    np.testing.assert_array_equal(plain.images, threaded.images)
    np.testing.assert_array_equal(plain.kept, np.arange(5))
    assert plain.images[:, 0, 0, 0].tolist() == [0, 30, 60, 90, 120]


def test_unreadable_rows_are_compacted_and_remembered(files, tmp_path, monkeypatch):
    files[1].write_bytes(b"garbage")
    first = load_images(files, 4, cache_dir=tmp_path / "c")
    assert first.kept.tolist() == [0, 2, 3, 4]
    assert first.images[:, 0, 0, 0].tolist() == [0, 60, 90, 120]
    assert first.unreadable[0][0] == str(files[1])
    monkeypatch.setattr(image_cache, "read_image", None)  # any decode attempt would fail
    second = load_images(files, 4, cache_dir=tmp_path / "c")
    assert second.from_cache and second.kept.tolist() == [0, 2, 3, 4]
    np.testing.assert_array_equal(first.images, second.images)


def test_corrupt_or_foreign_cache_entry_is_rebuilt(files, tmp_path):
    first = load_images(files, 4, cache_dir=tmp_path / "c")
    sidecar = next((tmp_path / "c").glob("*.json"))
    info = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**info, "key": "someone else's"}))
    again = load_images(files, 4, cache_dir=tmp_path / "c")
    assert not again.from_cache
    np.testing.assert_array_equal(first.images, again.images)
    npy = next((tmp_path / "c").glob("*.npy"))
    npy.write_bytes(b"truncated")
    assert not load_images(files, 4, cache_dir=tmp_path / "c").from_cache
    assert load_images(files, 4, cache_dir=tmp_path / "c").from_cache


def test_argument_errors(files, tmp_path):
    with pytest.raises(ValueError, match="paths is empty"):
        load_images([], 4, cache=False)
    with pytest.raises(ValueError, match="on_error='ignore'"):
        load_images(files, 4, on_error="ignore")
    with pytest.raises(ValueError, match="n_jobs=0"):
        load_images(files, 4, n_jobs=0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot create cache_dir"):
        load_images(files, 4, cache_dir=blocker / "sub")
