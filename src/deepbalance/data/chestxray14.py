"""NIH ChestX-ray14 (112,120 frontal radiographs) mapped onto CheXpert's six classes.

Files (as distributed by the NIH Clinical Center): ``Data_Entry_2017.csv`` (or
``Data_Entry_2017_v2020.csv``) with the columns ``Image Index``, ``Finding Labels`` (findings
joined by ``|``, ``No Finding`` for normal), ``Follow-up #``, ``Patient ID``, ``Patient Age``,
``Patient Gender``, ``View Position``, ``OriginalImage[Width, Height]``,
``OriginalImagePixelSpacing[x, y]`` — only the first two are required; the official
patient-wise split ``train_val_list.txt`` / ``test_list.txt``; and the PNGs under ``images/``
or, as unpacked from the archives, ``images_001/images/`` … ``images_012/images/``.

Mapping onto the six classes (:data:`CONDITION_SOURCES`):

- Lung Lesion ← Nodule, Mass;
- Pneumothorax ← Pneumothorax;
- Fracture: NIH-14 has no fracture label, so this class is empty in the training split (only the
  expert labels below mark fractures). Pass the four other sub-conditions to the frameworks;
- Focal/Multifocal Lung Opacity ← Atelectasis, Consolidation, Pneumonia and, by default,
  Infiltration: CheXpert's merged class contains its "Lung Opacity", whose labeler phrases
  include infiltrates, so NIH's Infiltration is its nearest counterpart.
  ``infiltration_as_opacity=False`` drops Infiltration rows instead;
- Enlarged Cardiac Silhouette ← Cardiomegaly.

Training split (rows in ``train_val_list.txt``): the same steps as CheXpert — all images are
frontal (PA/AP; other view positions would be removed), NIH has no uncertain labels, then the
merge, "finding but no specific condition", "No Finding with a condition", "several
sub-conditions", rows positive for Edema, Effusion or Pleural_Thickening (the seed's drops),
rows positive for Emphysema, Fibrosis or Hernia (no counterpart among the six classes), missing
and unreadable image files.

Test split (rows in ``test_list.txt``), as is: binary labels (0 = "No Finding",
``meta["normal_class"]``), per-row ``multi_hot`` (N, 5) over the sub-conditions and
``class_label`` in ``meta["rows"]``. With ``expert_labels=`` (the adjudicated radiologist
labels published by Google for a subset of the test images, e.g.
``four_findings_expert_labels_test_labels.csv``), the test split is that subset and the expert
columns replace NIH's in ``multi_hot`` — see :func:`read_expert_labels`.

Expert normal/abnormal labels (the seed, CLE-SMOTE CXR 2024 §3, evaluates on "a portion of the test
split of ChestX-ray14" with the expert labels of Nabulsi et al. 2021): ``expert_normal=`` names a
user-supplied CSV (:func:`read_expert_normal_labels` documents the format). The test split is
then the images that file grades and their binary label is the expert's; NIH's (or the
four-findings file's) per-sub-condition ``multi_hot`` is kept as is. Rows with an empty image
name or label are skipped and counted (``meta["expert_normal_skipped"]``); an image that is not
in ``Data_Entry_2017.csv``, a repeated image or an unreadable value stops with an error naming
the file and line.

A relative ``expert_labels`` / ``expert_normal`` path is tried as given, then in the ChestX-ray14
folder (beside ``Data_Entry_2017.csv``), so a spec can name the file alone; a file found in
neither place is an error naming both places and the columns the file needs.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np

from .._checks import check_choice
from .cxr_common import (
    BINARY_CLASSES,
    CARDIAC_SILHOUETTE,
    CXR_CLASSES,
    FRACTURE,
    LUNG_LESION,
    LUNG_OPACITY,
    MAX_MISSING_FRACTION,
    PNEUMOTHORAX,
    SUBCONDITIONS,
    FilterLog,
    FilterStep,
    binary_abnormal,
    check_load_options,
    check_missing_fraction,
    filter_conditions,
    finish_image_set,
    parse_columns,
    read_csv_columns,
    single_class_labels,
)
from .locations import not_found, search_dirs
from .registry import register_dataset

FINDINGS = (
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Effusion",
    "Emphysema",
    "Fibrosis",
    "Hernia",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pleural_Thickening",
    "Pneumonia",
    "Pneumothorax",
)
NO_FINDING = "No Finding"
CONDITION_SOURCES = {
    LUNG_LESION: ("Nodule", "Mass"),
    PNEUMOTHORAX: ("Pneumothorax",),
    FRACTURE: (),
    LUNG_OPACITY: ("Atelectasis", "Consolidation", "Pneumonia", "Infiltration"),
    CARDIAC_SILHOUETTE: ("Cardiomegaly",),
}
#: The seed's dropped conditions, under their NIH names.
DROPPED = ("Edema", "Effusion", "Pleural_Thickening")
#: NIH findings with no counterpart among the six classes; their rows are dropped too.
NO_COUNTERPART = ("Emphysema", "Fibrosis", "Hernia")
FRONTAL_VIEWS = ("PA", "AP")
ENTRY_FILES = ("Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv")
LIST_FILES = {"train": "train_val_list.txt", "test": "test_list.txt"}
SPLITS = ("train", "test")
#: Expert-label column (normalised: lower case, single spaces) → sub-condition.
EXPERT_COLUMNS = {
    "fracture": FRACTURE,
    "pneumothorax": PNEUMOTHORAX,
    "airspace opacity": LUNG_OPACITY,
    "nodule or mass": LUNG_LESION,
    "nodule/mass": LUNG_LESION,
}
_EXPERT_VALUES = {
    "yes": 1.0,
    "y": 1.0,
    "true": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "no": 0.0,
    "n": 0.0,
    "false": 0.0,
    "0": 0.0,
    "0.0": 0.0,
}
_HOW_TO_GET = (
    "ChestX-ray14 cannot be downloaded automatically here: get Data_Entry_2017.csv, "
    "train_val_list.txt, test_list.txt and images_001..012 from "
    "https://nihcc.app.box.com/v/ChestXray-NIHCC and unpack the image archives in that folder",
)


def _normal_name(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip()).lower()


_KNOWN = {_normal_name(f): f for f in (*FINDINGS, NO_FINDING)}


def parse_finding_labels(values, *, path: Path | str = "Data_Entry_2017.csv") -> np.ndarray:
    """Turn ``Finding Labels`` strings into a bool matrix ``(N, 15)``: ``FINDINGS`` + No Finding.

    Names match case-insensitively, with spaces and underscores alike ("Pleural Thickening").

    Raises
    ------
    ValueError
        Unknown finding names, with their row counts.
    """
    columns = [*FINDINGS, NO_FINDING]
    out = np.zeros((len(values), len(columns)), dtype=bool)
    memo: dict[str, tuple[list[int], list[str]]] = {}
    bad: Counter = Counter()
    bad_rows = 0
    for i, text in enumerate(values):
        parsed = memo.get(text)
        if parsed is None:
            idx, unknown = [], []
            for part in (p.strip() for p in text.split("|")):
                name = _KNOWN.get(_normal_name(part)) if part else None
                if part and name is None:
                    unknown.append(part)
                elif part:
                    idx.append(columns.index(name))
            parsed = memo[text] = (idx, unknown)
        idx, unknown = parsed
        if unknown:
            bad_rows += 1
            bad.update(set(unknown))
        else:
            out[i, idx] = True
    if bad:
        shown = ", ".join(f"{k!r} ({n} row{'s' if n != 1 else ''})" for k, n in bad.items())
        raise ValueError(
            f"{path}: {bad_rows} row(s) have unknown names in 'Finding Labels': {shown}. "
            f"Known: {', '.join(columns)} (joined by '|'); fix or remove those rows"
        )
    return out


def read_data_entry(path: str | os.PathLike) -> dict:
    """Read ``Data_Entry_2017.csv``: image names, findings matrix and optional columns."""
    path = Path(path)
    cols = read_csv_columns(path, ("Image Index", "Finding Labels"), what="ChestX-ray14 file")
    n = len(cols["Image Index"])
    views = np.asarray([v.upper() for v in cols.get("View Position", ["PA"] * n)], dtype=str)
    return {
        "image": cols["Image Index"],
        "findings": parse_finding_labels(cols["Finding Labels"], path=path),
        "view": views,
        "patient": np.asarray(cols.get("Patient ID", [""] * n), dtype=str),
        "age": np.asarray(cols.get("Patient Age", [""] * n), dtype=str),
        "sex": np.asarray(cols.get("Patient Gender", [""] * n), dtype=str),
        "follow_up": np.asarray(cols.get("Follow-up #", [""] * n), dtype=str),
    }


def read_image_list(path: str | os.PathLike) -> list[str]:
    """One image name per line (``train_val_list.txt`` / ``test_list.txt``)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the image list {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip()]


