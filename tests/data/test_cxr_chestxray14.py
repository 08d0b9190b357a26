"""NIH ChestX-ray14 reader on generated files in the true schema (tiny PNGs)."""

import csv

import numpy as np
import pytest
from PIL import Image

from deepbalance.data import load_dataset
from deepbalance.data.chestxray14 import (
    chestxray14_filtering,
    load_chestxray14,
    parse_finding_labels,
    read_expert_labels,
    read_expert_normal_labels,
)
from deepbalance.data.cxr_common import CXR_CLASSES, SUBCONDITIONS

# The distributed header: the bracketed names hold commas, so they split into two columns, and
# every line ends with a comma (an unnamed empty column).
HEADER = [
    "Image Index",
    "Finding Labels",
    "Follow-up #",
    "Patient ID",
    "Patient Age",
    "Patient Gender",
    "View Position",
    "OriginalImage[Width",
    "Height]",
    "OriginalImagePixelSpacing[x",
    "y]",
    "",
]
# (image, findings, view); the comment is the outcome in the training split (default options)
TRAIN = [
    ("00000001_000.png", "No Finding", "PA"),  # Normal
    ("00000001_001.png", "Nodule", "PA"),  # Lung Lesion
    ("00000002_000.png", "Mass|Nodule", "AP"),  # Lung Lesion (merged)
    ("00000003_000.png", "Pneumothorax", "PA"),  # Pneumothorax
    ("00000004_000.png", "Infiltration", "PA"),  # Opacity (or dropped: infiltration option)
    ("00000005_000.png", "Atelectasis|Consolidation", "PA"),  # Opacity
    ("00000006_000.png", "Cardiomegaly", "PA"),  # Enlarged Cardiac Silhouette (RGBA file)
    ("00000007_000.png", "Cardiomegaly|Effusion", "PA"),  # seed's drop
    ("00000008_000.png", "Hernia", "PA"),  # no counterpart
    ("00000009_000.png", "Mass|Pneumothorax", "PA"),  # several
    ("00000010_000.png", "Emphysema|Infiltration", "PA"),  # no counterpart
    ("00000011_000.png", "Pleural_Thickening", "PA"),  # seed's drop
    ("00000012_000.png", "No Finding", "LL"),  # not frontal
    ("00000013_000.png", "", "PA"),  # no specific condition
    ("00000014_000.png", "No Finding|Nodule", "PA"),  # No Finding + condition
]
TEST = [
    ("00000020_000.png", "No Finding", "PA"),
    ("00000021_000.png", "Effusion|Nodule", "PA"),
    ("00000022_000.png", "Pneumothorax", "AP"),
    ("00000023_000.png", "Fibrosis", "PA"),
]


def grey(name: str) -> int:
    return 4 * int(name[:8]) + (40 if name[9:12] == "001" else 0)


def write_nih(root, train=TRAIN, test=TEST):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "Data_Entry_2017.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for name, findings, view in [*train, *test]:
            writer.writerow(
                [
                    name,
                    findings,
                    "0",
                    name[:8].lstrip("0"),
                    "58",
                    "M",
                    view,
                    "2682",
                    "2749",
                    "0.143",
                    "0.143",
                    "",
                ]
            )
    (root / "train_val_list.txt").write_text(
        "\n".join([n for n, _, _ in train] + ["00000099_000.png"]) + "\n"
    )
    (root / "test_list.txt").write_text("\n".join(n for n, _, _ in test) + "\n")
    for k, (name, _, _) in enumerate([*train, *test]):
        folder = root / f"images_{1 + k % 2:03d}" / "images"  # as unpacked from the archives
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.full((16, 16), grey(name), dtype=np.uint8)
        if name == "00000006_000.png":
            rgba = np.stack([pixels] * 3 + [np.full_like(pixels, 255)], axis=-1)
            Image.fromarray(rgba, "RGBA").save(folder / name)
        else:
            Image.fromarray(pixels).save(folder / name)


@pytest.fixture
def nih_dir(tmp_path):
    root = tmp_path / "nih"
    write_nih(root)
    return root


