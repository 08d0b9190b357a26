"""CheXpert (Stanford, 224,316 chest radiographs) reduced to normal + five sub-conditions.

Files (as distributed; register at stanfordmlgroup.github.io/competitions/chexpert to get them):
``train.csv``, ``valid.csv`` and JPEG images whose CSV paths look like
``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``. ``data_dir`` may be the
folder holding ``train.csv`` or its parent; image paths are resolved against both.

Training split (``train.csv``), the seed's filtering, every step counted in
``meta["filtering"]`` (render it with :func:`format_filtering_table`):

1. keep frontal views (``Frontal/Lateral == "Frontal"``);
2. uncertain labels (-1): ``uncertain="negative"`` (default) reads them as absent, ``"positive"`` as
   present, ``"drop"`` removes rows with -1 in any observation except Support Devices. The seed
   (CLE-SMOTE CXR 2024, §3.1) describes the -1 labels but not what it did with them, so this policy
   is our choice, kept as an option: the default treats an uncertain mention as not establishing the
   condition, since reading it as positive would make many rows multi-condition (and so removed),
   shrinking the rare classes further;
3. merge Atelectasis, Lung Opacity, Pneumonia, Consolidation into "Focal/Multifocal Lung
   Opacity" and Cardiomegaly, Enlarged Cardiomediastinum into "Enlarged Cardiac Silhouette";
4. drop rows with a finding but no specific condition: No Finding not set and none of the
   twelve conditions (the five kept, the merged ones, Edema, Pleural Effusion, Pleural Other)
   positive. Support Devices is not a condition: a row whose only positive is a device lands
   here, and a device does not make a No Finding row abnormal;
5. drop rows with No Finding together with a condition;
6. drop rows with two or more of the five (merged) sub-conditions;
7. drop rows positive for Edema, Pleural Effusion or Pleural Other;
8. drop rows whose image file is missing (more than ``max_missing_fraction`` missing is an
   error), then rows whose image cannot be decoded (skipped with a warning).

Classes: Normal (0), Lung Lesion, Pneumothorax, Fracture, Focal/Multifocal Lung Opacity,
Enlarged Cardiac Silhouette (1..5).

Test split (``valid.csv``, or ``test_csv=``): used as is, as the seed does — no view or label
filtering, so a study may have several conditions. ``labels`` are binary, 0 = Normal (No
Finding positive and none of the twelve conditions positive), 1 = Abnormal;
``meta["rows"]["multi_hot"]`` (N, 5) marks each sub-condition (after merging; with
``uncertain="positive"`` a -1 counts as present, otherwise as absent), and
``meta["rows"]["class_label"]`` gives the six-class label where exactly one class applies
(-1 elsewhere). ``meta["normal_class"] = 0`` lets the trainer score a six-class model on it
(normal-vs-abnormal and per-sub-condition AUROC, ``frameworks.abnormality_targets``).
"""

from __future__ import annotations

import os
import re
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

OBSERVATIONS = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)
#: CheXpert observations behind each of the five sub-conditions.
CONDITION_SOURCES = {
    LUNG_LESION: ("Lung Lesion",),
    PNEUMOTHORAX: ("Pneumothorax",),
    FRACTURE: ("Fracture",),
    LUNG_OPACITY: ("Atelectasis", "Lung Opacity", "Pneumonia", "Consolidation"),
    CARDIAC_SILHOUETTE: ("Cardiomegaly", "Enlarged Cardiomediastinum"),
}
#: Conditions whose positive rows the seed removes.
DROPPED = ("Edema", "Pleural Effusion", "Pleural Other")
#: Observations that are not a pathology: they neither make a row abnormal nor count as a finding.
NOT_CONDITIONS = ("Support Devices",)
UNCERTAIN = ("negative", "positive", "drop")
REQUIRED_COLUMNS = ("Path", "Frontal/Lateral", *OBSERVATIONS)
SPLITS = ("train", "test")
_FOLDERS = ("", "CheXpert-v1.0-small", "CheXpert-v1.0")
_CSV = {"train": "train.csv", "test": "valid.csv"}
_HOW_TO_GET = (
    "CheXpert cannot be downloaded automatically: register at "
    "https://stanfordmlgroup.github.io/competitions/chexpert/ and unpack CheXpert-v1.0-small "
    "(or CheXpert-v1.0); train.csv and valid.csv sit in that folder",
)