def read_expert_labels(path: str | os.PathLike) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """Read adjudicated expert labels for (part of) the test split.

    Expected columns: ``Image Index`` and at least one of ``Fracture``, ``Pneumothorax``,
    ``Airspace opacity`` (→ Focal/Multifocal Lung Opacity), ``Nodule or mass`` (→ Lung
    Lesion), matched case-insensitively; values YES/NO (also Y/N, TRUE/FALSE, 1/0). Other
    columns (Patient ID, age, ...) are ignored. One row per image: the individual readers'
    file (several rows per image) is rejected.

    Returns
    -------
    images : list of str
    labels : float array (N, 5)
        1/0 per sub-condition in ``SUBCONDITIONS`` order; NaN for sub-conditions the file
        does not grade.
    graded : tuple of str
        Sub-conditions the file grades.
    """
    path = Path(path)
    cols = read_csv_columns(path, ("Image Index",), what="expert label file")
    present = {}
    for name in cols:
        cond = EXPERT_COLUMNS.get(_normal_name(name))
        if cond is not None and cond not in present.values():
            present[name] = cond
    if not present:
        raise ValueError(
            f"expert label file {path} has none of the finding columns 'Fracture', "
            "'Pneumothorax', 'Airspace opacity', 'Nodule or mass'; found "
            f"{list(cols)}. Pass the adjudicated test labels CSV"
        )
    images = cols["Image Index"]
    seen, dupes = set(), []
    for name in images:
        (dupes.append(name) if name in seen else seen.add(name))
    if dupes:
        raise ValueError(
            f"expert label file {path}: {len(dupes)} image(s) appear more than once (first "
            f"{dupes[0]!r}); pass the adjudicated labels (one row per image), not the "
            "individual readers' file"
        )
    names = list(present)
    values = parse_columns(
        cols,
        names,
        lambda t: _EXPERT_VALUES.get(t.lower()),
        what="expert label file",
        path=path,
        allowed="{YES, NO}",
    )
    labels = np.full((len(images), len(SUBCONDITIONS)), np.nan)
    for j, name in enumerate(names):
        labels[:, SUBCONDITIONS.index(present[name])] = values[:, j]
    graded = tuple(c for c in SUBCONDITIONS if c in present.values())
    return images, labels, graded