def load(root, tmp_path, split="train", **kw):
    return load_chestxray14(split, data_dir=root, size=8, cache_dir=tmp_path / "cache", **kw)


def test_training_split_mapping_and_table(nih_dir, tmp_path):
    data = load(nih_dir, tmp_path)
    table = [tuple(s) for s in data.meta["filtering"]]
    assert [(r, n) for _, r, n in table] == [
        (0, 19),  # rows in Data_Entry_2017.csv
        (4, 15),  # not in train_val_list.txt
        (1, 14),  # not frontal
        (0, 14),  # merge
        (1, 13),  # finding but no specific condition
        (1, 12),  # No Finding + condition
        (1, 11),  # several sub-conditions
        (2, 9),  # Edema, Effusion, Pleural_Thickening
        (2, 7),  # Emphysema, Fibrosis, Hernia
        (0, 7),  # image file not found
        (0, 7),  # image file unreadable
    ]
    assert table[1][0] == "not in train_val_list.txt"
    assert "Infiltration -> Focal/Multifocal Lung Opacity" in table[3][0]
    assert table[8][0].startswith("Emphysema, Fibrosis, Hernia positive")
    assert data.class_names == CXR_CLASSES
    assert data.labels.tolist() == [0, 1, 1, 2, 4, 4, 5]
    assert data.class_counts()[CXR_CLASSES.index("Fracture")] == 0  # NIH-14 has no fracture
    assert data.meta["empty_classes"] == ["Fracture"]
    names = [n for n, _, _ in TRAIN]
    kept = [names[i] for i in data.meta["rows"]["csv_row"]]
    means = data.images.reshape(len(data), -1).mean(axis=1)
    np.testing.assert_allclose(means, [grey(n) for n in kept], atol=1)
    assert data.meta["converted_modes"] == {"RGBA": 1}
    assert data.meta["listed_not_in_csv"] == 1
    assert data.meta["rows"]["patient"].tolist()[:2] == ["1", "1"]


def test_infiltration_option(nih_dir, tmp_path):
    data = load(nih_dir, tmp_path, infiltration_as_opacity=False)
    table = data.meta["filtering"]
    assert table[8].step.startswith("Emphysema, Fibrosis, Hernia, Infiltration positive")
    assert (table[8].removed, table[8].remaining) == (3, 6)
    assert data.labels.tolist() == [0, 1, 1, 2, 4, 5]
    table2, class_counts = chestxray14_filtering(nih_dir, infiltration_as_opacity=False)
    assert table2 == table[:-2]
    assert class_counts["Focal/Multifocal Lung Opacity"] == 1


def test_images_directly_under_images(tmp_path):
    root = tmp_path / "flat"
    write_nih(root)
    flat = root / "images"
    flat.mkdir()
    for sub in sorted(root.glob("images_*")):
        for f in (sub / "images").iterdir():
            f.rename(flat / f.name)
    data = load(root, tmp_path)
    assert len(data) == 7


def test_test_split_as_is(nih_dir, tmp_path):
    data = load_dataset("chestxray14", "test", data_dir=nih_dir, size=8, cache_dir=tmp_path / "c")
    assert data.class_names == ("Normal", "Abnormal")
    assert data.labels.tolist() == [0, 1, 1, 1]
    assert [(r, n) for _, r, n in data.meta["filtering"]] == [(0, 19), (15, 4), (0, 4), (0, 4)]
    np.testing.assert_array_equal(
        data.meta["rows"]["multi_hot"],
        [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]],
    )
    assert data.meta["multi_hot_names"] == SUBCONDITIONS
    assert data.meta["multi_hot_source"] == ("nih", "nih", "none", "nih", "nih")
    assert data.meta["rows"]["class_label"].tolist() == [0, -1, 2, -1]