def _parse_label(text: str) -> float | None:
    if text == "":
        return np.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value in (1.0, 0.0, -1.0) else None


def _parse_view(text: str) -> float | None:
    return {"frontal": 1.0, "lateral": 0.0}.get(text.lower())


def read_chexpert_csv(path: str | os.PathLike) -> dict:
    """Read and validate a CheXpert label CSV (``train.csv``/``valid.csv`` schema).

    Returns
    -------
    dict
        ``path`` (list of str, as written), ``frontal`` (bool array),
        ``observations`` (float array (N, 14) in ``OBSERVATIONS`` order: 1, 0, -1, NaN = blank),
        and the optional ``sex``, ``age``, ``view`` (AP/PA) columns as string arrays.

    Raises
    ------
    ValueError
        Missing columns (named), or values outside {1.0, 0.0, -1.0, blank} / {Frontal,
        Lateral} (rows counted per column and value).
    """
    path = Path(path)
    what = f"CheXpert label file {path.name}"
    cols = read_csv_columns(path, REQUIRED_COLUMNS, what="CheXpert label file")
    obs = parse_columns(
        cols, OBSERVATIONS, _parse_label, what=what, path=path, allowed="{1.0, 0.0, -1.0, blank}"
    )
    view = parse_columns(
        cols, ["Frontal/Lateral"], _parse_view, what=what, path=path, allowed="{Frontal, Lateral}"
    )
    n = len(cols["Path"])
    extra = {
        key: np.asarray(cols.get(col, [""] * n), dtype=str)
        for key, col in (("sex", "Sex"), ("age", "Age"), ("view", "AP/PA"))
    }
    return {"path": cols["Path"], "frontal": view[:, 0] == 1.0, "observations": obs, **extra}


def _column(obs: np.ndarray, names) -> np.ndarray:
    return obs[:, [OBSERVATIONS.index(n) for n in names]]


def _positives(obs: np.ndarray, uncertain: str):
    """(no_finding, groups (N, 5), dropped (N,)) as booleans under the uncertain policy."""
    pos = (obs == 1.0) | ((obs == -1.0) if uncertain == "positive" else False)
    no_finding = pos[:, OBSERVATIONS.index("No Finding")]
    groups = np.stack(
        [_column(pos, CONDITION_SOURCES[c]).any(axis=1) for c in SUBCONDITIONS], axis=1
    )
    dropped = _column(pos, DROPPED).any(axis=1)
    return no_finding, groups, dropped


def filter_chexpert(table: dict, *, uncertain: str = "negative", name: str = "train.csv"):
    """Apply the seed's filtering to a table from :func:`read_chexpert_csv`.

    Returns
    -------
    labels : int64 array (N,)
        Six-class label of each kept row, -1 for removed rows.
    log : FilterLog
        Its ``keep`` mask and ``table`` (steps with rows removed and remaining).
    """
    uncertain = check_choice(uncertain, "uncertain", UNCERTAIN)
    obs = table["observations"]
    log = FilterLog(f"rows in {name}", len(obs))
    log.apply("lateral view (keep Frontal/Lateral = Frontal)", ~table["frontal"])
    if uncertain == "drop":
        considered = [n for n in OBSERVATIONS if n not in NOT_CONDITIONS]
        log.apply(
            "uncertain (-1) label in any observation but Support Devices",
            (_column(obs, considered) == -1.0).any(axis=1),
        )
    else:
        log.note(f"uncertain (-1) labels read as {uncertain} (nothing removed)")
    no_finding, groups, dropped = _positives(obs, uncertain)
    log.note(
        "merge Atelectasis, Lung Opacity, Pneumonia, Consolidation -> Focal/Multifocal Lung "
        "Opacity; Cardiomegaly, Enlarged Cardiomediastinum -> Enlarged Cardiac Silhouette"
    )
    drops = [("Edema, Pleural Effusion or Pleural Other positive", dropped)]
    labels = filter_conditions(log, no_finding, groups, drops)
    return labels, log


