"""``ImageSet``: the one container that flows from the data layer onwards."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ImageSet:
    """Labelled images as uint8 ``(N, C, H, W)`` with int64 labels.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, C, H, W)
    labels : ndarray of int64, shape (N,)
        Integer class indices into ``class_names``.
    class_names : tuple of str
        Human-readable name of each class index.
    source : str
        Where the images came from (dataset name and file or folder).
    meta : dict
        Free-form extra information (e.g. skipped-file counts, filtering tables).
        ``meta["rows"]``, if present, is a per-image table: a dict of arrays of
        length N that :meth:`subset` slices along with the images.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        images, labels = self.images, self.labels
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            got = (
                f"{type(images).__name__} {getattr(images, 'dtype', '')} "
                f"shape {getattr(images, 'shape', '?')}"
            )
            raise ValueError(
                f"images must be a uint8 array of shape (N, C, H, W), got {got}; "
                "convert with np.asarray(x, dtype=np.uint8) and add a channel axis"
            )
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"labels must have shape ({len(images)},) to match images, got {labels.shape}"
            )
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64, copy=False)
        names = tuple(str(n) for n in self.class_names)
        if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
            raise ValueError(
                f"labels span [{labels.min()}, {labels.max()}] but there are {len(names)} "
                "class_names; pass one name per class index"
            )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "class_names", names)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def class_counts(self) -> np.ndarray:
        """Number of images per class index, length ``n_classes``."""
        return np.bincount(self.labels, minlength=self.n_classes)

    def imbalance_ratio(self) -> float:
        """Largest class count over smallest non-empty class count."""
        counts = self.class_counts()
        counts = counts[counts > 0]
        return float(counts.max() / counts.min()) if counts.size else float("nan")

    def subset(self, indices, *, source: str | None = None) -> ImageSet:
        """A new ``ImageSet`` with the rows ``indices`` (class names kept)."""
        indices = np.asarray(indices)
        meta = dict(self.meta)
        if isinstance(meta.get("rows"), dict):
            meta["rows"] = {k: np.asarray(v)[indices] for k, v in meta["rows"].items()}
        return ImageSet(
            self.images[indices],
            self.labels[indices],
            self.class_names,
            self.source if source is None else source,
            meta,
        )

    def as_float(self) -> np.ndarray:
        """Images as float32 in [0, 1]."""
        return self.images.astype(np.float32) / 255.0