def write_expert(
    path,
    rows,
    header=(
        "Image Index",
        "Patient ID",
        "Fracture",
        "Pneumothorax",
        "Airspace opacity",
        "Nodule or mass",
    ),
):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_expert_labels_subset(nih_dir, tmp_path):
    expert = write_expert(
        tmp_path / "expert.csv",
        [
            ["00000020_000.png", "20", "YES", "NO", "NO", "NO"],
            ["00000022_000.png", "22", "no", "yes", "NO", "NO"],
            ["00000099_000.png", "99", "NO", "NO", "YES", "NO"],
        ],
    )
    data = load(nih_dir, tmp_path, split="test", expert_labels=expert)
    table = data.meta["filtering"]
    assert table[2].step == "no expert label (not in expert.csv)"
    assert (table[2].removed, table[2].remaining) == (2, 2)
    assert data.labels.tolist() == [0, 1]  # binary label from NIH's Finding Labels
    np.testing.assert_array_equal(
        data.meta["rows"]["multi_hot"], [[0, 0, 1, 0, 0], [0, 1, 0, 0, 0]]
    )
    assert data.meta["multi_hot_source"] == ("expert", "expert", "expert", "expert", "nih")
    assert data.meta["expert_not_in_split"] == 1
    assert data.meta["rows"]["class_label"].tolist() == [-1, 2]


def test_expert_reader_errors(tmp_path):
    header = ("Image Index", "nodule or MASS")
    path = write_expert(tmp_path / "a.csv", [["x.png", "YES"], ["y.png", "no"]], header=header)
    images, labels, graded = read_expert_labels(path)
    assert images == ["x.png", "y.png"] and graded == ("Lung Lesion",)
    assert labels[:, 0].tolist() == [1.0, 0.0] and np.isnan(labels[:, 1:]).all()
    with pytest.raises(ValueError, match="none of the finding columns"):
        read_expert_labels(
            write_expert(tmp_path / "b.csv", [["x.png", "1"]], header=("Image Index", "Reader"))
        )
    with pytest.raises(ValueError, match="appear more than once"):
        read_expert_labels(
            write_expert(tmp_path / "c.csv", [["x.png", "", "YES", "NO", "NO", "NO"]] * 2)
        )
    with pytest.raises(ValueError, match=r"2 row\(s\) hold values outside {YES, NO}"):
        read_expert_labels(
            write_expert(
                tmp_path / "d.csv",
                [
                    ["x.png", "", "MAYBE", "NO", "NO", "NO"],
                    ["y.png", "", "NO", "?", "NO", "NO"],
                    ["z.png", "", "NO", "NO", "NO", "NO"],
                ],
            )
        )


def test_expert_labels_only_for_test(nih_dir, tmp_path):
    with pytest.raises(ValueError, match="test split only"):
        load(nih_dir, tmp_path, expert_labels=tmp_path / "e.csv")
    with pytest.raises(ValueError, match="expert_normal=.*test split only"):
        load(nih_dir, tmp_path, expert_normal=tmp_path / "e.csv")


