"""Decode image files with Pillow into one uint8 ``(N, C, H, W)`` array.

Shared by the folder-based loaders (image folders, CelebA). Unreadable files are skipped with
one warning that counts them, or raise a ``ValueError`` naming the file (``on_error="raise"``).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .._checks import check_choice, check_int

MODES = {"L": 1, "RGB": 3}
#: Pillow modes read as grayscale when the mode is inferred (see :func:`infer_mode`).
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ON_ERROR = ("skip", "raise")
CROPS = ("center", None)
_BILINEAR = getattr(Image, "Resampling", Image).BILINEAR


def check_size(size, *, allow_none: bool = True) -> tuple[int, int] | None:
    """``size`` (int or ``(H, W)``) as ``(H, W)``; ``None`` keeps the files' own size."""
    if size is None and allow_none:
        return None
    if isinstance(size, tuple | list) and len(size) == 2:
        return (
            check_int(size[0], "size[0] (height)", min_value=1),
            check_int(size[1], "size[1] (width)", min_value=1),
        )
    try:
        side = check_int(size, "size", min_value=1)
    except TypeError:
        raise TypeError(
            f"size={size!r} must be an int or a (height, width) pair; pass e.g. size=32"
        ) from None
    return side, side


def check_mode(mode) -> str:
    """``mode`` must be ``"L"`` (grayscale, 1 channel) or ``"RGB"`` (3 channels)."""
    return check_choice(mode, "mode", MODES)


def image_header(path: str | Path) -> tuple[str, tuple[int, int]]:
    """Pillow mode and ``(width, height)`` of an image file, read from its header only."""
    with Image.open(path) as img:
        return img.mode, img.size


def infer_mode(paths: Sequence[str | Path]) -> str:
    """``"L"`` when every readable file in ``paths`` is grayscale, else ``"RGB"``.

    Grayscale means a Pillow mode in :data:`GRAY_MODES` (``L``, ``LA``, 1-bit, 16/32-bit
    integer, float); palette and colour files count as colour. Only headers are read;
    unreadable files are ignored here (the decoder reports them). Converting grayscale to RGB
    is lossless, so a folder mixing both is read as RGB.
    """
    seen = False
    for path in paths:
        try:
            mode, _ = image_header(path)
        except Exception:  # Pillow raises many types for bad files; decode_images reports them
            continue
        seen = True
        if mode not in GRAY_MODES:
            return "RGB"
    return "L" if seen else "RGB"


def check_on_error(on_error) -> str:
    return check_choice(on_error, "on_error", ON_ERROR)


def caller_stacklevel() -> int:
    """``stacklevel`` that points a warning at the first frame outside deepbalance."""
    package = str(Path(__file__).resolve().parents[1])
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        level, frame = level + 1, frame.f_back
    return level


#: Pillow's 16- and 32-bit integer grayscale modes, scaled to 8 bits by :func:`eight_bit`.
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit grayscale image scaled to 8 bits (``round(value / 257)``); others unchanged.

    Pillow's own conversion to ``"L"`` clips every value above 255 to white, which turns a
    16-bit radiograph or microscope image into a blank one.
    """
    if img.mode not in SIXTEEN_BIT:
        return img
    values = np.asarray(img, dtype=np.float64)
    return Image.fromarray(np.clip(values / 257.0, 0, 255).round().astype(np.uint8))


def decode_image(
    path: str | Path, size: tuple[int, int] | None, mode: str, crop: str | None = None
) -> np.ndarray:
    """One image file as uint8 ``(C, H, W)``.

    Parameters
    ----------
    path : str or Path
    size : (H, W) or None
        Output size; ``None`` keeps the file's size.
    mode : {"L", "RGB"}
    crop : {"center", None}
        ``"center"`` crops the largest centred square (or the target's aspect ratio) before
        resizing, so faces and objects are not stretched.
    """
    with Image.open(path) as img:
        if size is not None and img.format == "JPEG":
            # lets the JPEG decoder downscale by 1/2..1/8 while decoding: much faster
            img.draft(mode, (size[1], size[0]))
        img = eight_bit(img).convert(mode)
    if size is not None:
        h, w = size
        if crop == "center":
            W, H = img.size
            scale = min(W / w, H / h)
            cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
            left, top = (W - cw) // 2, (H - ch) // 2
            if (cw, ch) != (W, H):
                # crop before resizing: resize(box=...) would blend in pixels outside the box
                img = img.crop((left, top, left + cw, top + ch))
        if img.size != (w, h):
            img = img.resize((w, h), _BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_images(
    paths: Sequence[str | Path],
    *,
    size: tuple[int, int] | None,
    mode: str,
    crop: str | None = None,
    on_error: str = "skip",
    what: str = "image",
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Decode ``paths`` into one array, skipping (or raising on) unreadable files.

    Returns
    -------
    images : ndarray of uint8, shape (n_ok, C, H, W)
    ok : ndarray of bool, shape (len(paths),)
        Which paths were decoded (rows of ``images`` follow their order).
    skipped : list of dict
        ``{"path": ..., "error": ...}`` for each skipped file.

    Warns
    -----
    UserWarning
        Once, counting the skipped files, when any were skipped.
    """
    channels = MODES[mode]
    out: np.ndarray | None = None
    ok = np.zeros(len(paths), dtype=bool)
    skipped: list[dict] = []
    for i, path in enumerate(paths):
        try:
            arr = decode_image(path, size, mode, crop)
        except Exception as exc:  # Pillow raises many types for bad files (OSError, SyntaxError..)
            if on_error == "raise":
                raise ValueError(
                    f"cannot read {what} {path}: {type(exc).__name__}: {exc}; fix or remove the "
                    "file, or pass on_error='skip' to skip unreadable files"
                ) from None
            skipped.append({"path": str(path), "error": f"{type(exc).__name__}: {exc}"})
            continue
        if out is None:
            out = np.empty((len(paths), channels, *arr.shape[1:]), dtype=np.uint8)
        elif arr.shape != out.shape[1:]:
            first = paths[int(np.flatnonzero(ok)[0])]
            raise ValueError(
                f"{what}s differ in size: {first} is {out.shape[3]}x{out.shape[2]} but {path} "
                f"is {arr.shape[2]}x{arr.shape[1]} (width x height); pass size=(height, width) "
                "to resize them all"
            )
        out[i] = arr
        ok[i] = True
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} unreadable {what} file(s) of {len(paths)} (first: "
            f"{skipped[0]['path']}: {skipped[0]['error']}); the list is in meta['skipped']",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    if out is None:
        h, w = size if size is not None else (0, 0)
        return np.empty((0, channels, h, w), dtype=np.uint8), ok, skipped
    # out was allocated for every path; keep the decoded rows (a view when nothing was skipped)
    return (out if ok.all() else out[ok]), ok, skipped
