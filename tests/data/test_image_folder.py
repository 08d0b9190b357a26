"""image-folder loader on PNG/JPEG class folders, including a corrupt image."""

import warnings

import numpy as np
import pytest
from PIL import Image

from deepbalance.data import DatasetNotFoundError, list_datasets, load_dataset

pytestmark = pytest.mark.usefixtures("data_env")


def save(path, value, size=(6, 5), mode="RGB"):
    """A flat image of ``value`` with (width, height) ``size``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(np.full(shape, value, dtype=np.uint8), mode=None).save(path)


def flat_folder(root):
    save(root / "cat" / "a.png", 10)
    save(root / "cat" / "b.png", 20)
    save(root / "cat" / "sub" / "c.png", 30)  # nested files count too
    save(root / "dog" / "d.png", 200, mode="L")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (root / "dog" / "notes.txt").write_text("ignored: not an image extension")
    (root / ".hidden").mkdir()
    save(root / ".hidden" / "x.png", 1)
    return root


def test_flat_folder_skips_corrupt_image_with_one_warning(tmp_path):
    root = flat_folder(tmp_path / "pets")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\) of 5") as rec:
        data = load_dataset("image-folder", "all", data_dir=root)
    assert len(rec) == 1 and rec[0].filename == __file__  # points at the caller
    assert data.class_names == ("cat", "dog")
    assert data.images.shape == (4, 3, 5, 6) and data.images.dtype == np.uint8
    assert data.labels.tolist() == [0, 0, 0, 1] and data.labels.dtype == np.int64
    assert data.images[:, 0, 0, 0].tolist() == [10, 20, 30, 200]
    assert data.meta["n_skipped"] == 1
    assert data.meta["skipped"][0]["path"].endswith("broken.png")
    # split="train" (the default) reads a flat folder too
    with pytest.warns(UserWarning):
        assert len(load_dataset("image-folder", data_dir=root)) == 4


def test_raise_names_the_file_without_pillow_traceback(tmp_path):
    root = flat_folder(tmp_path / "pets")
    with pytest.raises(ValueError, match=r"cannot read image .*broken\.png") as err:
        load_dataset("image-folder", data_dir=root, on_error="raise")
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_size_and_mode(tmp_path):
    root = flat_folder(tmp_path / "pets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gray = load_dataset("image-folder", data_dir=root, size=8, mode="L")
        rect = load_dataset("image-folder", data_dir=root, size=(4, 7))
    assert gray.images.shape == (4, 1, 8, 8)
    assert gray.images[3, 0].min() == 200 and gray.images[0, 0].max() == 10
    assert rect.images.shape == (4, 3, 4, 7)
    with pytest.raises(ValueError, match="mode='CMYK'"):
        load_dataset("image-folder", data_dir=root, mode="CMYK")
    with pytest.raises(TypeError, match="size="):
        load_dataset("image-folder", data_dir=root, size="big")
    with pytest.raises(ValueError, match="on_error='warn'"):
        load_dataset("image-folder", data_dir=root, on_error="warn")


def test_different_sizes_need_size(tmp_path):
    save(tmp_path / "a" / "1.png", 1, size=(4, 4))
    save(tmp_path / "b" / "2.jpg", 2, size=(5, 4))
    with pytest.raises(ValueError, match="differ in size.*pass size="):
        load_dataset("image-folder", data_dir=tmp_path)
    assert load_dataset("image-folder", data_dir=tmp_path, size=4).images.shape == (2, 3, 4, 4)


def test_split_folders_share_class_indices(tmp_path):
    save(tmp_path / "train" / "ant" / "1.png", 1)
    save(tmp_path / "train" / "bee" / "2.png", 2)
    save(tmp_path / "test" / "bee" / "3.png", 3)
    save(tmp_path / "val" / "cow" / "4.png", 4)
    train = load_dataset("image-folder", data_dir=tmp_path)
    test = load_dataset("image-folder", "test", data_dir=tmp_path)
    valid = load_dataset("image-folder", "valid", data_dir=tmp_path)
    everything = load_dataset("image-folder", "all", data_dir=tmp_path)
    assert train.class_names == test.class_names == ("ant", "bee", "cow")
    assert train.labels.tolist() == [0, 1] and test.labels.tolist() == [1]
    assert valid.labels.tolist() == [2] and len(everything) == 4


def test_split_errors(tmp_path):
    save(tmp_path / "flat" / "a" / "1.png", 1)
    with pytest.raises(ValueError, match="no 'test' sub-folder"):
        load_dataset("image-folder", "test", data_dir=tmp_path / "flat")
    save(tmp_path / "split" / "train" / "a" / "1.png", 1)
    with pytest.raises(ValueError, match="split='valid'.*has train"):
        load_dataset("image-folder", "valid", data_dir=tmp_path / "split")
    with pytest.raises(ValueError, match="split='extra'"):
        load_dataset("image-folder", "extra", data_dir=tmp_path / "flat")


def test_missing_or_empty_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="pass data_dir="):
        load_dataset("image-folder")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("image-folder", data_dir=tmp_path / "nope")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no image files"):
        load_dataset("image-folder", data_dir=tmp_path / "empty")
    with pytest.raises(ValueError, match="nothing to download"):
        load_dataset("image-folder", data_dir=tmp_path / "empty", download=True)


def test_found_through_env_and_listed(tmp_path, monkeypatch):
    flat_folder(tmp_path / "image-folder")
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path))
    info = {i.name: i for i in list_datasets()}["image-folder"]
    assert info.available and info.n_images == {"all": 5}  # counted, not decoded
    with pytest.warns(UserWarning):
        assert len(load_dataset("image-folder", "all")) == 4


def test_grayscale_files_give_one_channel_unless_a_mode_is_asked(tmp_path):
    save(tmp_path / "train" / "a" / "1.png", 1, mode="L")
    save(tmp_path / "train" / "b" / "2.png", 2, mode="L")
    save(tmp_path / "test" / "b" / "3.png", 3, mode="L")
    assert load_dataset("image-folder", data_dir=tmp_path).images.shape == (2, 1, 5, 6)
    assert load_dataset("image-folder", "test", data_dir=tmp_path).meta["mode"] == "L"
    assert load_dataset("image-folder", data_dir=tmp_path, mode="RGB").images.shape[1] == 3
    # one colour file in any split makes every split RGB, so the splits agree
    save(tmp_path / "test" / "a" / "4.png", 4, mode="RGB")
    assert load_dataset("image-folder", data_dir=tmp_path).images.shape[1] == 3


def test_sixteen_bit_files_are_scaled_not_clipped(tmp_path):
    for label, value in (("dark", 5000), ("bright", 60000)):
        (tmp_path / label).mkdir()
        Image.fromarray(np.full((4, 4), value, dtype=np.uint16)).save(tmp_path / label / "x.png")
    data = load_dataset("image-folder", data_dir=tmp_path)
    assert data.images.shape == (2, 1, 4, 4)
    means = {data.class_names[c]: data.images[data.labels == c].mean() for c in range(2)}
    # Pillow's plain conversion would clip both to 255
    assert means == {"dark": round(5000 / 257), "bright": round(60000 / 257)}
    rgb = load_dataset("image-folder", data_dir=tmp_path, mode="RGB")
    assert rgb.images[rgb.labels == data.class_names.index("bright")].mean() == round(60000 / 257)
