"""Decode image files once into an on-disk uint8 array, then memory-map it.

Large radiology sets (CheXpert: 224,316 images) never need to fit in RAM: the first load decodes
each file (grayscale, resized) into a ``.npy`` file written atomically, and later loads with the
same file list and size map that file read-only (``numpy.load(mmap_mode="r")``), so the pixels
stay on disk until a row is indexed.

A cache entry is two files in ``cache_dir``: ``<name>-<H>x<W>-<key>.npy`` (rows of the images
that decoded, first to last, then unused rows) and a ``.json`` sidecar (key, how many rows are
valid, which files could not be read and why, which modes were converted to grayscale). The key
is a SHA-256 of the resolved file list and the size; replacing an image file in place does not
change it, so delete the cache folder after editing images.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .._checks import atomic_path, atomic_write_text, check_int
from .decode import SIXTEEN_BIT, check_on_error, check_size, eight_bit
from .locations import cache_root

CACHE_VERSION = 1
_BATCH = 256


def default_cache_dir() -> Path:
    """``$DEEPBALANCE_IMAGE_CACHE`` or ``<download cache>/image-cache``."""
    env = os.environ.get("DEEPBALANCE_IMAGE_CACHE", "").strip()
    return Path(env).expanduser() if env else cache_root() / "image-cache"


def read_image(path: str | os.PathLike, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Decode one image as grayscale uint8 ``(H, W)`` resized to ``size``.

    Returns the pixels and the file's original mode (``"L"`` when no conversion was needed).
    16-bit images are scaled to 8 bits (PIL's plain conversion would clip them).
    """
    h, w = size
    with Image.open(path) as img:
        mode = img.mode
        if img.format == "JPEG":
            img.draft("L", (w, h))  # decode at a reduced scale: much faster for big JPEGs
        img.load()
        if mode in SIXTEEN_BIT:
            gray = eight_bit(img)
        elif img.mode != "L":
            gray = img.convert("L")
        else:
            gray = img
        if gray.size != (w, h):
            gray = gray.resize((w, h), Image.Resampling.BILINEAR)
        return np.asarray(gray, dtype=np.uint8), mode


def _read_or_error(path: str, size: tuple[int, int]):
    try:
        return read_image(path, size)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Unreadable, truncated or not an image: counted and reported, never a traceback.
        return None, f"{type(exc).__name__}: {exc}"


@dataclass
class DecodedImages:
    """Images decoded (or mapped from the cache) for a list of files.

    Attributes
    ----------
    images : ndarray of uint8, shape (n_ok, 1, H, W)
        A read-only memory map when cached, else an in-memory array.
    kept : ndarray of int64
        Index into the requested file list of each row of ``images``.
    unreadable : list of (str, str)
        Files that could not be decoded, with the reason.
    converted_modes : dict
        ``{original mode: files}`` converted to grayscale (e.g. ``{"RGB": 3}``).
    from_cache : bool
        Whether the rows were mapped from an existing cache entry.
    cache_file : str or None
    """

    images: np.ndarray
    kept: np.ndarray
    unreadable: list = field(default_factory=list)
    converted_modes: dict = field(default_factory=dict)
    from_cache: bool = False
    cache_file: str | None = None


def cache_key(paths, size: tuple[int, int]) -> str:
    """SHA-256 hex of the resolved file list and target size (the cache entry's identity)."""
    digest = hashlib.sha256()
    digest.update(f"v{CACHE_VERSION} {size[0]}x{size[1]} gray bilinear\n".encode())
    for p in paths:
        digest.update(os.fsencode(os.path.abspath(p)) + b"\n")
    return digest.hexdigest()


def _progress(iterable, total: int, show: bool, label: str):
    if not show:
        return iterable
    from rich.progress import track

    return track(iterable, total=total, description=label)


def _batches(n: int):
    for start in range(0, n, _BATCH):
        yield start, min(n, start + _BATCH)