#: accepted image-name columns of an expert normal/abnormal file (normalised names)
EXPERT_NORMAL_IMAGE_COLUMNS = ("image index", "image id")
#: label columns: name → whether a "yes" means abnormal
EXPERT_NORMAL_LABEL_COLUMNS = {"abnormal": True, "normal": False, "label": None}
_NORMAL_WORDS = {"normal": 0, "abnormal": 1}


def read_expert_normal_labels(
    path: str | os.PathLike, *, known_images=None
) -> tuple[list[str], np.ndarray, int]:
    """Read expert normal/abnormal labels for ChestX-ray14 test images (CLE-SMOTE CXR 2024 §3).

    Format: a UTF-8 CSV whose header names

    - the image, as ``Image Index`` (NIH's name, e.g. ``00000003_000.png``) or ``Image ID``;
    - the label, in exactly one of the columns ``Abnormal`` (YES/NO, Y/N, TRUE/FALSE, 1/0;
      yes = abnormal), ``Normal`` (the same values; yes = normal) or ``Label`` (NORMAL or
      ABNORMAL).

    Column names and values match case-insensitively (underscores count as spaces); other
    columns are ignored. Bad rows — an empty image name or an empty label (ungraded) — are
    skipped and counted; blank lines are ignored.

    Parameters
    ----------
    path : str or Path
    known_images : collection of str, optional
        Every image name of ``Data_Entry_2017.csv``; a row naming another image is an error.

    Returns
    -------
    images : list of str
    abnormal : int64 array (N,)
        1 = abnormal, 0 = normal.
    skipped : int
        Bad rows skipped.

    Raises
    ------
    ValueError
        A missing or ambiguous column, a short row, an unknown value, an image not in
        ``known_images`` or an image listed twice — naming the file and the line.
    """
    path = Path(path)
    what = f"expert normal/abnormal file {path}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(_numbered_rows(csv.reader(f)))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not a UTF-8 text CSV ({exc})") from None
    except csv.Error as exc:
        raise ValueError(f"{what} is not a readable CSV ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot read {what}: {exc}") from None
    if not rows:
        raise ValueError(f"{what} is empty; expected a header with 'Image Index' and 'Abnormal'")
    header = [_normal_name(h) for h in rows[0][1]]
    image_cols = [k for k, h in enumerate(header) if h in EXPERT_NORMAL_IMAGE_COLUMNS]
    label_cols = [k for k, h in enumerate(header) if h in EXPERT_NORMAL_LABEL_COLUMNS]
    if len(image_cols) != 1 or len(label_cols) != 1:
        raise ValueError(
            f"{what} needs one image column ('Image Index' or 'Image ID') and one label column "
            f"('Abnormal', 'Normal' or 'Label'); its header is {rows[0][1]}"
        )
    image_col, label_col = image_cols[0], label_cols[0]
    yes_is_abnormal = EXPERT_NORMAL_LABEL_COLUMNS[header[label_col]]
    label_name = rows[0][1][label_col].strip()
    need = max(image_col, label_col) + 1
    images: list[str] = []
    abnormal: list[int] = []
    first_line: dict[str, int] = {}
    skipped = 0
    known = None if known_images is None else set(known_images)
    for line, row in rows[1:]:
        if len(row) < need:
            raise ValueError(
                f"{what}, line {line}: {len(row)} cell(s), fewer than the header's; the file "
                "looks truncated or mis-quoted"
            )
        name, value = row[image_col].strip(), row[label_col].strip()
        if not name or not value:
            skipped += 1
            continue
        if yes_is_abnormal is None:
            label = _NORMAL_WORDS.get(value.lower())
            allowed = "NORMAL or ABNORMAL"
        else:
            flag = _EXPERT_VALUES.get(value.lower())
            label = None if flag is None else int(flag == (1.0 if yes_is_abnormal else 0.0))
            allowed = "YES/NO, Y/N, TRUE/FALSE or 1/0"
        if label is None:
            raise ValueError(
                f"{what}, line {line}: {label_name}={value!r} is not a label; use {allowed}"
            )
        if known is not None and name not in known:
            raise ValueError(
                f"{what}, line {line}: image {name!r} is not in Data_Entry_2017.csv; fix the "
                "name or remove the row"
            )
        if name in first_line:
            raise ValueError(
                f"{what}, line {line}: image {name!r} is already labelled at line "
                f"{first_line[name]}; keep one row per image (the adjudicated label)"
            )
        first_line[name] = line
        images.append(name)
        abnormal.append(label)
    return images, np.asarray(abnormal, dtype=np.int64), skipped


