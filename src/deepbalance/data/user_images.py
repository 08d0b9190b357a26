"""Your own images, as ``deepbalance compare`` and ``deepbalance resample`` read them.

A source is a folder or a CSV file:

- a folder with one sub-folder per class (``imgs/<class>/...``), or with split folders
  ``imgs/train/<class>/...``, ``imgs/test/<class>/...`` (and ``val/`` or ``valid/``), the layout
  of :func:`~deepbalance.data.image_folder.load_image_folder`;
- a CSV file with a header and the columns ``path,label`` (and optionally ``split``: ``train``,
  ``test`` or ``val``), the paths relative to the CSV's folder.

:func:`scan_images` lists the files (no decoding) and checks the layout; :func:`read_inventory`
decodes them with Pillow, inferring the channels (all grayscale files give one channel) and
refusing mixed sizes unless a size is given; :func:`carve_test_split` draws a stratified, seeded
test split with scikit-learn's ``train_test_split``; :func:`load_listed_images` reads the files
of one split of such a list (what a ``compare`` spec records).
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_float, check_int
from .decode import GRAY_MODES, caller_stacklevel, check_mode, check_size, decode_images
from .decode import image_header as _header
from .image_folder import IMAGE_EXTENSIONS, split_roots, visible_dirs
from .imageset import ImageSet

__all__ = [
    "CSV_COLUMNS",
    "DecodedImages",
    "ImageInventory",
    "MAX_BAD_FRACTION",
    "carve_test_split",
    "load_listed_images",
    "read_inventory",
    "scan_images",
]

#: Columns a CSV source may have (``split`` is optional).
CSV_COLUMNS = ("path", "label", "split")
#: Above this share of files that are not images or cannot be decoded, reading fails.
MAX_BAD_FRACTION = 0.1
_SPLIT_NAMES = {"train": "train", "test": "test", "val": "val", "valid": "val"}


@dataclass(frozen=True)
class ImageInventory:
    """The files of a source, listed but not decoded.

    Attributes
    ----------
    source : Path
        The folder or CSV file, as an absolute path.
    root : Path
        The folder the file paths are relative to (the folder itself, or the CSV's folder).
    kind : {"folder", "split-folders", "csv"}
    files : tuple of str
        Paths relative to ``root`` (POSIX separators), sorted for folders, in CSV order.
    classes : tuple of str
        Class name of each file.
    splits : tuple of str
        ``"train"``, ``"test"`` or ``"val"`` per file; ``""`` when the source gives no splits.
    not_images : tuple of str
        Files in the class folders (or CSV rows) skipped because their extension is not an
        image format Pillow is asked to read.
    """

    source: Path
    root: Path
    kind: str
    files: tuple[str, ...]
    classes: tuple[str, ...]
    splits: tuple[str, ...]
    not_images: tuple[str, ...] = ()

    @property
    def class_names(self) -> tuple[str, ...]:
        """Sorted distinct class names."""
        return tuple(sorted(set(self.classes)))

    @property
    def has_test_split(self) -> bool:
        return "test" in self.splits

    def counts(self, split: str | None = None) -> dict[str, int]:
        """Files per class (of one split when ``split`` is given), in class-name order."""
        found = Counter(
            c for c, s in zip(self.classes, self.splits, strict=True) if split in (None, s)
        )
        return {name: found.get(name, 0) for name in self.class_names}


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _is_image(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _class_files(folder: Path) -> list[Path]:
    """Every visible file under ``folder`` (nested folders included), sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def scan_images(source: str | os.PathLike) -> ImageInventory:
    """List the image files of a folder or CSV source and check its layout.

    Parameters
    ----------
    source : str or path
        A folder (one sub-folder per class, or ``train/``/``test/`` folders each with one
        sub-folder per class) or a ``.csv`` file with columns ``path,label[,split]``.

    Returns
    -------
    ImageInventory

    Raises
    ------
    ValueError
        Naming the folder, file or CSV line: a missing or empty source, no class folders, a
        single class, a class without images, a CSV with unknown or missing columns, missing
        files, repeated paths or empty labels.
    """
    if isinstance(source, bytes) or not isinstance(source, str | os.PathLike):
        raise TypeError(
            f"source={source!r} must be a folder or CSV path (str or pathlib.Path); pass e.g. "
            "source='imgs'"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise ValueError(
            f"source={str(source)!r} does not exist; pass a folder with one sub-folder per class "
            "(imgs/<class>/*.png) or a CSV file of path,label"
        )
    path = path.resolve()
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise ValueError(
                f"source={str(source)!r} is a file but not a .csv; pass a folder with one "
                "sub-folder per class, or a CSV file of path,label"
            )
        inventory = _scan_csv(path)
    else:
        inventory = _scan_folder(path)
    _check_classes(inventory, str(source))
    return inventory


def _scan_folder(root: Path) -> ImageInventory:
    by_split = split_roots(root)
    layout = {"": root} if "train" not in by_split else by_split
    files, classes, splits, others = [], [], [], []
    for split, split_root in layout.items():
        class_dirs = visible_dirs(split_root)
        if not class_dirs:
            loose = [p for p in split_root.iterdir() if p.is_file() and _is_image(p)]
            where = f"{split_root}" if split else f"{root}"
            if loose:
                raise ValueError(
                    f"{where} holds {len(loose)} image file(s) (e.g. {loose[0].name}) but no "
                    f"class sub-folders; put each class's images in its own sub-folder "
                    f"({where}/<class>/{loose[0].name})"
                )
            raise ValueError(
                f"{where} has no class sub-folders; put each class's images in its own "
                f"sub-folder ({where}/<class>/*.png)"
            )
        for class_dir in class_dirs:
            for file in _class_files(class_dir):
                if _is_image(file):
                    files.append(_relative(file, root))
                    classes.append(class_dir.name)
                    splits.append(split)
                else:
                    others.append(_relative(file, root))
        for class_dir in class_dirs:  # an empty class folder of a split is a mistake
            if split in ("", "train") and not any(
                c == class_dir.name and s == split for c, s in zip(classes, splits, strict=True)
            ):
                raise ValueError(
                    f"class folder {class_dir} has no image files "
                    f"({', '.join(sorted(IMAGE_EXTENSIONS))}); add images or remove the folder"
                )
    kind = "split-folders" if "train" in by_split else "folder"
    return ImageInventory(
        root, root, kind, tuple(files), tuple(classes), tuple(splits), tuple(others)
    )


def _scan_csv(path: Path) -> ImageInventory:
    root = path.parent
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(
            f"{path}: cannot read the CSV file ({exc}); save it as UTF-8 CSV"
        ) from None
    if not header:
        raise ValueError(f"{path} is empty; give a header line 'path,label' and one row per image")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in ("path", "label") if h not in header]
    if unknown or missing:
        problem = (
            f"unknown column(s) {unknown}" if unknown else f"no column(s) {missing}"
        ) + f" (header: {','.join(header)})"
        raise ValueError(
            f"{path}: {problem}; the columns are path,label and optionally split (train/test/val)"
        )
    files, classes, splits, others = [], [], [], []
    seen: dict[str, int] = {}
    absent: list[tuple[int, str]] = []
    for line, row in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        file, label, split = row.get("path", ""), row.get("label", ""), row.get("split", "")
        if not file or not label:
            what = "path" if not file else "label"
            raise ValueError(f"{path}:{line}: empty {what}; give every row a path and a label")
        if split and split.lower() not in _SPLIT_NAMES:
            raise ValueError(
                f"{path}:{line}: split={split!r} is not train, test or val; fix the row"
            )
        file = Path(file).as_posix()
        if file in seen:
            raise ValueError(
                f"{path}:{line}: {file} is listed again (first on line {seen[file]}); list each "
                "image once"
            )
        seen[file] = line
        if not (root / file).is_file():
            absent.append((line, file))
            continue
        if not _is_image(file):
            others.append(file)
            continue
        files.append(file)
        classes.append(label)
        splits.append(_SPLIT_NAMES.get(split.lower(), "") if split else "")
    if absent:
        shown = ", ".join(f"line {n}: {f}" for n, f in absent[:3])
        raise ValueError(
            f"{path}: {len(absent)} of {len(rows)} listed file(s) do not exist ({shown}"
            f"{', ...' if len(absent) > 3 else ''}); paths are relative to {root}: fix them or "
            "remove the rows"
        )
    if files and len(set(splits)) > 1 and "" in splits:
        line = seen[files[splits.index("")]]
        raise ValueError(
            f"{path}:{line}: the split column is empty on some rows but not on others; give "
            "every row a split (train/test/val) or leave the column out"
        )
    if files and splits and splits[0] and "train" not in splits:
        raise ValueError(f"{path}: no row has split=train; mark the training images split=train")
    return ImageInventory(
        path, root, "csv", tuple(files), tuple(classes), tuple(splits), tuple(others)
    )


def _check_classes(inventory: ImageInventory, given: str) -> None:
    if not inventory.files:
        extra = (
            f"; {len(inventory.not_images)} file(s) are not images (e.g. {inventory.not_images[0]})"
            if inventory.not_images
            else ""
        )
        raise ValueError(
            f"source={given!r} has no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})"
            f"{extra}; put each class's images in its own sub-folder, or list them in a CSV"
        )
    train = inventory.counts("train" if inventory.splits[0] else "")
    present = [name for name, n in train.items() if n]
    if len(present) < 2:
        found = f"one class ({present[0]!r})" if present else "no class"
        raise ValueError(
            f"source={given!r} has {found} with training images; comparing or balancing needs "
            "at least two classes: add a sub-folder (or CSV label) per class"
        )
    empty = [name for name, n in train.items() if not n]
    if empty:
        raise ValueError(
            f"source={given!r}: class(es) {empty} have no training images (only test/val "
            "ones); add training images of those classes"
        )


# --------------------------------------------------------------------------------------------
# decoding


@dataclass
class DecodedImages:
    """The decodable files of an inventory, decoded.

    Attributes
    ----------
    images : ndarray of uint8, shape (N, C, H, W)
    files, classes, splits : list of str
        Of the decoded files, in the inventory's order.
    mode : {"L", "RGB"}
        What the files were read as.
    modes : dict
        Pillow mode → number of files (e.g. ``{"L": 198}``).
    skipped : list of (str, str)
        ``(file, reason)`` of the files skipped: not images, or not decodable.
    n_files : int
        Files considered (decoded + skipped).
    """

    images: np.ndarray
    files: list[str]
    classes: list[str]
    splits: list[str]
    mode: str
    modes: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    n_files: int = 0

    def image_set(self, class_names, rows=None, *, source: str = "") -> ImageSet:
        """An :class:`ImageSet` of ``rows`` (default all), labels indexing ``class_names``."""
        rows = np.arange(len(self.files)) if rows is None else np.asarray(rows, dtype=np.int64)
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[self.classes[i]] for i in rows], dtype=np.int64)
        files = np.array([self.files[i] for i in rows], dtype=object)
        return ImageSet(
            self.images[rows], labels, tuple(class_names), source, {"rows": {"file": files}}
        )


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def read_inventory(
    inventory: ImageInventory,
    *,
    size=None,
    mode: str | None = None,
    max_bad: float = MAX_BAD_FRACTION,
) -> DecodedImages:
    """Decode every image of ``inventory``; skip bad files with one warning.

    Parameters
    ----------
    inventory : ImageInventory
        From :func:`scan_images`.
    size : int or (H, W), optional
        Resize every image to this size. ``None`` keeps the files' size, which must then agree.
    mode : {None, "L", "RGB"}
        ``None`` infers it: ``"L"`` (1 channel) when every file is grayscale, else ``"RGB"``
        (grayscale to RGB is lossless).
    max_bad : float
        Largest share of files that may be skipped (not images, or not decodable); above it
        reading fails.

    Raises
    ------
    ValueError
        More than ``max_bad`` of the files are bad; the images differ in size and ``size`` is
        None (the message lists the sizes found).

    Warns
    -----
    UserWarning
        Once, counting the skipped files and naming the first.
    """
    if not isinstance(inventory, ImageInventory):
        raise TypeError(
            f"inventory must be an ImageInventory from scan_images(), got {inventory!r}"
        )
    size = check_size(size)
    mode = None if mode is None else check_mode(mode)
    max_bad = check_float(max_bad, "max_bad", min_value=0.0, max_value=1.0)
    root = inventory.root
    skipped = [(f, "not an image file (extension)") for f in inventory.not_images]
    headers: dict[int, tuple[str, tuple[int, int]]] = {}
    for i, file in enumerate(inventory.files):
        try:
            headers[i] = _header(root / file)
        except Exception as exc:  # Pillow raises many types for bad files
            skipped.append((file, f"{type(exc).__name__}: {exc}"))
    n_files = len(inventory.files) + len(inventory.not_images)
    _check_bad(skipped, n_files, max_bad, inventory)
    sizes: dict[tuple[int, int], list[str]] = {}
    modes: Counter = Counter()
    for i, (file_mode, (w, h)) in headers.items():
        sizes.setdefault((h, w), []).append(inventory.files[i])
        modes[file_mode] += 1
    if size is None and len(sizes) > 1:
        found = sorted(sizes.items(), key=lambda kv: -len(kv[1]))
        listed = "; ".join(f"{_size_text(s)} ({len(f)} file(s), e.g. {f[0]})" for s, f in found[:5])
        common = found[0][0]
        raise ValueError(
            f"images of {inventory.source} differ in size (height x width): {listed}"
            f"{'; ...' if len(found) > 5 else ''}. Resize them all: pass --size "
            f"{_size_text(common)} (size={common} in Python), or make the files one size"
        )
    if mode is None:
        mode = "L" if modes and all(m in GRAY_MODES for m in modes) else "RGB"
    order = sorted(headers)
    paths = [root / inventory.files[i] for i in order]
    with warnings.catch_warnings(record=True):  # counted below, in one warning
        warnings.simplefilter("always")
        images, ok, failed = decode_images(paths, size=size, mode=mode, on_error="skip")
    for item in failed:
        skipped.append((_relative(Path(item["path"]), root), item["error"]))
    _check_bad(skipped, n_files, max_bad, inventory)
    kept = [order[j] for j in np.flatnonzero(ok)]
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} of {n_files} file(s) of {inventory.source} that are not "
            f"images or cannot be decoded (first: {skipped[0][0]}: {skipped[0][1]}); fix or "
            "remove them to use them",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return DecodedImages(
        images=images,
        files=[inventory.files[i] for i in kept],
        classes=[inventory.classes[i] for i in kept],
        splits=[inventory.splits[i] for i in kept],
        mode=mode,
        modes=dict(sorted(modes.items())),
        skipped=skipped,
        n_files=n_files,
    )


