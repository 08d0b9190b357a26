"""Reading your own images: folders, CSVs, channels, sizes, bad files, the test split."""

import numpy as np
import pytest
from PIL import Image

from deepbalance.data.user_images import (
    carve_test_split,
    load_listed_images,
    read_inventory,
    scan_images,
)


def save(path, value=100, size=(12, 12), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)


def folder(root, counts=(5, 3), mode="L"):
    for c, n in enumerate(counts):
        for i in range(n):
            save(root / f"c{c}" / f"{i}.png", value=10 * i + c, mode=mode)
    return root


def test_grayscale_folder_is_one_channel_and_colour_three(tmp_path):
    gray = read_inventory(scan_images(folder(tmp_path / "g")))
    assert gray.images.shape == (8, 1, 12, 12) and gray.mode == "L" and gray.modes == {"L": 8}
    colour = read_inventory(scan_images(folder(tmp_path / "c", mode="RGB")))
    assert colour.images.shape == (8, 3, 12, 12) and colour.mode == "RGB"
    save(tmp_path / "g" / "c0" / "colour.png", mode="RGB")
    mixed = read_inventory(scan_images(tmp_path / "g"))
    assert mixed.mode == "RGB" and mixed.modes == {"L": 8, "RGB": 1}
    asked = read_inventory(scan_images(tmp_path / "g"), mode="L")
    assert asked.images.shape[1] == 1


def test_mixed_sizes_list_the_sizes_and_the_fix(tmp_path):
    root = folder(tmp_path / "imgs")
    save(root / "c1" / "big.png", size=(16, 20))
    with pytest.raises(
        ValueError,
        match=r"differ in size.*12x12 \(8 file.*20x16 \(1 file.*c1/big\.png.*--size 12x12",
    ):
        read_inventory(scan_images(root))
    assert read_inventory(scan_images(root), size=12).images.shape == (9, 1, 12, 12)


def test_bad_files_are_counted_in_one_warning_and_fatal_above_the_limit(tmp_path):
    root = folder(tmp_path / "imgs", counts=(10, 10))
    (root / "c0" / "broken.png").write_bytes(b"not a png")
    (root / "c1" / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning, match=r"skipped 2 of 22 file\(s\)") as record:
        decoded = read_inventory(scan_images(root))
    assert len(record) == 1 and len(decoded.files) == 20
    assert {f for f, _ in decoded.skipped} == {"c0/broken.png", "c1/notes.txt"}
    for i in range(3):
        (root / "c1" / f"x{i}.dcm").write_bytes(b"DICM")
    with pytest.raises(ValueError, match=r"5 of 25 files .*\(20%\) are not images.*10% limit"):
        read_inventory(scan_images(root))
    with pytest.warns(UserWarning):
        assert len(read_inventory(scan_images(root), max_bad=0.5).files) == 20


def test_folder_layout_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        scan_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        scan_images(tmp_path / "empty")
    save(tmp_path / "loose" / "a.png")
    with pytest.raises(
        ValueError, match=r"image file\(s\) \(e\.g\. a\.png\) but no class sub-folders"
    ):
        scan_images(tmp_path / "loose")
    folder(tmp_path / "one", counts=(4,))
    with pytest.raises(ValueError, match=r"one class \('c0'\).*at least two classes"):
        scan_images(tmp_path / "one")
    folder(tmp_path / "hole", counts=(4, 2))
    (tmp_path / "hole" / "c2").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*c2 has no image files"):
        scan_images(tmp_path / "hole")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a .csv"):
        scan_images(tmp_path / "notes.txt")
    with pytest.raises(TypeError, match="source=3"):
        scan_images(3)


def test_csv_source_and_its_errors(tmp_path):
    folder(tmp_path / "imgs", counts=(3, 2))
    rows = [f"imgs/c{c}/{i}.png,{'ab'[c]}" for c, n in enumerate((3, 2)) for i in range(n)]
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\n" + "\n".join(rows) + "\n")
    inventory = scan_images(csv)
    assert inventory.kind == "csv" and inventory.class_names == ("a", "b")
    assert inventory.counts() == {"a": 3, "b": 2} and not inventory.has_test_split
    csv.write_text("path,label,patient\nimgs/c0/0.png,a,7\n")
    with pytest.raises(ValueError, match=r"labels\.csv: unknown column\(s\) \['patient'\]"):
        scan_images(csv)
    csv.write_text("file,label\nimgs/c0/0.png,a\n")
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['file'\]"):
        scan_images(csv)
    csv.write_text("path,label\nimgs/c0/0.png,a\nimgs/c0/gone.png,a\nimgs/c1/0.png,b\n")
    with pytest.raises(
        ValueError, match=r"1 of 3 listed file\(s\) do not exist \(line 3: imgs/c0/gone\.png"
    ):
        scan_images(csv)
    csv.write_text("path,label\nimgs/c0/0.png,a\nimgs/c0/0.png,b\n")
    with pytest.raises(ValueError, match=r"labels\.csv:3: imgs/c0/0\.png is listed again"):
        scan_images(csv)
    csv.write_text("path,label\nimgs/c0/0.png,\n")
    with pytest.raises(ValueError, match=r"labels\.csv:2: empty label"):
        scan_images(csv)
    csv.write_text("path,label,split\nimgs/c0/0.png,a,train\nimgs/c1/0.png,b,holdout\n")
    with pytest.raises(ValueError, match=r"split='holdout' is not train, test or val"):
        scan_images(csv)
    csv.write_text(
        "path,label,split\nimgs/c0/0.png,a,train\nimgs/c1/0.png,b,train\nimgs/c1/1.png,b,test\n"
    )
    assert scan_images(csv).splits == ("train", "train", "test")


def test_carve_test_split_is_stratified_seeded_and_keeps_singletons_for_training():
    classes = ["a"] * 150 + ["b"] * 40 + ["c"] * 8 + ["d"]
    split = carve_test_split(classes, test_fraction=0.2, seed=0)
    tested = {k: int(((np.array(classes) == k) & (split == "test")).sum()) for k in "abcd"}
    assert tested == {"a": 30, "b": 8, "c": 2, "d": 0}
    assert (split == carve_test_split(classes, seed=0)).all()
    assert not (split == carve_test_split(classes, seed=1)).all()
    assert carve_test_split(["a", "a", "b", "b"], test_fraction=0.1).tolist().count("test") == 2
    with pytest.raises(ValueError, match="test_fraction=0.0"):
        carve_test_split(classes, test_fraction=0.0)


def test_load_listed_images_keeps_class_indices_across_splits(tmp_path):
    root = folder(tmp_path / "imgs", counts=(2, 2))
    files = {"train": [["c0/0.png", "c0"], ["c1/0.png", "c1"]], "test": [["c1/1.png", "c1"]]}
    test = load_listed_images("image-list", "test", data_dir=root, files=files, mode="L")
    assert test.class_names == ("c0", "c1") and test.labels.tolist() == [1]
    assert test.images.shape == (1, 1, 12, 12) and test.meta["rows"]["file"].tolist() == [
        "c1/1.png"
    ]
    with pytest.raises(ValueError, match="split='val' is not recorded"):
        load_listed_images("image-list", "val", data_dir=root, files=files, mode="L")
    (root / "c1" / "1.png").write_bytes(b"broken since")
    with pytest.raises(ValueError, match=r"cannot read image .*c1/1\.png"):
        load_listed_images("image-list", "test", data_dir=root, files=files, mode="L")