def write_lines(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_expert_normal_labels_replace_the_binary_labels(nih_dir, tmp_path):
    # NIH says: 20 normal, 21 abnormal, 22 abnormal, 23 abnormal; the experts disagree on 22
    expert = write_lines(
        tmp_path / "normal.csv",
        "Image Index,Patient ID,Abnormal\n"
        "00000020_000.png,20,NO\n"
        "\n"
        "00000022_000.png,22,no\n"
        "00000023_000.png,23,\n"  # ungraded: skipped, counted
        ",,YES\n"  # no image: skipped, counted
        "00000021_000.png,21,1\n"
        "00000001_000.png,1,YES\n",  # a training image: not in the test split
    )
    data = load(nih_dir, tmp_path, split="test", expert_normal=expert)
    table = data.meta["filtering"]
    assert table[2].step == "no expert normal/abnormal label (not in normal.csv)"
    assert (table[2].removed, table[2].remaining) == (1, 3)
    assert data.labels.tolist() == [0, 1, 0]  # images 20, 21, 22
    assert data.meta["label_source"] == "expert" and data.meta["expert_normal_skipped"] == 2
    assert data.meta["expert_normal_not_in_split"] == 1
    plain = load(nih_dir, tmp_path, split="test")
    assert plain.meta["label_source"] == "nih" and plain.labels.tolist() == [0, 1, 1, 1]


def test_expert_normal_reader_formats(tmp_path):
    a = write_lines(tmp_path / "a.csv", "image_id,NORMAL\nx.png,yes\ny.png,False\n")
    images, abnormal, skipped = read_expert_normal_labels(a)
    assert (images, abnormal.tolist(), skipped) == (["x.png", "y.png"], [0, 1], 0)
    b = write_lines(tmp_path / "b.csv", "Image ID,Label\nx.png,Abnormal\ny.png,normal\n")
    assert read_expert_normal_labels(b)[1].tolist() == [1, 0]


@pytest.mark.parametrize(
    "text, known, match",
    [
        (
            "Image Index,Abnormal\nx.png,YES\ny.png,maybe\n",
            None,
            r"bad.csv, line 3: Abnormal='maybe'",
        ),
        ("Image Index,Label\n\nx.png,sick\n", None, r"line 3: Label='sick' is not a label"),
        ("Image Index,Abnormal\nx.png,1\nz.png,0\n", {"x.png"}, r"line 3: image 'z.png' is not in"),
        ("Image Index,Abnormal\nx.png,1\nx.png,0\n", None, r"line 3: .*already labelled at line 2"),
        ("Image Index,Abnormal,Normal\nx.png,1,0\n", None, "one label column"),
        ("Image,Abnormal\nx.png,1\n", None, "one image column"),
        ("Image Index,Abnormal\nx.png\n", None, r"line 2: 1 cell\(s\)"),
        ("", None, "is empty"),
    ],
)
def test_expert_normal_reader_errors(tmp_path, text, known, match):
    path = write_lines(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=match):
        read_expert_normal_labels(path, known_images=known)


def test_expert_normal_unknown_image_stops_the_load(nih_dir, tmp_path):
    expert = write_lines(
        tmp_path / "e.csv", "Image Index,Abnormal\n00000020_000.png,NO\nnope.png,YES\n"
    )
    with pytest.raises(ValueError, match=r"e.csv, line 3: image 'nope.png' is not in Data_Entry"):
        load(nih_dir, tmp_path, split="test", expert_normal=expert)


def test_unknown_finding_names_counted(tmp_path):
    root = tmp_path / "bad"
    write_nih(
        root,
        train=[
            *TRAIN[:3],
            ("00000030_000.png", "Pneumonitis|Mass", "PA"),
            ("00000031_000.png", "Pneumonitis", "PA"),
        ],
    )
    with pytest.raises(
        ValueError, match=r"2 row\(s\) have unknown names .*'Pneumonitis' \(2 rows\)"
    ):
        load(root, tmp_path)


def test_finding_names_tolerant_of_case_and_underscores():
    out = parse_finding_labels(["pleural thickening|NODULE", "No Finding", ""])
    assert out[0].sum() == 2 and out[1, -1] and not out[2].any()


def test_missing_columns_and_lists(tmp_path):
    root = tmp_path / "cols"
    root.mkdir()
    (root / "Data_Entry_2017.csv").write_text("Image Index,Patient ID\nx.png,1\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['Finding Labels'\]"):
        load(root, tmp_path)
    root2 = tmp_path / "nolist"
    write_nih(root2)
    (root2 / "test_list.txt").unlink()
    with pytest.raises(ValueError, match="test_list.txt is missing"):
        load(root2, tmp_path, split="test")


def test_missing_images_threshold(nih_dir, tmp_path):
    for f in nih_dir.glob("images_*/images/00000003_000.png"):
        f.unlink()
    with pytest.raises(ValueError, match=r"1 of 7 image files"):
        load(nih_dir, tmp_path)
    data = load(nih_dir, tmp_path, max_missing_fraction=0.5)
    assert data.meta["filtering"][-2][1:] == (1, 6)
    assert data.meta["missing_examples"] == ["00000003_000.png"]
