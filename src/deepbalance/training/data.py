"""Training data held as uint8 tensors, turned into network inputs one batch at a time.

Nothing here loops over images in Python: a batch is a slice of a seeded permutation,
indexed out of the uint8 tensor, converted to float, optionally augmented and standardised.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from .._checks import check_float
from ..data.imageset import ImageSet


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 ``(N, C, H, W)`` images in [0, 1]."""
    n_channels = images.shape[1]
    total = np.zeros(n_channels)
    total_sq = np.zeros(n_channels)
    for start in range(0, len(images), chunk):  # chunks keep the float64 copy small
        block = images[start : start + chunk].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += np.square(block).sum(axis=(0, 2, 3))
    count = len(images) * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


class InputPipeline:
    """uint8 batches → standardised float batches, with optional vectorised augmentation.

    Parameters
    ----------
    mean, std : array of shape (C,)
        Per-channel statistics of the real training images in [0, 1].
    augment : bool
        Random crop (zero padding of ``max(1, round(H / 8))`` pixels) and horizontal flip.
    device : torch.device
    """

    def __init__(self, mean, std, *, augment: bool = False, device=None):
        device = torch.device("cpu") if device is None else device
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.augment = augment

    def __call__(
        self, batch: torch.Tensor, *, train: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x = batch.float().div_(255.0)
        if train and self.augment:
            x = random_crop_flip(x, generator)
        return (x - self.mean) / self.std


def random_crop_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random crop after zero padding, then a random horizontal flip, for a whole batch."""
    n, _, h, w = x.shape
    pad = max(1, round(h / 8))
    padded = F.pad(x, (pad, pad, pad, pad))
    gen_device = generator.device if generator is not None else torch.device("cpu")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gen_device).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gen_device).to(x.device)
    flip = torch.rand(n, generator=generator, device=gen_device).to(x.device) < 0.5
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = dx[:, None] + torch.arange(w, device=x.device)  # (n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch_idx = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around the channel slice put their dims first: (n, h, w, C)
    out = padded[batch_idx, :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def batch_slices(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Index batches of a seeded permutation of ``range(n)``.

    A trailing batch of a single row is dropped (batch norm cannot train on one row); the
    permutation changes every epoch, so no row is left out systematically.
    """
    perm = torch.randperm(n, generator=generator)
    batches = list(torch.split(perm, batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


def split_validation(data: ImageSet, fraction: float, *, seed: int) -> tuple[ImageSet, ImageSet]:
    """Carve a stratified, seeded validation split from ``data``.

    Do this before any resampling, so no synthetic row is grown from a validation image.

    Returns
    -------
    train, val : ImageSet
    """
    fraction = check_float(fraction, "val_fraction", min_value=0.0, max_value=0.5)
    if fraction == 0.0:
        raise ValueError("val_fraction=0.0 carves nothing; pass a fraction such as 0.1")
    counts = data.class_counts()
    small = [data.class_names[c] for c in np.flatnonzero((counts > 0) & (counts < 2))]
    if small:
        raise ValueError(
            f"val_fraction={fraction}: class(es) {small} have a single image, so a stratified "
            "validation split cannot hold them out; add images or pass val_fraction=0"
        )
    rows = np.arange(len(data))
    try:
        train_rows, val_rows = train_test_split(
            rows, test_size=fraction, stratify=data.labels, random_state=seed
        )
    except ValueError as err:
        raise ValueError(
            f"val_fraction={fraction} cannot give every class a validation image with "
            f"{len(data)} training images and {int((counts > 0).sum())} classes ({err}); "
            "pass a larger val_fraction or use more images"
        ) from None
    present = counts > 0
    val_counts = np.bincount(data.labels[val_rows], minlength=data.n_classes)
    if (val_counts[present] == 0).any():
        warnings.warn(
            f"val_fraction={fraction} leaves class(es) "
            f"{[data.class_names[c] for c in np.flatnonzero(present & (val_counts == 0))]} "
            "without validation images",
            UserWarning,
            stacklevel=2,
        )
    return (
        data.subset(np.sort(train_rows), source=f"{data.source} (train part)"),
        data.subset(np.sort(val_rows), source=f"{data.source} (validation part)"),
    )
