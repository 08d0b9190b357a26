"""A PNG of real next to synthetic images, one row per class."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._checks import atomic_path, check_int, check_random_state
from .base import check_images


def _pick(X01, labels, cls, n, rng):
    rows = np.flatnonzero(labels == cls)
    if len(rows) > n:
        rows = np.sort(rng.choice(rows, n, replace=False))
    return X01[rows]


def _as_rgb(img: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W, 3) for display: grey, RGB, or the channel mean."""
    if img.shape[0] == 3:
        return img.transpose(1, 2, 0)
    grey = img[0] if img.shape[0] == 1 else img.mean(axis=0)
    return np.repeat(grey[:, :, None], 3, axis=2)


def image_grid(
    real,
    real_labels,
    synthetic,
    synthetic_labels,
    path,
    *,
    n_per_class: int = 8,
    class_names=None,
    image_shape=None,
    title: str | None = None,
    random_state=0,
) -> Path:
    """Write a PNG: one row per class, real images on the left, synthetic on the right.

    Parameters
    ----------
    real, synthetic : arrays of images
        (N, C, H, W), (N, H, W) or flattened with ``image_shape``; uint8 or float in [0, 1].
        Both must have the same image shape. ``synthetic`` may be empty.
    real_labels, synthetic_labels : arrays (N,)
        Labels of the rows; rows are drawn for every label found in either.
    path : str or path
        Where the PNG goes (written atomically).
    n_per_class : int, default=8
        Images per side and class (fewer when a class has fewer).
    class_names : dict or sequence, optional
        Display name per label (``class_names[label]``); default ``str(label)``.
    title : str, optional
    random_state : int, RandomState or None, default=0
        Which images are shown when a class has more than ``n_per_class``.

    Returns
    -------
    Path of the written PNG.
    """
    # the Agg canvas directly: no pyplot, no global backend switch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = check_int(n_per_class, "n_per_class", min_value=1)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or path-like")
    real01, real_layout = check_images(real, image_shape, name="real")
    shape = real_layout.image_shape
    real_labels = _labels(real_labels, len(real01), "real_labels")
    if synthetic is None or len(np.asarray(synthetic)) == 0:
        syn01 = np.zeros((0, *shape), np.float32)
        synthetic_labels = np.zeros(0, real_labels.dtype)
    else:
        syn01, syn_layout = check_images(synthetic, image_shape, name="synthetic")
        if syn_layout.image_shape != shape:
            raise ValueError(
                f"synthetic images have shape {syn_layout.image_shape} but real ones {shape}; "
                "pass images of the same shape"
            )
    synthetic_labels = _labels(synthetic_labels, len(syn01), "synthetic_labels")
    rng = check_random_state(random_state)
    classes = np.unique(np.concatenate([real_labels, synthetic_labels]))
    c, h, w = shape
    gap = max(1, h // 8)
    cell_w = w + gap
    canvas = np.ones(((h + gap) * len(classes), cell_w * (2 * n) + 3 * gap, 3), np.float32)
    for r, cls in enumerate(classes):
        top = r * (h + gap)
        for side, (X01, lab) in enumerate(((real01, real_labels), (syn01, synthetic_labels))):
            left0 = side * (n * cell_w + 3 * gap)
            for j, img in enumerate(_pick(X01, lab, cls, n, rng)):
                left = left0 + j * cell_w
                canvas[top : top + h, left : left + w] = _as_rgb(img)
    names = [_name(class_names, cls) for cls in classes]
    height = max(1.5, 0.45 * len(classes) * max(1.0, h / 28)) + (0.5 if title else 0.3)
    width = max(4.0, canvas.shape[1] / canvas.shape[0] * (height - 0.5)) + 1.2
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.12, 0.02, 0.86, 0.9 if title else 0.94))
    ax.imshow(canvas, interpolation="nearest", aspect="equal")
    ax.set_yticks([r * (h + gap) + h / 2 for r in range(len(classes))], names)
    ax.set_xticks([n * cell_w / 2, n * cell_w + 3 * gap + n * cell_w / 2], ["real", "synthetic"])
    ax.xaxis.set_ticks_position("top")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title)
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def sampler_grid(
    sampler, X, y, path, *, n_per_class: int = 8, class_names=None, title=None, random_state=0
) -> Path:
    """:func:`image_grid` of ``X, y`` beside a sampler's synthetic images.

    A fitted sampler with ``generate`` (latent samplers, also after ``load``) makes
    ``n_per_class`` new images of every class of ``y`` it knows (with ``residual=True``
    ``X`` must be the images it was fitted on, whose detail it adds back); any other
    sampler is run with ``fit_resample(X, y)`` and its synthetic rows are shown.
    """
    if not hasattr(sampler, "fit_resample"):
        raise TypeError(f"sampler={sampler!r} must be a deepbalance sampler")
    y = np.asarray(y)
    if hasattr(sampler, "generate") and hasattr(sampler, "latent_"):
        n = check_int(n_per_class, "n_per_class", min_value=1)
        known = [c for c in np.unique(y) if c in set(sampler.classes_.tolist())]
        images = X if getattr(sampler, "residual", False) else None
        syn = [sampler.generate(n, c, random_state=random_state, X=images) for c in known]
        syn_X = np.concatenate(syn) if syn else np.zeros((0, *np.asarray(X).shape[1:]))
        syn_y = np.repeat(np.asarray(known, dtype=y.dtype), n)
    else:
        X_res, y_res = sampler.fit_resample(X, y)
        mask = sampler.synthetic_mask_
        syn_X, syn_y = X_res[mask], y_res[mask]
    return image_grid(
        X,
        y,
        syn_X,
        syn_y,
        path,
        n_per_class=n_per_class,
        class_names=class_names,
        image_shape=getattr(sampler, "image_shape", None),
        title=title,
        random_state=random_state,
    )


def _labels(labels, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"{name} has shape {labels.shape}; pass one label per image ({n})")
    return labels


def _name(class_names, cls) -> str:
    if class_names is None:
        return str(cls)
    try:
        return str(class_names[cls])
    except (KeyError, IndexError, TypeError):
        return str(cls)
