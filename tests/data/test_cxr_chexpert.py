"""CheXpert reader on generated files in the true schema (tiny JPEGs, hand-counted filtering)."""

import csv

import numpy as np
import pytest
from PIL import Image

from deepbalance.data import image_cache, load_dataset
from deepbalance.data.chexpert import OBSERVATIONS, chexpert_filtering, load_chexpert
from deepbalance.data.cxr_common import CXR_CLASSES, SUBCONDITIONS, format_filtering_table
from deepbalance.data.locations import DatasetNotFoundError

HEADER = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *OBSERVATIONS]
F, L = "Frontal", "Lateral"
# (view, {observation: value}); blank elsewhere. Comments: outcome with uncertain="negative".
TRAIN_ROWS = [
    (L, {"No Finding": "1.0"}),  # 1 lateral
    (L, {"Pneumothorax": "1.0"}),  # 2 lateral
    (F, {"No Finding": "1.0"}),  # 3 Normal
    (F, {"No Finding": "1.0", "Support Devices": "1.0"}),  # 4 Normal (a device is no condition)
    (F, {"No Finding": "1.0"}),  # 5 Normal
    (F, {"Lung Lesion": "1.0"}),  # 6 Lung Lesion
    (F, {"Pneumothorax": "1.0", "Support Devices": "1.0"}),  # 7 Pneumothorax (RGB file)
    (F, {"Fracture": "1.0", "Lung Lesion": "0.0"}),  # 8 Fracture
    (F, {"Atelectasis": "1.0", "Lung Opacity": "1.0"}),  # 9 Opacity, merged (RGB file)
    (F, {"Pneumonia": "1.0"}),  # 10 Opacity
    (F, {"Consolidation": "1.0", "Lung Opacity": "-1.0"}),  # 11 Opacity
    (F, {"Cardiomegaly": "1.0", "Enlarged Cardiomediastinum": "1.0"}),  # 12 ECS (LA file)
    (F, {"Enlarged Cardiomediastinum": "1.0"}),  # 13 ECS
    (F, {"Support Devices": "1.0"}),  # 14 no specific condition
    (F, {}),  # 15 no specific condition
    (F, {"No Finding": "1.0", "Fracture": "1.0"}),  # 16 No Finding + condition
    (F, {"No Finding": "1.0", "Edema": "1.0"}),  # 17 No Finding + (dropped) condition
    (F, {"Lung Lesion": "1.0", "Pneumothorax": "1.0"}),  # 18 several
    (F, {"Cardiomegaly": "1.0", "Atelectasis": "1.0"}),  # 19 several after merging
    (F, {"Edema": "1.0"}),  # 20 dropped condition
    (F, {"Pleural Effusion": "1.0", "Lung Opacity": "1.0"}),  # 21 dropped condition
    (F, {"Pleural Other": "1.0"}),  # 22 dropped condition
    (F, {"Pneumothorax": "-1.0", "Fracture": "1.0"}),  # 23 Fracture
    (F, {"Edema": "-1.0", "Lung Lesion": "1.0"}),  # 24 Lung Lesion
    (F, {"Support Devices": "-1.0", "No Finding": "1.0"}),  # 25 Normal
    (F, {"Pneumothorax": "-1.0"}),  # 26 no specific condition
    (F, {"No Finding": "1.0", "Lung Lesion": "0.0"}),  # 27 Normal
    (F, {"Pneumothorax": "1.0"}),  # 28 Pneumothorax
]
VALID_ROWS = [
    (F, {"No Finding": "1.0"}),
    (F, {"No Finding": "1.0", "Support Devices": "1.0"}),
    (F, {"Pneumothorax": "1.0", "Lung Lesion": "1.0"}),
    (F, {"Edema": "1.0"}),
    (L, {"Cardiomegaly": "1.0"}),
    (F, {"Atelectasis": "1.0", "Fracture": "0.0"}),
]
RGB_ROWS, LA_ROWS = {7, 9}, {12}


def intensity(row: int) -> int:
    """Constant grey level of the image of 1-based CSV row ``row`` (tells images apart)."""
    return 8 * row


