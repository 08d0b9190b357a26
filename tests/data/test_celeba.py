"""CelebA hair-colour loader on a tiny attribute file and real JPEG/PNG images."""

import warnings

import numpy as np
import pytest
from PIL import Image

from deepbalance.data import DatasetNotFoundError, list_datasets, load_dataset
from deepbalance.data.celeba import HAIR_CLASSES

pytestmark = pytest.mark.usefixtures("data_env")

ATTRS = ["5_o_Clock_Shadow", "Bald", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", "Male"]
# file -> set attributes, partition (0 train, 1 valid, 2 test)
ROWS = {
    "000001.jpg": ({"Black_Hair", "Male"}, 0),
    "000002.jpg": ({"Blond_Hair"}, 0),
    "000003.jpg": ({"Black_Hair", "Brown_Hair"}, 0),  # ambiguous
    "000004.jpg": ({"Male"}, 0),  # no hair label
    "000005.jpg": ({"Bald"}, 1),
    "000006.jpg": ({"Gray_Hair"}, 1),
    "000007.jpg": ({"Brown_Hair"}, 2),
    "000008.jpg": ({"Brown_Hair"}, 2),  # image file missing
}


def write_celeba(root, *, partition=True, png=False, nested=False, count=None):
    images = root / "img_align_celeba"
    if nested:
        images = images / "img_align_celeba"
    images.mkdir(parents=True)
    lines = [str(len(ROWS) if count is None else count), " ".join(ATTRS)]
    for i, (name, (attrs, _)) in enumerate(ROWS.items()):
        lines.append(name + "  " + " ".join(" 1" if a in attrs else "-1" for a in ATTRS))
        if name == "000008.jpg":
            continue
        pixels = np.full((24, 20, 3), 40 * i, dtype=np.uint8)
        target = images / (name.replace(".jpg", ".png") if png else name)
        Image.fromarray(pixels).save(target)
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition:
        text = "".join(f"{n} {p}\n" for n, (_, p) in ROWS.items())
        (root / "list_eval_partition.txt").write_text(text)


def test_all_split_labels_drops_and_skips(tmp_path):
    write_celeba(tmp_path, partition=False)
    with pytest.warns(UserWarning, match="skipped 1 unreadable") as record:
        data = load_dataset("celeba", split="all", data_dir=tmp_path, size=16)
    assert len(record) == 1
    assert data.class_names == HAIR_CLASSES
    assert data.images.shape == (5, 3, 16, 16) and data.images.dtype == np.uint8
    # Black, Blond, Bald, Gray, Brown (000008 has no image file)
    assert data.labels.tolist() == [0, 2, 4, 3, 1]
    assert data.meta["dropped"] == {"ambiguous": 1, "no_hair_label": 1}
    assert data.meta["n_skipped"] == 1 and "000008" in data.meta["skipped"][0]["path"]
    # flat-coloured images keep their grey level (JPEG is lossy: allow a little)
    assert abs(int(data.images[1].mean()) - 40) <= 3


def test_partition_splits(tmp_path):
    write_celeba(tmp_path)
    train = load_dataset("celeba", data_dir=tmp_path, size=8)
    valid = load_dataset("celeba", "valid", data_dir=tmp_path, size=8)
    assert train.labels.tolist() == [0, 2] and valid.labels.tolist() == [4, 3]
    assert train.meta["dropped"] == {"ambiguous": 1, "no_hair_label": 1}
    assert valid.meta["dropped"] == {"ambiguous": 0, "no_hair_label": 0}
    with pytest.raises(ValueError, match="cannot read CelebA image .*000008"):
        load_dataset("celeba", "test", data_dir=tmp_path, on_error="raise")


def test_train_split_without_partition_file_is_a_clear_error(tmp_path):
    write_celeba(tmp_path, partition=False)
    with pytest.raises(ValueError, match="list_eval_partition.txt.*split='all'"):
        load_dataset("celeba", data_dir=tmp_path)


def test_png_edition_nested_folder_size_mode_and_crop(tmp_path):
    write_celeba(tmp_path, png=True, nested=True)
    # image 000002 (index 1 in ROWS): rows 0-1 and 22-23 red, the rest blue
    path = tmp_path / "img_align_celeba" / "img_align_celeba" / "000002.png"
    pixels = np.zeros((24, 20, 3), dtype=np.uint8)
    pixels[..., 2] = 255
    pixels[:2, :, :] = (255, 0, 0)
    pixels[-2:, :, :] = (255, 0, 0)
    Image.fromarray(pixels).save(path)

    cropped = load_dataset("celeba", data_dir=tmp_path, size=10)
    assert cropped.images.shape == (2, 3, 10, 10)
    assert cropped.images[1, 0].max() == 0  # the centred 20x20 square has no red rows
    stretched = load_dataset("celeba", data_dir=tmp_path, size=(12, 10), crop=None)
    assert stretched.images.shape == (2, 3, 12, 10)
    assert stretched.images[1, 0, 0].min() > 100  # the red top rows survive
    gray = load_dataset("celeba", data_dir=tmp_path, size=8, mode="L")
    assert gray.images.shape == (2, 1, 8, 8)


def test_truncated_attribute_file(tmp_path):
    write_celeba(tmp_path, count=20)
    with pytest.raises(ValueError, match="announces 20 images but lists 8"):
        load_dataset("celeba", "all", data_dir=tmp_path)


def test_missing_files_and_no_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="list_attr_celeba.txt") as err:
        load_dataset("celeba", data_dir=tmp_path)
    assert str(tmp_path / "celeba") in str(err.value) and "CelebA.html" in str(err.value)
    with pytest.raises(ValueError, match="cannot be downloaded automatically"):
        load_dataset("celeba", data_dir=tmp_path, download=True)


def test_options_validated(tmp_path):
    write_celeba(tmp_path)
    with pytest.raises(ValueError, match="size=0"):
        load_dataset("celeba", data_dir=tmp_path, size=0)
    with pytest.raises(ValueError, match="crop='left'"):
        load_dataset("celeba", data_dir=tmp_path, crop="left")
    with pytest.raises(ValueError, match="on_error='ignore'"):
        load_dataset("celeba", data_dir=tmp_path, on_error="ignore")


def test_listed_with_counts_after_drops(tmp_path):
    write_celeba(tmp_path / "celeba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # listing decodes nothing, so warns about nothing
        info = {i.name: i for i in list_datasets(data_dir=tmp_path)}["celeba"]
    assert info.available and info.location == str(tmp_path / "celeba")
    assert info.n_images == {"train": 2, "valid": 2, "test": 2, "all": 6}