def _check_bad(skipped, n_files: int, max_bad: float, inventory: ImageInventory) -> None:
    if n_files and len(skipped) / n_files > max_bad:
        file, reason = skipped[0]
        raise ValueError(
            f"{len(skipped)} of {n_files} files of {inventory.source} "
            f"({100.0 * len(skipped) / n_files:.0f}%) are not images or cannot be decoded "
            f"(first: {file}: {reason}); above the {100.0 * max_bad:.0f}% limit (max_bad="
            f"{max_bad}) this is taken as the wrong folder or format: convert the files to "
            "PNG or JPEG, or remove them"
        )


# --------------------------------------------------------------------------------------------
# the test split


def carve_test_split(classes, *, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """A stratified, seeded test split: ``"train"`` or ``"test"`` per item of ``classes``.

    Each class with ``n >= 2`` items puts ``clip(round(test_fraction * n), 1, n - 1)`` of them
    in the test split, drawn with scikit-learn's ``train_test_split(random_state=seed)``, so
    every class with two or more images is tested and trained on. A class with a single image
    keeps it for training (it cannot be tested).

    Parameters
    ----------
    classes : sequence
        Class of each item, in a fixed order (the split depends on it).
    test_fraction : float
        In (0, 0.5].
    seed : int
    """
    from sklearn.model_selection import train_test_split

    test_fraction = check_float(
        test_fraction, "test_fraction", min_value=0.0, max_value=0.5, min_inclusive=False
    )
    seed = check_int(seed, "seed", min_value=0, max_value=2**32 - 1)
    classes = np.asarray(list(classes), dtype=object)
    out = np.full(len(classes), "train", dtype=object)
    for name in sorted(set(classes.tolist())):
        rows = np.flatnonzero(classes == name)
        if len(rows) < 2:
            continue
        n_test = int(min(len(rows) - 1, max(1, round(test_fraction * len(rows)))))
        _, test_rows = train_test_split(rows, test_size=n_test, random_state=seed, shuffle=True)
        out[test_rows] = "test"
    return out


# --------------------------------------------------------------------------------------------
# a recorded file list as a dataset


def load_listed_images(
    name: str,
    split: str = "train",
    *,
    data_dir,
    files,
    mode: str,
    size=None,
    **recorded,
) -> ImageSet:
    """The images of one split of a recorded file list (what a ``compare`` spec holds).

    Parameters
    ----------
    name : str
        Dataset name (recorded; any value).
    split : str
        A key of ``files``.
    data_dir : path
        The folder the paths are relative to.
    files : dict
        ``{split: [[relative path, class name], ...]}``; the class names of every split,
        sorted, give the class indices (the same in every split).
    mode : {"L", "RGB"}
    size : (H, W), optional
    **recorded
        Other recorded settings (the split's provenance); ignored here.

    Raises
    ------
    ValueError
        An unknown split, or a listed file that no longer decodes (named, with the fix).
    """
    if not isinstance(files, dict) or split not in files:
        known = ", ".join(files) if isinstance(files, dict) else "none"
        raise ValueError(f"split={split!r} is not recorded in this file list; known: {known}")
    mode = check_mode(mode)
    size = check_size(size)
    root = Path(data_dir)
    class_names = tuple(sorted({c for rows in files.values() for _, c in rows}))
    index = {c: i for i, c in enumerate(class_names)}
    rows = files[split]
    paths = [root / f for f, _ in rows]
    images, _, _ = decode_images(paths, size=size, mode=mode, on_error="raise")
    if size is None and len(images) and images.shape[2:] != _first_shape(files, root, mode):
        raise ValueError(
            f"split {split!r} of {root} has images of another size than the other splits; "
            "pass a size to resize them"
        )
    return ImageSet(
        images,
        np.array([index[c] for _, c in rows], dtype=np.int64),
        class_names,
        source=f"{name} ({split}) from {root}",
        meta={
            "dataset": name,
            "split": split,
            "root": str(root),
            "rows": {"file": np.array([f for f, _ in rows], dtype=object)},
        },
    )


def _first_shape(files: dict, root: Path, mode: str) -> tuple[int, int]:
    first = next(rows[0][0] for rows in files.values() if rows)
    _, (w, h) = _header(root / first)
    return h, w