def rel_path(split: str, row: int, view: str) -> str:
    kind = "frontal" if view == F else "lateral"
    return f"CheXpert-v1.0-small/{split}/patient{row:05d}/study1/view1_{kind}.jpg"


def write_split(root, split, rows, *, header=HEADER, modes=True):
    path = root / "CheXpert-v1.0-small" / f"{'train' if split == 'train' else 'valid'}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, (view, obs) in enumerate(rows, start=1):
            rel = rel_path(split, i, view)
            cells = {
                "Path": rel,
                "Sex": "Female",
                "Age": "60",
                "Frontal/Lateral": view,
                "AP/PA": "AP" if view == F else "",
                **obs,
            }
            writer.writerow([cells.get(h, "") for h in header])
            img_path = root / rel
            img_path.parent.mkdir(parents=True, exist_ok=True)
            pixels = np.full((16, 16), intensity(i), dtype=np.uint8)
            if modes and split == "train" and i in RGB_ROWS:
                Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(img_path, "JPEG")
            elif modes and split == "train" and i in LA_ROWS:
                alpha = np.full_like(pixels, 255)
                Image.fromarray(np.stack([pixels, alpha], axis=-1), "LA").save(img_path, "PNG")
            else:
                Image.fromarray(pixels).save(img_path, "JPEG", quality=95)
    return path


@pytest.fixture
def chexpert_dir(tmp_path):
    root = tmp_path / "data"
    write_split(root, "train", TRAIN_ROWS)
    write_split(root, "valid", VALID_ROWS)
    return root


def load(root, tmp_path, split="train", **kw):
    kw.setdefault("size", 8)
    kw.setdefault("cache_dir", tmp_path / "cache")
    return load_chexpert(split, data_dir=root, **kw)


def steps(data):
    return [(s, r, n) for s, r, n in data.meta["filtering"]]


def counts(data):
    return dict(zip(data.class_names, data.class_counts().tolist(), strict=True))


EXPECTED = {
    "negative": {
        "table": [2, 0, 0, 3, 2, 2, 3, 0, 0],
        "labels": [0, 0, 0, 1, 2, 3, 4, 4, 4, 5, 5, 3, 1, 0, 0, 2],
        "rows": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 23, 24, 25, 27, 28],
    },
    "positive": {
        "table": [2, 0, 0, 2, 2, 3, 4, 0, 0],
        "labels": [0, 0, 0, 1, 2, 3, 4, 4, 4, 5, 5, 0, 2, 0, 2],
        "rows": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 26, 27, 28],
    },
    "drop": {
        "table": [2, 4, 0, 2, 2, 2, 3, 0, 0],
        "labels": [0, 0, 0, 1, 2, 3, 4, 4, 5, 5, 0, 0, 2],
        "rows": [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 25, 27, 28],
    },
}


@pytest.mark.parametrize("policy", ["negative", "positive", "drop"])
def test_filtering_table_labels_and_images(chexpert_dir, tmp_path, policy):
    data = load(chexpert_dir, tmp_path, uncertain=policy)
    exp = EXPECTED[policy]
    table = steps(data)
    assert table[0] == ("rows in train.csv", 0, 28)
    assert [r for _, r, _ in table[1:]] == exp["table"]
    remaining = 28 - np.cumsum(exp["table"])
    assert [n for _, _, n in table[1:]] == remaining.tolist()
    assert [s for s, _, _ in table[1:]][-2:] == ["image file not found", "image file unreadable"]
    assert data.class_names == CXR_CLASSES
    assert data.labels.tolist() == exp["labels"]
    assert data.images.shape == (len(exp["rows"]), 1, 8, 8)
    # each image is its own CSV row's file: rows are told apart by their grey level
    means = data.images.reshape(len(data), -1).mean(axis=1)
    np.testing.assert_allclose(means, [intensity(r) for r in exp["rows"]], atol=3)
    assert (data.meta["rows"]["csv_row"] + 1).tolist() == exp["rows"]
    assert data.meta["uncertain"] == policy


