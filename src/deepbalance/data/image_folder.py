"""Your own images: one sub-folder per class (like torchvision's ``ImageFolder``).

Two layouts are accepted::

    flat                       with splits
    root/cat/001.png           root/train/cat/001.png
    root/dog/002.jpg           root/test/dog/107.png
                               root/valid/...            (``valid/`` or ``val/``)

Class names are the sorted class sub-folder names (with splits: the union over the split
folders, so a class index means the same class in every split). A flat folder answers
``split="all"`` and ``split="train"``; with split folders, ``"all"`` joins every split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .decode import check_mode, check_on_error, check_size, decode_images, infer_mode
from .imageset import ImageSet
from .locations import DatasetNotFoundError, env_root
from .registry import register_dataset

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
SPLITS = ("train", "test", "valid", "all")
_SPLIT_FOLDERS = {"train": ("train",), "test": ("test",), "valid": ("valid", "val")}


def visible_dirs(folder: Path) -> list[Path]:
    """The sub-folders of ``folder`` not hidden (no leading dot), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )


def split_roots(root: Path) -> dict[str, Path]:
    """``{split: folder}`` of the split folders (``train/``, ``test/``, ...) under ``root``."""
    roots = {}
    for split, names in _SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir():
                roots[split] = root / name
                break
    return roots


def _layout(root: Path, split: str) -> tuple[list[Path], tuple[str, ...]]:
    """The class-root folders to read for ``split`` and the class names."""
    by_split = split_roots(root)
    if "train" not in by_split:  # flat: root's sub-folders are the classes
        if split not in ("all", "train"):
            raise ValueError(
                f"split={split!r}: {root} has no '{split}' sub-folder, so its sub-folders are "
                "read as classes and it has only split='all' (or 'train'); for splits, use "
                f"{root}/train/<class>/..., {root}/test/<class>/..."
            )
        return [root], tuple(d.name for d in visible_dirs(root))
    if split != "all" and split not in by_split:
        raise ValueError(
            f"split={split!r}: {root} has no {' or '.join(_SPLIT_FOLDERS[split])} sub-folder; "
            f"it has {', '.join(sorted(by_split))}"
        )
    classes = sorted({d.name for r in by_split.values() for d in visible_dirs(r)})
    roots = list(by_split.values()) if split == "all" else [by_split[split]]
    return roots, tuple(classes)


def _resolve_root(data_dir: Path | None) -> Path:
    if data_dir is None:
        env = env_root()
        if env is not None and (env / "image-folder").is_dir():
            return env / "image-folder"
        raise DatasetNotFoundError(
            "image-folder reads your own images: pass data_dir='path/to/folder' (one "
            "sub-folder per class, or train/ and test/ folders each with one sub-folder per "
            "class)"
        )
    if not data_dir.is_dir():
        raise DatasetNotFoundError(
            f"image-folder: data_dir={str(data_dir)!r} does not exist; pass a folder with one "
            "sub-folder per class"
        )
    return data_dir


@register_dataset(
    "image-folder",
    description="Your own images: data_dir with one sub-folder per class (PNG/JPEG/...)",
    splits=SPLITS,
    probe=lambda data_dir: _probe(data_dir),
)
def load_image_folder(
    split: str,
    *,
    data_dir=None,
    download=False,
    size=None,
    mode: str | None = None,
    on_error: str = "skip",
) -> ImageSet:
    """Images from class sub-folders, decoded with Pillow.

    Parameters
    ----------
    size : int or (H, W), optional
        Resize every image to this size; ``None`` keeps the files' size (which must agree).
    mode : {None, "RGB", "L"}
        ``"RGB"`` gives 3 channels, ``"L"`` (grayscale) 1 channel. ``None`` (default) infers
        it from the files of every split (:func:`~deepbalance.data.decode.infer_mode`): 1
        channel when all are grayscale, else 3, so one folder gives the same channels in
        every split.
    on_error : {"skip", "raise"}
        ``"skip"`` (default) drops unreadable files with one warning and lists them in
        ``meta["skipped"]``; ``"raise"`` raises a ``ValueError`` naming the file.
    """
    size = check_size(size)
    mode = None if mode is None else check_mode(mode)
    on_error = check_on_error(on_error)
    if download:
        raise ValueError(
            "image-folder reads your own files, there is nothing to download; pass download=False"
        )
    root = _resolve_root(data_dir)
    roots, classes = _layout(root, split)
    paths, labels = [], []
    for r in roots:
        for label, name in enumerate(classes):
            if (r / name).is_dir():
                files = _image_files(r / name)
                paths += files
                labels += [label] * len(files)
    if not paths:
        raise ValueError(
            f"image-folder: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in class "
            f"sub-folders of {', '.join(map(str, roots))}; put each class's images in its own "
            "sub-folder"
        )
    if mode is None:
        every_split, _ = _layout(root, "all")
        mode = infer_mode(
            [f for r in every_split for d in visible_dirs(r) for f in _image_files(d)]
        )
    images, ok, skipped = decode_images(paths, size=size, mode=mode, on_error=on_error)
    return ImageSet(
        images,
        np.asarray(labels, dtype=np.int64)[ok],
        classes,
        source=f"image-folder ({split}) from {root}",
        meta={
            "dataset": "image-folder",
            "split": split,
            "root": str(root),
            "skipped": skipped,
            "n_skipped": len(skipped),
            "mode": mode,
        },
    )


def _probe(data_dir: Path | None):
    try:
        root = _resolve_root(data_dir)
    except DatasetNotFoundError:
        return None
    by_split = split_roots(root)
    if "train" not in by_split:
        by_split = {"all": root}
    counts = {}
    for split, r in by_split.items():
        counts[split] = sum(len(_image_files(d)) for d in visible_dirs(r))
    return (str(root), counts) if sum(counts.values()) else None
