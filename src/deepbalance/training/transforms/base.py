"""The batch-transform contract and its registry."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ...registry import Registry

BATCH_TRANSFORMS: Registry = Registry("batch transform")


def one_hot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Float one-hot targets ``(B, K)`` of int labels ``y``."""
    return F.one_hot(y, n_classes).to(torch.float32)


class TrainingRows:
    """The training rows a transform may draw further images from (CMO's minority batch).

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
        Label of every training row.
    synthetic : ndarray of bool, shape (N,)
        True for a sampler's synthetic rows.
    inputs : callable
        ``inputs(rows)`` with ``rows`` an int64 index tensor: those rows as network inputs,
        augmented and standardised as the training batches are (the trainer's own pipeline
        and generator).
    """

    def __init__(self, labels, synthetic, inputs):
        self.labels = np.asarray(labels)
        self.synthetic = np.asarray(synthetic, dtype=bool)
        if self.labels.ndim != 1 or self.synthetic.shape != self.labels.shape:
            raise ValueError(
                f"labels {self.labels.shape} and synthetic {self.synthetic.shape} must be 1-D "
                "arrays of one length, one entry per training row"
            )
        if not callable(inputs):
            raise TypeError(f"inputs={inputs!r} must be a callable rows -> image tensor")
        self._inputs = inputs

    def __len__(self) -> int:
        return len(self.labels)

    def images(self, rows: torch.Tensor) -> torch.Tensor:
        """The rows at index tensor ``rows`` as network inputs ``(len(rows), C, H, W)``."""
        return self._inputs(rows)


class BatchTransform:
    """Changes a training batch after augmentation and standardisation.

    The trainer calls :meth:`setup` once before training, then the transform on every
    training batch; it returns the batch's images and its targets: a ``(B, K)`` tensor of
    target distributions when it mixed labels, or None when the labels are unchanged.

    Attributes
    ----------
    mixes_labels : bool
        The transform may return soft targets, so it cannot be composed with a loss head
        that needs hard labels (CLE-SMOTE's cap); the trainer refuses that before training.
    """

    mixes_labels: bool = True

    def setup(
        self,
        *,
        n_classes: int,
        real_counts: np.ndarray,
        seed: int,
        rows: TrainingRows | None = None,
    ) -> None:
        """Called once before training: the class count, real rows per class, the seed
        every random draw of the transform must come from, and the training rows (for a
        transform that draws images beyond the batch's own)."""
        self.n_classes = int(n_classes)
        self.real_counts = np.asarray(real_counts)
        self.rng = np.random.default_rng(seed)
        if rows is not None and not isinstance(rows, TrainingRows):
            raise TypeError(f"rows must be a TrainingRows, got {type(rows).__name__}")
        self.rows = rows

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, *, epoch: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": type(self).__name__}


def build_batch_transform(name: str, params: Mapping | None = None) -> BatchTransform:
    """The registered transform ``name`` made with ``params``."""
    cls = BATCH_TRANSFORMS.get(name)
    params = dict(params or {})
    try:
        return cls(**params)
    except TypeError as err:
        raise TypeError(f"batch transform {name!r}: {err}") from None