def test_default_policy_is_negative_and_counts(chexpert_dir, tmp_path):
    data = load(chexpert_dir, tmp_path)
    assert data.meta["uncertain"] == "negative"
    assert counts(data) == {
        "Normal": 5,
        "Lung Lesion": 2,
        "Pneumothorax": 2,
        "Fracture": 2,
        "Focal/Multifocal Lung Opacity": 3,
        "Enlarged Cardiac Silhouette": 2,
    }
    assert data.meta["rows"]["patient"][0] == "patient00003"
    assert data.meta["rows"]["observations"].shape == (16, 14)
    assert data.meta["normal_class"] == 0


def test_filtering_without_images_matches(chexpert_dir, tmp_path):
    table, class_counts = chexpert_filtering(chexpert_dir, uncertain="negative")
    data = load(chexpert_dir, tmp_path)
    assert table == data.meta["filtering"][:-2]
    assert class_counts == counts(data)


def test_format_filtering_table(chexpert_dir, tmp_path):
    data = load(chexpert_dir, tmp_path)
    text = format_filtering_table(data.meta["filtering"], counts(data))
    lines = text.splitlines()
    assert lines[0].split() == ["Step", "Removed", "Remaining"]
    assert lines[2].startswith("rows in train.csv") and lines[2].split()[-2:] == ["-", "28"]
    assert any(
        line.startswith("lateral view") and line.split()[-2:] == ["2", "26"] for line in lines
    )
    assert lines[-1].split()[-1] == "2" and "Enlarged Cardiac Silhouette" in lines[-1]
    with pytest.raises(ValueError, match="triple"):
        format_filtering_table([("only a name",)])


def test_mixed_modes_converted_and_counted(chexpert_dir, tmp_path):
    data = load(chexpert_dir, tmp_path)
    assert data.meta["converted_modes"] == {"LA": 1, "RGB": 2}
    assert data.meta["converted_to_grayscale"] == 3


def test_data_dir_may_be_the_csv_folder_or_its_parent(chexpert_dir, tmp_path):
    a = load(chexpert_dir, tmp_path)
    b = load(chexpert_dir / "CheXpert-v1.0-small", tmp_path)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_registered_in_datasets(chexpert_dir, tmp_path):
    data = load_dataset(
        "chexpert", "train", data_dir=chexpert_dir, size=8, cache_dir=tmp_path / "c"
    )
    assert len(data) == 16


def test_test_split_used_as_is_with_multi_hot(chexpert_dir, tmp_path):
    data = load(chexpert_dir, tmp_path, split="test")
    assert data.class_names == ("Normal", "Abnormal")
    assert data.labels.tolist() == [0, 0, 1, 1, 1, 1]
    assert steps(data) == [
        ("rows in valid.csv (used as is)", 0, 6),
        ("image file not found", 0, 6),
        ("image file unreadable", 0, 6),
    ]
    assert data.meta["multi_hot_names"] == SUBCONDITIONS
    np.testing.assert_array_equal(
        data.meta["rows"]["multi_hot"],
        [
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [0] * 5,
            [0, 0, 0, 0, 1],
            [0, 0, 0, 1, 0],
        ],
    )
    assert data.meta["rows"]["class_label"].tolist() == [0, 0, -1, -1, 5, 4]


def test_custom_test_csv(chexpert_dir, tmp_path):
    data = load(
        chexpert_dir,
        tmp_path,
        split="test",
        test_csv=chexpert_dir / "CheXpert-v1.0-small" / "train.csv",
    )
    assert len(data) == 28  # as is: laterals and every label combination kept
    assert data.meta["rows"]["class_label"][:3].tolist() == [0, 2, 0]


def test_missing_files_counted_and_threshold(chexpert_dir, tmp_path):
    for row in (13, 28):
        (chexpert_dir / rel_path("train", row, F)).unlink()
    with pytest.raises(ValueError, match=r"2 of 16 image files .*max_missing_fraction=0.01"):
        load(chexpert_dir, tmp_path)
    data = load(chexpert_dir, tmp_path, max_missing_fraction=0.2)
    assert steps(data)[-2] == ("image file not found", 2, 14)
    assert data.meta["missing_files"] == 2
    assert data.meta["missing_examples"] == [rel_path("train", r, F) for r in (13, 28)]
    assert len(data) == 14
    # files of rows the filters removed are not looked for
    (chexpert_dir / rel_path("train", 1, L)).unlink()
    assert len(load(chexpert_dir, tmp_path, max_missing_fraction=0.2)) == 14