#: the columns an expert label file needs, for the error about a missing one
EXPERT_LABEL_FORMAT = (
    "a CSV with the columns 'Image Index' and at least one of 'Fracture', 'Pneumothorax', "
    "'Airspace opacity', 'Nodule or mass' (YES/NO), one row per image"
)
EXPERT_NORMAL_FORMAT = (
    "a CSV with an image column 'Image Index' (or 'Image ID') and one label column: "
    "'Abnormal' (YES/NO), 'Normal' (YES/NO) or 'Label' (NORMAL/ABNORMAL), one row per image "
    "(the expert labels of Nabulsi et al. 2021)"
)


def _expert_file(value, root: Path, option: str, expected: str) -> Path:
    """``value`` as given, else in ``root``; an error naming both places and the format."""
    if isinstance(value, bytes) or not isinstance(value, str | os.PathLike):
        raise TypeError(f"{option}={value!r} must be a path to a CSV file (str or Path)")
    given = Path(value).expanduser()
    tried = [given] if given.is_absolute() else [given, root / given]
    for path in tried:
        if path.is_file():
            return path
    where = " or ".join(str(p) for p in tried)
    raise FileNotFoundError(
        f"{option}={str(value)!r}: no such file ({where}). It should be {expected}; put it "
        f"beside {ENTRY_FILES[0]} in {root} or pass its path"
    )


