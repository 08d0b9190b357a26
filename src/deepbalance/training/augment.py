"""Resolving ``TrainConfig.augment`` for one training set."""

from __future__ import annotations

import warnings

from ..data.flips import hflip_preserves_label


def resolve_augment(augment: str, dataset: str | None) -> str:
    """The augmentation to apply to ``dataset``'s images: ``"none"``, ``"shift"`` or
    ``"shift-flip"``.

    ``"auto"`` gives ``"shift-flip"`` where horizontal flips keep the labels
    (:func:`deepbalance.data.hflip_preserves_label`) and ``"shift"`` elsewhere. An explicit
    ``"shift-flip"`` on a dataset whose labels a flip may change is honoured with a warning.
    """
    if augment == "auto":
        return "shift-flip" if hflip_preserves_label(dataset) else "shift"
    if augment == "shift-flip" and not hflip_preserves_label(dataset):
        what = f"dataset {dataset!r}" if dataset else "these images (their dataset is unknown)"
        warnings.warn(
            f"augment='shift-flip' flips {what} horizontally, which may change their labels "
            "(e.g. digits, chest X-rays); flipping as asked. Pass augment='shift' (or 'auto') "
            "to shift only",
            UserWarning,
            stacklevel=3,
        )
    if augment not in ("none", "shift", "shift-flip"):
        raise ValueError(
            f"augment={augment!r} is not supported; choose 'auto', 'none', 'shift' or 'shift-flip'"
        )
    return augment