def chexpert_filtering(
    data_dir=None, *, uncertain: str = "negative"
) -> tuple[list[FilterStep], dict[str, int]]:
    """The filtering table and class counts of ``train.csv`` without reading any image.

    Image-file steps (missing, unreadable) are not included: only :func:`load_chexpert` sees
    the images.
    """
    csv_path = _locate_csv("train", _as_dir(data_dir), None)
    labels, log = filter_chexpert(read_chexpert_csv(csv_path), uncertain=uncertain)
    counts = np.bincount(labels[labels >= 0], minlength=len(CXR_CLASSES))
    return log.table, {c: int(n) for c, n in zip(CXR_CLASSES, counts, strict=True)}


def _as_dir(data_dir) -> Path | None:
    return None if data_dir is None else Path(data_dir).expanduser()


def _roots(data_dir: Path | None) -> list[Path]:
    return [d / sub if sub else d for d in search_dirs("chexpert", data_dir) for sub in _FOLDERS]


def _locate_csv(split: str, data_dir: Path | None, test_csv) -> Path:
    if split == "test" and test_csv is not None:
        given = Path(test_csv).expanduser()
        candidates = (
            [given] if given.is_absolute() else [given, *(r / given for r in _roots(data_dir))]
        )
        for c in candidates:
            if c.is_file():
                return c
        raise ValueError(f"test_csv={str(test_csv)!r} was not found (tried {candidates[:4]})")
    for root in _roots(data_dir):
        if (root / _CSV[split]).is_file():
            return root / _CSV[split]
    raise not_found(
        "chexpert",
        _CSV[split],
        _roots(data_dir),
        _HOW_TO_GET,
    )


def resolve_paths(paths, bases) -> list[str | None]:
    """Resolve CSV image paths against several base folders; ``None`` where no file exists.

    The base that worked last is tried first, so a whole CSV costs about one ``stat`` per row.
    """
    bases = list(dict.fromkeys(Path(b) for b in bases))
    order = list(range(len(bases)))
    out: list[str | None] = []
    for p in paths:
        found = None
        if p and os.path.isabs(p):
            found = p if os.path.isfile(p) else None
        elif p:
            for k in order:
                candidate = os.path.join(bases[k], p)
                if os.path.isfile(candidate):
                    found = candidate
                    if k != order[0]:
                        order.remove(k)
                        order.insert(0, k)
                    break
        out.append(found)
    return out


def _patients(paths) -> np.ndarray:
    ids = []
    for p in paths:
        m = re.search(r"patient(\d+)", p)
        ids.append(m.group(0) if m else "")
    return np.asarray(ids, dtype=str)


def _probe(data_dir: Path | None):
    """Rows of train.csv / valid.csv (before filtering): cheap, no image is touched."""
    counts, location = {}, None
    for split in SPLITS:
        try:
            path = _locate_csv(split, data_dir, None)
        except ValueError:
            continue
        with open(path, "rb") as f:
            counts[split] = max(0, sum(1 for line in f if line.strip()) - 1)
        location = location or str(path.parent)
    return (location, counts) if counts else None