def test_unreadable_image_skipped_or_raised(chexpert_dir, tmp_path):
    (chexpert_dir / rel_path("train", 28, F)).write_bytes(b"not a jpeg at all")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = load(chexpert_dir, tmp_path)
    assert steps(data)[-1] == ("image file unreadable", 1, 15)
    assert data.meta["skipped"][0]["path"].endswith(rel_path("train", 28, F))
    assert len(data) == 15
    with pytest.raises(ValueError, match="cannot read image .*view1_frontal.jpg"):
        load(chexpert_dir, tmp_path, on_error="raise", cache=False)
    with pytest.raises(ValueError, match="recorded in the cache"):
        load(chexpert_dir, tmp_path, on_error="raise")


def test_missing_columns_named(tmp_path):
    header = [h for h in HEADER if h not in ("Fracture", "Frontal/Lateral")]
    write_split(tmp_path, "train", TRAIN_ROWS[:3], header=header, modes=False)
    with pytest.raises(
        ValueError, match=r"lacks the column\(s\) \['Frontal/Lateral', 'Fracture'\]"
    ):
        load(tmp_path, tmp_path)


def test_unknown_label_values_counted(tmp_path):
    rows = [
        (F, {"Edema": "2.0"}),
        (F, {"Edema": "2.0", "Fracture": "yes"}),
        (F, {"Fracture": "yes"}),
        (F, {"No Finding": "1.0"}),
    ]
    write_split(tmp_path, "train", rows, modes=False)
    with pytest.raises(ValueError, match=r"3 row\(s\) hold values outside") as info:
        load(tmp_path, tmp_path)
    assert "'Edema': '2.0' (2 rows)" in str(info.value)
    assert "'Fracture': 'yes' (2 rows)" in str(info.value)


def test_unknown_view_value(tmp_path):
    write_split(tmp_path, "train", [("Oblique", {"No Finding": "1.0"})], modes=False)
    with pytest.raises(ValueError, match="outside {Frontal, Lateral}"):
        load(tmp_path, tmp_path)


def test_not_found_and_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="register at"):
        load(tmp_path / "nowhere", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="download=True cannot fetch CheXpert"):
        load(tmp_path / "nowhere", tmp_path, download=True)


def test_bad_options(chexpert_dir, tmp_path):
    with pytest.raises(ValueError, match="uncertain='maybe'"):
        load(chexpert_dir, tmp_path, uncertain="maybe")
    with pytest.raises(ValueError, match="max_missing_fraction"):
        load(chexpert_dir, tmp_path, max_missing_fraction=2.0)
    with pytest.raises(TypeError, match="size"):
        load(chexpert_dir, tmp_path, size="big")


def test_cache_round_trip_reads_memmap_not_images(chexpert_dir, tmp_path, monkeypatch):
    first = load(chexpert_dir, tmp_path)
    assert not first.meta["from_cache"]
    assert isinstance(first.images, np.memmap)

    def boom(*args, **kwargs):
        raise AssertionError("the second load must not decode images")

    monkeypatch.setattr(image_cache, "read_image", boom)
    second = load(chexpert_dir, tmp_path)
    assert second.meta["from_cache"]
    assert isinstance(second.images, np.memmap) and not second.images.flags.writeable
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert second.meta["converted_modes"] == first.meta["converted_modes"]
    # another size is another cache entry (and needs decoding)
    with pytest.raises(AssertionError, match="must not decode"):
        load(chexpert_dir, tmp_path, size=4)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert not list((tmp_path / "cache").glob(".*tmp"))  # nothing half-written left behind


def test_truncated_rows_and_empty_file(tmp_path):
    path = write_split(tmp_path, "train", TRAIN_ROWS[:3], modes=False)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[-1].split(",")[0] + ",Male,50"]) + "\n")
    with pytest.raises(ValueError, match=r"1 row\(s\) have fewer cells .*line 5"):
        load(tmp_path, tmp_path)
    path.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load(tmp_path, tmp_path)
