"""CelebA as DeepSMOTE uses it: five hair classes, one label per face.

Files: ``img_align_celeba/`` (the aligned JPEGs; a nested ``img_align_celeba/img_align_celeba``
as unpacked from some mirrors, or ``img_align_celeba_png/``, works too), ``list_attr_celeba.txt``
(count line, attribute-name line, then ``<file> <40 values of 1/-1>`` per image) and, for the
train/valid/test splits, ``list_eval_partition.txt`` (``<file> <0|1|2>``).

Labels come from the attributes Black_Hair, Brown_Hair, Blond_Hair, Gray_Hair and Bald: faces
with exactly one of them set keep that class; faces with several (ambiguous) or none are dropped
and counted in ``meta["dropped"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._checks import check_choice
from .decode import CROPS, check_mode, check_on_error, check_size, decode_images
from .imageset import ImageSet
from .locations import not_found, search_dirs
from .registry import register_dataset

HAIR_CLASSES = ("Black_Hair", "Brown_Hair", "Blond_Hair", "Gray_Hair", "Bald")
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIRS = ("img_align_celeba", "img_align_celeba_png")
SPLITS = ("train", "valid", "test", "all")
SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}


def read_attributes(path: str | Path, columns=HAIR_CLASSES) -> tuple[list[str], np.ndarray]:
    """File names and a boolean ``(n, len(columns))`` matrix (attribute set) of an attr file.

    Raises
    ------
    ValueError
        Naming the file and line when the header, a row or the row count is wrong.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    fix = "re-download or re-extract list_attr_celeba.txt"
    if len(lines) < 2:
        raise ValueError(f"{path} is too short for a CelebA attribute file; {fix}")
    try:
        n = int(lines[0].strip())
    except ValueError:
        raise ValueError(
            f"{path}: line 1 should be the number of images, got {lines[0][:40]!r}; {fix}"
        ) from None
    names = lines[1].split()
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{path}: line 2 lacks the attribute(s) {', '.join(missing)}; {fix}")
    cols = [names.index(c) + 1 for c in columns]
    rows = [ln for ln in lines[2:] if ln.strip()]
    if len(rows) != n:
        raise ValueError(
            f"{path} announces {n} images but lists {len(rows)}; the file is truncated or "
            f"edited — {fix}"
        )
    files: list[str] = []
    values = np.empty((n, len(cols)), dtype=np.int8)
    for i, row in enumerate(rows):
        parts = row.split()
        if len(parts) != len(names) + 1:
            raise ValueError(
                f"{path}, line {i + 3}: expected a file name and {len(names)} values, got "
                f"{len(parts)} fields; {fix}"
            )
        files.append(parts[0])
        try:
            values[i] = [int(parts[c]) for c in cols]
        except ValueError:
            raise ValueError(f"{path}, line {i + 3}: attribute values must be 1 or -1") from None
    if not np.isin(values, (-1, 0, 1)).all():
        raise ValueError(f"{path}: attribute values must be 1 or -1 (or 0); {fix}")
    return files, values == 1