def _numbered_rows(reader):
    """``(line, row)`` of every non-blank CSV row, ``line`` 1-based where the row starts."""
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            yield start, row
        start = reader.line_num + 1


def _groups(findings: np.ndarray, infiltration_as_opacity: bool):
    """(no_finding, groups (N, 5), drops list) from the findings matrix."""
    col = {name: k for k, name in enumerate(FINDINGS)}
    sources = dict(CONDITION_SOURCES)
    unmapped = list(NO_COUNTERPART)
    if not infiltration_as_opacity:
        sources[LUNG_OPACITY] = tuple(s for s in sources[LUNG_OPACITY] if s != "Infiltration")
        unmapped.append("Infiltration")
    groups = np.stack(
        [
            findings[:, [col[s] for s in sources[c]]].any(axis=1)
            if sources[c]
            else np.zeros(len(findings), dtype=bool)
            for c in SUBCONDITIONS
        ],
        axis=1,
    )
    drops = [
        (f"{', '.join(DROPPED)} positive", findings[:, [col[s] for s in DROPPED]].any(axis=1)),
        (
            f"{', '.join(unmapped)} positive (no counterpart among the six classes)",
            findings[:, [col[s] for s in unmapped]].any(axis=1),
        ),
    ]
    return findings[:, len(FINDINGS)], groups, drops, sources


def filter_chestxray14(
    entries: dict, split_images, *, infiltration_as_opacity: bool = True, list_name: str
):
    """The training-split filtering; returns (six-class labels, -1 where removed; FilterLog)."""
    in_split = np.isin(np.asarray(entries["image"], dtype=str), np.asarray(split_images, dtype=str))
    log = FilterLog("rows in Data_Entry_2017.csv", len(in_split))
    log.apply(f"not in {list_name}", ~in_split)
    log.apply(
        "not a frontal view (View Position not PA/AP)", ~np.isin(entries["view"], FRONTAL_VIEWS)
    )
    no_finding, groups, drops, sources = _groups(entries["findings"], infiltration_as_opacity)
    log.note(
        "merge Nodule, Mass -> Lung Lesion; "
        + ", ".join(sources[LUNG_OPACITY])
        + " -> Focal/Multifocal Lung Opacity; Cardiomegaly -> Enlarged Cardiac Silhouette"
    )
    labels = filter_conditions(log, no_finding, groups, drops)
    return labels, log


def chestxray14_filtering(
    data_dir=None, *, infiltration_as_opacity: bool = True
) -> tuple[list[FilterStep], dict[str, int]]:
    """The training split's filtering table and class counts, without reading any image."""
    root, entry_path = _locate(None if data_dir is None else Path(data_dir).expanduser())
    split_images = read_image_list(_list_path(root, "train"))
    labels, log = filter_chestxray14(
        read_data_entry(entry_path),
        split_images,
        infiltration_as_opacity=infiltration_as_opacity,
        list_name=LIST_FILES["train"],
    )
    counts = np.bincount(labels[labels >= 0], minlength=len(CXR_CLASSES))
    return log.table, {c: int(n) for c, n in zip(CXR_CLASSES, counts, strict=True)}


def _locate(data_dir: Path | None) -> tuple[Path, Path]:
    searched = []
    for d in search_dirs("chestxray14", data_dir):
        for root in (d, d / "CXR8"):
            searched.append(root)
            for name in ENTRY_FILES:
                if (root / name).is_file():
                    return root, root / name
    raise not_found("chestxray14", " or ".join(ENTRY_FILES), searched, _HOW_TO_GET)