@register_dataset(
    "chexpert",
    description="CheXpert chest X-rays: normal + 5 sub-conditions (seed filtering; JPEG + CSV)",
    splits=SPLITS,
    probe=_probe,
)
def load_chexpert(
    split: str = "train",
    *,
    data_dir=None,
    download: bool = False,
    size=128,
    uncertain: str = "negative",
    test_csv=None,
    max_missing_fraction: float = MAX_MISSING_FRACTION,
    on_error: str = "skip",
    cache: bool = True,
    cache_dir=None,
    n_jobs: int = 1,
    progress: bool = False,
):
    """CheXpert as grayscale ``(N, 1, size, size)`` uint8, filtered as the seed does.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: ``train.csv`` filtered to six classes (module docstring); ``"test"``:
        ``valid.csv`` (or ``test_csv``) as is, binary labels plus ``meta["rows"]["multi_hot"]``.
    data_dir : str or Path, optional
        Folder with ``train.csv`` (or its parent); default ``$DEEPBALANCE_DATA/chexpert``.
    download : bool
        Not possible for CheXpert (registration required); the error says how to get it.
    size : int or (int, int)
        Output size; 128 by default (16 KiB per image in the cache).
    uncertain : {"negative", "positive", "drop"}
        How -1 labels are read (module docstring); default "negative". The seed (CLE-SMOTE CXR 2024)
        does not say how it read them: this is our choice.
    test_csv : str or Path, optional
        A label CSV in the same schema used for ``split="test"`` instead of ``valid.csv``.
    max_missing_fraction : float
        Largest tolerated share of listed image files that are absent (default 0.01: more
        usually means a wrong ``data_dir`` or a partial copy, which would silently change the
        class counts). Missing files are counted in the table either way.
    on_error : {"skip", "raise"}
        Unreadable images: skip and count (with a warning) or raise.
    cache, cache_dir, n_jobs, progress
        Decoded-image cache and decoding, see :func:`deepbalance.data.image_cache.load_images`.

    Returns
    -------
    ImageSet
        ``meta["filtering"]``: list of (step, rows removed, rows remaining);
        ``meta["rows"]``: per-image arrays (``csv_row``, ``patient``, ``sex``, ``age``,
        ``view``, ``observations``, and for the test split ``multi_hot``, ``class_label``).
    """
    uncertain = check_choice(uncertain, "uncertain", UNCERTAIN)
    max_missing_fraction = check_missing_fraction(max_missing_fraction)
    check_load_options(size, on_error, n_jobs, cache)
    if test_csv is not None and split != "test":
        raise ValueError(
            f"test_csv={str(test_csv)!r} applies to split='test' only; pass split='test' or "
            "drop test_csv"
        )
    try:
        csv_path = _locate_csv(split, data_dir, test_csv)
    except FileNotFoundError as exc:
        if download:
            raise type(exc)(f"{exc}\n(download=True cannot fetch CheXpert)") from None
        raise
    table = read_chexpert_csv(csv_path)
    obs = table["observations"]
    no_finding, groups, dropped = _positives(obs, uncertain)
    rows = {
        "patient": _patients(table["path"]),
        "sex": table["sex"],
        "age": table["age"],
        "view": table["view"],
        "observations": obs,
    }
    meta = {
        "dataset": "chexpert",
        "split": split,
        "csv": str(csv_path),
        "uncertain": uncertain,
        "merged": {c: list(s) for c, s in CONDITION_SOURCES.items()},
        "dropped_conditions": list(DROPPED),
    }
    if split == "train":
        labels, log = filter_chexpert(table, uncertain=uncertain, name=csv_path.name)
        class_names = CXR_CLASSES
        meta.update(normal_class=0, binary_class_names=BINARY_CLASSES)
    else:
        log = FilterLog(f"rows in {csv_path.name} (used as is)", len(obs))
        labels = binary_abnormal(no_finding, groups, dropped)
        class_names = BINARY_CLASSES
        rows["multi_hot"] = groups.astype(np.int8)
        rows["class_label"] = single_class_labels(no_finding, groups, dropped)
        meta.update(normal_class=0, multi_hot_names=SUBCONDITIONS, class_label_names=CXR_CLASSES)
    bases = [csv_path.parent, csv_path.parent.parent]
    if data_dir is not None:
        bases += [Path(data_dir), Path(data_dir).parent]
    resolved = [None] * len(obs)
    wanted = np.flatnonzero(log.keep)
    for i, found in zip(
        wanted, resolve_paths([table["path"][i] for i in wanted], bases), strict=True
    ):
        resolved[i] = found
    return finish_image_set(
        log,
        resolved,
        table["path"],
        labels,
        class_names,
        rows=rows,
        what=str(csv_path),
        where=" or ".join(str(b) for b in dict.fromkeys(bases)),
        source=f"chexpert ({split}) from {csv_path}",
        meta=meta,
        max_missing_fraction=max_missing_fraction,
        size=size,
        cache=cache,
        cache_dir=cache_dir,
        cache_name=f"chexpert-{split}",
        n_jobs=n_jobs,
        progress=progress,
        on_error=on_error,
    )