def read_partition(path: str | Path) -> dict[str, int]:
    """``{file name: 0 (train) | 1 (valid) | 2 (test)}`` from ``list_eval_partition.txt``."""
    path = Path(path)
    out = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ValueError(f"{path}, line {i + 1}: expected '<file> <0|1|2>', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


def hair_labels(hair: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Class index per row of a boolean hair matrix, the rows kept, and the drop counts."""
    n_set = hair.sum(axis=1)
    keep = n_set == 1
    dropped = {"ambiguous": int((n_set > 1).sum()), "no_hair_label": int((n_set == 0).sum())}
    return hair.argmax(axis=1).astype(np.int64), keep, dropped


def _image_dir(folder: Path) -> Path | None:
    for name in IMAGE_DIRS:
        d = folder / name
        if (d / name).is_dir():  # archives unpacked into a folder of the same name
            d = d / name
        if d.is_dir():
            return d
    return None


def _locate(data_dir: Path | None) -> Path | None:
    for folder in search_dirs("celeba", data_dir):
        if (folder / ATTR_FILE).is_file() and _image_dir(folder) is not None:
            return folder
    return None


def _read_partition_for(folder: Path, files: list[str], split: str) -> np.ndarray:
    """Split code (0/1/2) of each file; raises if ``split`` needs the missing partition file."""
    if not (folder / PARTITION_FILE).is_file():
        raise ValueError(
            f"split={split!r} needs {PARTITION_FILE} in {folder}; without it CelebA has "
            "only split='all' — pass split='all' or add the partition file"
        )
    partition = read_partition(folder / PARTITION_FILE)
    unknown = [f for f in files if f not in partition]
    if unknown:
        raise ValueError(
            f"{folder / PARTITION_FILE} has no split for {len(unknown)} image(s) listed in "
            f"{ATTR_FILE} (first: {unknown[0]}); use matching files from one download"
        )
    return np.array([partition[f] for f in files], dtype=np.int8)


@register_dataset(
    "celeba",
    description="CelebA faces, 5 hair-colour classes (DeepSMOTE's setting), resized RGB",
    splits=SPLITS,
    probe=lambda data_dir: _probe(data_dir),
)
def load_celeba(
    split: str,
    *,
    data_dir=None,
    download=False,
    size=32,
    mode: str = "RGB",
    crop: str | None = "center",
    on_error: str = "skip",
) -> ImageSet:
    """CelebA hair classes Black_Hair, Brown_Hair, Blond_Hair, Gray_Hair, Bald.

    Parameters
    ----------
    size : int or (H, W)
        Output size (default 32).
    mode : {"RGB", "L"}
    crop : {"center", None}
        ``"center"`` (default) crops the centred square before resizing (faces keep their
        proportions); ``None`` stretches the 178x218 frame to ``size``.
    on_error : {"skip", "raise"}
        What to do with unreadable or missing image files.
    """
    size = check_size(size, allow_none=False)
    mode = check_mode(mode)
    check_choice(crop, "crop", CROPS)
    on_error = check_on_error(on_error)
    folder = _locate(data_dir)
    if folder is None:
        if download:
            raise ValueError(
                "celeba cannot be downloaded automatically (it is distributed through Google "
                "Drive); fetch it by hand (see below) and pass download=False"
            )
        raise not_found(
            "celeba",
            f"{ATTR_FILE} and {IMAGE_DIRS[0]}/",
            search_dirs("celeba", data_dir),
            [
                "download img_align_celeba.zip, list_attr_celeba.txt and "
                "list_eval_partition.txt from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
                "and unzip the images next to the two text files",
            ],
        )
    files, hair = read_attributes(folder / ATTR_FILE)
    if split != "all":
        in_split = _read_partition_for(folder, files, split) == SPLIT_CODES[split]
        files, hair = [f for f, s in zip(files, in_split, strict=True) if s], hair[in_split]
    labels, keep, dropped = hair_labels(hair)
    image_dir = _image_dir(folder)
    paths = [image_dir / f for f in files]
    if paths and not paths[0].is_file() and paths[0].with_suffix(".png").is_file():
        paths = [p.with_suffix(".png") for p in paths]  # the PNG edition lists .jpg names
    kept = [p for p, k in zip(paths, keep, strict=True) if k]
    images, ok, skipped = decode_images(
        kept, size=size, mode=mode, crop=crop, on_error=on_error, what="CelebA image"
    )
    return ImageSet(
        images,
        labels[keep][ok],
        HAIR_CLASSES,
        source=f"celeba ({split}) from {folder}",
        meta={
            "dataset": "celeba",
            "split": split,
            "root": str(folder),
            "dropped": dropped,
            "skipped": skipped,
            "n_skipped": len(skipped),
        },
    )


def _probe(data_dir: Path | None):
    folder = _locate(data_dir)
    if folder is None:
        return None
    files, hair = read_attributes(folder / ATTR_FILE)
    _, keep, _ = hair_labels(hair)
    counts = {}
    if (folder / PARTITION_FILE).is_file():
        codes = _read_partition_for(folder, files, "train")
        counts = {s: int(keep[codes == c].sum()) for s, c in SPLIT_CODES.items()}
    counts["all"] = int(keep.sum())
    return str(folder), counts