def _list_path(root: Path, split: str) -> Path:
    path = root / LIST_FILES[split]
    if not path.is_file():
        raise ValueError(
            f"ChestX-ray14: {LIST_FILES[split]} is missing from {root}; it defines the official "
            f"patient-wise {split} split — put it beside {ENTRY_FILES[0]}"
        )
    return path


def image_index(root: Path) -> dict[str, str]:
    """``{file name: path}`` of the images under ``root/images`` and ``root/images_*/images``."""
    folders = [root / "images"]
    for sub in sorted(root.glob("images_*")):
        folders += [sub / "images", sub]
    index: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name not in index and entry.is_file():
                    index[entry.name] = entry.path
    return index


def _probe(data_dir: Path | None):
    try:
        root, _ = _locate(data_dir)
    except ValueError:
        return None
    counts = {}
    for split in SPLITS:
        if (root / LIST_FILES[split]).is_file():
            counts[split] = len(read_image_list(root / LIST_FILES[split]))
    return (str(root), counts) if counts else None


@register_dataset(
    "chestxray14",
    description="NIH ChestX-ray14: normal + CheXpert's sub-conditions (seed filtering; PNG + CSV)",
    splits=SPLITS,
    probe=_probe,
)
def load_chestxray14(
    split: str = "train",
    *,
    data_dir=None,
    download: bool = False,
    size=128,
    infiltration_as_opacity: bool = True,
    expert_labels=None,
    expert_normal=None,
    max_missing_fraction: float = MAX_MISSING_FRACTION,
    on_error: str = "skip",
    cache: bool = True,
    cache_dir=None,
    n_jobs: int = 1,
    progress: bool = False,
):
    """NIH ChestX-ray14 as grayscale ``(N, 1, size, size)`` uint8 (module docstring).

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: ``train_val_list.txt`` rows filtered to the six classes (Fracture empty);
        ``"test"``: ``test_list.txt`` rows as is, binary labels.
    data_dir : str or Path, optional
        Folder with ``Data_Entry_2017.csv``; default ``$DEEPBALANCE_DATA/chestxray14``.
    download : bool
        Not supported (the error says where to get the files).
    size : int or (int, int)
        Output size (default 128).
    infiltration_as_opacity : bool
        Count Infiltration as Focal/Multifocal Lung Opacity (default) or drop its rows.
    expert_labels : str or Path, optional
        Adjudicated expert labels (:func:`read_expert_labels`); only with ``split="test"``.
        A relative path is tried as given, then in the ChestX-ray14 folder.
    expert_normal : str or Path, optional
        Expert normal/abnormal labels (:func:`read_expert_normal_labels`); only with
        ``split="test"``: the split keeps the graded images and takes their binary labels.
        A relative path is tried as given, then in the ChestX-ray14 folder.
    max_missing_fraction, on_error, cache, cache_dir, n_jobs, progress
        As for :func:`deepbalance.data.chexpert.load_chexpert`.
    """
    check_choice(split, "split", SPLITS)
    if not isinstance(infiltration_as_opacity, bool):
        raise TypeError(
            f"infiltration_as_opacity={infiltration_as_opacity!r} must be True or False"
        )
    for option, value in (("expert_labels", expert_labels), ("expert_normal", expert_normal)):
        if value is not None and split != "test":
            raise ValueError(
                f"{option}={str(value)!r} applies to the test split only; pass "
                f"split='test' or drop {option}"
            )
    max_missing_fraction = check_missing_fraction(max_missing_fraction)
    check_load_options(size, on_error, n_jobs, cache)
    try:
        root, entry_path = _locate(data_dir)
    except FileNotFoundError as exc:
        if download:
            raise type(exc)(f"{exc}\n(download=True cannot fetch ChestX-ray14)") from None
        raise
    if expert_labels is not None:
        expert_labels = _expert_file(expert_labels, root, "expert_labels", EXPERT_LABEL_FORMAT)
    if expert_normal is not None:
        expert_normal = _expert_file(expert_normal, root, "expert_normal", EXPERT_NORMAL_FORMAT)
    entries = read_data_entry(entry_path)
    list_path = _list_path(root, split)
    split_images = read_image_list(list_path)
    no_finding, groups, drops, sources = _groups(entries["findings"], infiltration_as_opacity)
    known = set(entries["image"])
    rows = {k: entries[k] for k in ("patient", "age", "sex", "view", "follow_up")}
    meta = {
        "dataset": "chestxray14",
        "split": split,
        "csv": str(entry_path),
        "list": str(list_path),
        "listed_not_in_csv": sum(1 for name in split_images if name not in known),
        "merged": {c: list(s) for c, s in sources.items()},
        "dropped_conditions": list(DROPPED),
        "no_counterpart": [
            s for s in (*NO_COUNTERPART, "Infiltration") if s not in sources[LUNG_OPACITY]
        ],
    }
    if split == "train":
        labels, log = filter_chestxray14(
            entries,
            split_images,
            infiltration_as_opacity=infiltration_as_opacity,
            list_name=list_path.name,
        )
        class_names = CXR_CLASSES
        meta.update(normal_class=0, binary_class_names=BINARY_CLASSES, empty_classes=[FRACTURE])
    else:
        other = np.zeros(len(no_finding), dtype=bool)
        for _, mask in drops:
            other |= mask
        image_names = np.asarray(entries["image"], dtype=str)
        log = FilterLog(f"rows in {entry_path.name}", len(image_names))
        log.apply(f"not in {list_path.name}", ~np.isin(image_names, split_images))
        labels = binary_abnormal(no_finding, groups, other)
        multi_hot = groups.astype(np.int8)
        source = ["nih" if sources[c] else "none" for c in SUBCONDITIONS]
        if expert_labels is not None:
            exp_images, exp_values, graded = read_expert_labels(expert_labels)
            position = {name: k for k, name in enumerate(exp_images)}
            has = np.array([name in position for name in image_names])
            log.apply(f"no expert label (not in {Path(expert_labels).name})", ~has)
            in_split = set(image_names[log.keep])
            meta["expert_not_in_split"] = sum(1 for name in exp_images if name not in in_split)
            for c in graded:
                j = SUBCONDITIONS.index(c)
                source[j] = "expert"
                for i in np.flatnonzero(has):
                    multi_hot[i, j] = int(exp_values[position[image_names[i]], j])
            meta["expert_labels"] = str(expert_labels)
        meta["label_source"] = "nih"
        if expert_normal is not None:
            exp_images, exp_abnormal, skipped = read_expert_normal_labels(
                expert_normal, known_images=known
            )
            position = {name: k for k, name in enumerate(exp_images)}
            has = np.array([name in position for name in image_names])
            log.apply(f"no expert normal/abnormal label (not in {Path(expert_normal).name})", ~has)
            in_split = set(image_names[log.keep])
            meta["expert_normal_not_in_split"] = sum(1 for n in exp_images if n not in in_split)
            meta["expert_normal_skipped"] = skipped
            for i in np.flatnonzero(has):
                labels[i] = exp_abnormal[position[image_names[i]]]
            meta["expert_normal"] = str(expert_normal)
            meta["label_source"] = "expert"
        rows["multi_hot"] = multi_hot
        rows["class_label"] = single_class_labels(no_finding, multi_hot.astype(bool), other)
        class_names = BINARY_CLASSES
        meta.update(
            normal_class=0,
            multi_hot_names=SUBCONDITIONS,
            multi_hot_source=tuple(source),
            class_label_names=CXR_CLASSES,
        )
    index = image_index(root)
    resolved = [index.get(name) for name in entries["image"]]
    return finish_image_set(
        log,
        resolved,
        entries["image"],
        labels,
        class_names,
        rows=rows,
        what=str(entry_path),
        where=f"{root}/images or {root}/images_*/images",
        source=f"chestxray14 ({split}) from {entry_path}",
        meta=meta,
        max_missing_fraction=max_missing_fraction,
        size=size,
        cache=cache,
        cache_dir=cache_dir,
        cache_name=f"chestxray14-{split}",
        n_jobs=n_jobs,
        progress=progress,
        on_error=on_error,
    )