def _decode_into(out, paths, size, n_jobs, progress, label, on_error):
    """Decode ``paths`` into ``out`` rows, skipping failures; return (kept, unreadable, modes)."""
    kept, unreadable, modes = [], [], Counter()
    row = 0
    pool = ThreadPoolExecutor(n_jobs) if n_jobs > 1 else None
    try:
        steps = _progress(list(_batches(len(paths))), -(-len(paths) // _BATCH), progress, label)
        for start, stop in steps:
            chunk = [str(p) for p in paths[start:stop]]
            if pool is None:
                results = [_read_or_error(p, size) for p in chunk]
            else:
                results = list(pool.map(_read_or_error, chunk, [size] * len(chunk)))
            for offset, (pixels, info) in enumerate(results):
                if pixels is None and on_error == "raise":
                    raise ValueError(
                        f"cannot read image {chunk[offset]}: {info}; fix or remove the file, or "
                        "pass on_error='skip' to skip (and count) unreadable files"
                    )
                if pixels is None:
                    unreadable.append((chunk[offset], info))
                    continue
                if info != "L":
                    modes[info] += 1
                out[row, 0] = pixels
                kept.append(start + offset)
                row += 1
    finally:
        if pool is not None:
            pool.shutdown()
    return np.asarray(kept, dtype=np.int64), unreadable, dict(sorted(modes.items()))


def _entry_name(name: str, size: tuple[int, int], key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "images"
    return f"{safe}-{size[0]}x{size[1]}-{key[:20]}"


def _open_cached(npy: Path, sidecar: Path, key: str, n: int, size) -> DecodedImages | None:
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
        if info.get("version") != CACHE_VERSION or info.get("key") != key:
            return None
        data = np.load(npy, mmap_mode="r", allow_pickle=False)
        n_ok = int(info["n_ok"])
        kept = np.asarray(info["kept"], dtype=np.int64)
        if data.dtype != np.uint8 or data.shape != (n, 1, *size) or len(kept) != n_ok:
            return None
        return DecodedImages(
            images=data[:n_ok],
            kept=kept,
            unreadable=[tuple(u) for u in info["unreadable"]],
            converted_modes=dict(info["converted_modes"]),
            from_cache=True,
            cache_file=str(npy),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, half-written by an older version, or corrupt: rebuild


def load_images(
    paths,
    size=128,
    *,
    cache: bool = True,
    cache_dir=None,
    name: str = "images",
    n_jobs: int = 1,
    progress: bool = False,
    on_error: str = "skip",
) -> DecodedImages:
    """Decode image files to grayscale uint8 ``(N, 1, H, W)``, through the on-disk cache.

    Parameters
    ----------
    paths : sequence of str or Path
        Image files, in the order wanted.
    size : int or (int, int)
        Output height and width (``int`` for square); images are resized (bilinear) without
        keeping the aspect ratio.
    cache : bool
        Keep the decoded pixels in a memory-mapped ``.npy`` file and reuse it on the next load
        with the same files and size. ``False`` decodes into RAM every time.
    cache_dir : str or Path, optional
        Folder of the cache (default :func:`default_cache_dir`).
    name : str
        Readable prefix of the cache file name (e.g. ``"chexpert-train"``).
    n_jobs : int
        Decoding threads (Pillow releases the GIL while decoding).
    progress : bool
        Show a progress bar while decoding.
    on_error : {"skip", "raise"}
        Skip unreadable files (listed in ``unreadable``) or raise a ``ValueError`` naming one.

    Returns
    -------
    DecodedImages
    """
    size = check_size(size, allow_none=False)
    n_jobs = check_int(n_jobs, "n_jobs", min_value=1)
    on_error = check_on_error(on_error)
    if not isinstance(cache, bool):
        raise TypeError(f"cache={cache!r} must be True or False")
    if not isinstance(name, str):
        raise TypeError(f"name={name!r} must be a string")
    paths = list(paths)
    n = len(paths)
    if n == 0:
        raise ValueError("paths is empty; pass at least one image file")
    if not cache:
        out = np.zeros((n, 1, *size), dtype=np.uint8)
        kept, unreadable, modes = _decode_into(out, paths, size, n_jobs, progress, name, on_error)
        return DecodedImages(out[: len(kept)], kept, unreadable, modes)

    folder = Path(default_cache_dir() if cache_dir is None else cache_dir).expanduser()
    key = cache_key(paths, size)
    stem = _entry_name(name, size, key)
    npy, sidecar = folder / f"{stem}.npy", folder / f"{stem}.json"
    found = _open_cached(npy, sidecar, key, n, size)
    if found is not None:
        if on_error == "raise" and found.unreadable:
            path, reason = found.unreadable[0]
            raise ValueError(
                f"cannot read image {path}: {reason} (recorded in the cache {npy}); fix or "
                "remove the file, or pass on_error='skip' to skip (and count) unreadable files"
            )
        return found
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot create cache_dir={str(folder)!r} ({exc}); pass a writable cache_dir or "
            "cache=False"
        ) from None
    with atomic_path(npy, suffix=".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, 1, *size))
        kept, unreadable, modes = _decode_into(out, paths, size, n_jobs, progress, name, on_error)
        out.flush()
        del out
    info = {
        "version": CACHE_VERSION,
        "key": key,
        "size": list(size),
        "n_files": n,
        "n_ok": len(kept),
        "kept": kept.tolist(),
        "unreadable": [list(u) for u in unreadable],
        "converted_modes": modes,
    }
    atomic_write_text(sidecar, json.dumps(info))
    found = _open_cached(npy, sidecar, key, n, size)
    if found is None:  # pragma: no cover - only if the file system lost what we just wrote
        raise OSError(f"image cache {npy} could not be read back after writing")
    found.from_cache = False
    return found
