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

from .._batching import batch_sizes
from .._checks import check_float
from ..data.imageset import ImageSet


def channel_stats(
    images: np.ndarray, rows: np.ndarray | None = None, chunk_values: int = 2**19
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 ``(N, C, H, W)`` images in [0, 1].

    ``rows`` (indices) restricts the statistics to those images. Images are read about
    ``chunk_values`` pixel values at a time, so a memory-mapped set is never copied whole and
    the float copy stays a few MB whatever the image size.
    """
    n_channels = images.shape[1]
    total = np.zeros(n_channels)
    total_sq = np.zeros(n_channels)
    n = len(images) if rows is None else len(rows)
    chunk = max(1, chunk_values // max(1, int(np.prod(images.shape[1:]))))
    for start in range(0, n, chunk):
        part = (
            images[start : start + chunk]
            if rows is None
            else images[np.asarray(rows[start : start + chunk])]
        )
        block = part.astype(np.float64)
        block /= 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += np.square(block, out=block).sum(axis=(0, 2, 3))
    count = n * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


class ImageRows:
    """uint8 images ``(N, C, H, W)`` that batches are gathered from, as tensors on ``device``.

    An array in memory becomes one tensor sharing its memory (moved to ``device`` once when
    ``resident``); a read-only array — a memory-mapped image cache
    (:mod:`deepbalance.data.image_cache`) — is never copied whole: each batch reads just its
    rows, in file order, so a training set larger than memory streams from disk.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, C, H, W)
    device : torch.device
        Where the gathered batches go.
    resident : bool, default True
        Keep an in-memory set on ``device`` (False: on the host, moved per batch).
    """

    def __init__(self, images: np.ndarray, device=None, *, resident: bool = True):
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.streamed = not images.flags.writeable
        self.shape = images.shape
        if self.streamed:
            self._array, self._tensor = images, None
        else:
            tensor = torch.from_numpy(images)
            self._array, self._tensor = None, tensor.to(self.device) if resident else tensor

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> torch.Tensor:
        """The images at ``rows`` (a slice, or an index or boolean tensor/array) on ``device``."""
        if not self.streamed:
            if isinstance(rows, torch.Tensor):
                rows = rows.to(self._tensor.device)
            return self._tensor[rows].to(self.device)
        if isinstance(rows, slice):
            block = np.array(self._array[rows])  # this batch only
        else:
            rows = rows.cpu().numpy() if isinstance(rows, torch.Tensor) else np.asarray(rows)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            order = np.argsort(rows, kind="stable")  # read the file front to back
            block = np.empty((len(rows), *self.shape[1:]), dtype=np.uint8)
            block[order] = self._array[rows[order]]
        return torch.from_numpy(block).to(self.device)


def default_shift(image_shape) -> int:
    """The default largest shift in pixels: ``max(1, round(0.08 * min(H, W)))``."""
    return max(1, round(0.08 * min(int(image_shape[-2]), int(image_shape[-1]))))


class InputPipeline:
    """uint8 batches → standardised float batches, with optional vectorised augmentation.

    Parameters
    ----------
    mean, std : array of shape (C,)
        Per-channel statistics of the real training images in [0, 1].
    augment : {"none", "shift", "shift-flip"}
        Random shifts by up to ``shift`` pixels (zero padding, then a random crop), plus a
        random horizontal flip for ``"shift-flip"``. Resolve ``"auto"`` first with
        :func:`deepbalance.training.augment.resolve_augment`.
    shift : int, optional
        Largest shift in pixels; None: :func:`default_shift` of the batch's image size.
    device : torch.device
    """

    def __init__(self, mean, std, *, augment: str = "none", shift: int | None = None, device=None):
        device = torch.device("cpu") if device is None else device
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        if augment not in ("none", "shift", "shift-flip"):
            raise ValueError(
                f"augment={augment!r} is not a resolved augmentation; pass 'none', 'shift' or "
                "'shift-flip' (resolve 'auto' with training.augment.resolve_augment)"
            )
        self.augment = augment
        self.shift = shift

    def __call__(
        self, batch: torch.Tensor, *, train: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x = batch.float().div_(255.0)
        if train and self.augment != "none":
            pad = self.shift if self.shift is not None else default_shift(x.shape)
            x = random_crop_flip(x, generator, pad=pad, flip=self.augment == "shift-flip")
        return (x - self.mean) / self.std


def random_crop_flip(
    x: torch.Tensor, generator: torch.Generator | None, *, pad: int | None = None, flip=True
) -> torch.Tensor:
    """Random shift (zero padding by ``pad``, then a random crop), then optionally a random
    horizontal flip, for a whole batch.

    ``pad=None`` pads by ``max(1, round(H / 8))`` pixels.
    """
    n, _, h, w = x.shape
    pad = max(1, round(h / 8)) if pad is None else int(pad)
    padded = F.pad(x, (pad, pad, pad, pad))
    gen_device = generator.device if generator is not None else torch.device("cpu")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gen_device).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gen_device).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = dx[:, None] + torch.arange(w, device=x.device)  # (n, w)
    if flip:
        flips = torch.rand(n, generator=generator, device=gen_device).to(x.device) < 0.5
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch_idx = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around the channel slice put their dims first: (n, h, w, C)
    out = padded[batch_idx, :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def batch_slices(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Index batches of a seeded permutation of ``range(n)`` (sizes from
    :func:`deepbalance._batching.batch_sizes`).

    The permutation changes every call, so no row is left out systematically.
    """
    perm = torch.randperm(n, generator=generator)
    return list(torch.split(perm, batch_sizes(n, batch_size)))


class RowStream:
    """Epochs of ``rows_per_epoch`` row indices drawn without replacement from a running
    sequence of seeded permutations of ``range(n)``.

    With ``rows_per_epoch == n`` an epoch is one fresh permutation (the usual epoch); with
    fewer rows every row is still visited equally often over consecutive epochs.
    """

    def __init__(self, n: int, rows_per_epoch: int, generator: torch.Generator):
        self.n, self.rows_per_epoch, self.generator = int(n), int(rows_per_epoch), generator
        self._pending = torch.empty(0, dtype=torch.int64)
        self._weights: torch.Tensor | None = None
        self._pool: torch.Tensor | None = None  # None: every row

    def draw_weighted(self, weights: torch.Tensor) -> None:
        """From the next epoch on, draw each epoch's rows with replacement in proportion to
        ``weights`` (one per row), e.g. class-balanced re-sampling."""
        self._weights = torch.as_tensor(weights, dtype=torch.float64)

    def draw_from(self, rows: torch.Tensor | None) -> None:
        """From the next epoch on, draw without replacement from permutations of ``rows``
        only (an int64 index tensor; None: every row), e.g. the real rows of a resampled set."""
        self._weights = None
        self._pool = None if rows is None else torch.as_tensor(rows, dtype=torch.int64)
        self._pending = torch.empty(0, dtype=torch.int64)

    def _permutation(self) -> torch.Tensor:
        if self._pool is None:
            return torch.randperm(self.n, generator=self.generator)
        return self._pool[torch.randperm(len(self._pool), generator=self.generator)]

    def batches(self, batch_size: int) -> list[torch.Tensor]:
        """The index batches of the next epoch."""
        if self._weights is not None:
            rows = torch.multinomial(
                self._weights, self.rows_per_epoch, replacement=True, generator=self.generator
            )
            return list(torch.split(rows, batch_sizes(self.rows_per_epoch, batch_size)))
        if self.rows_per_epoch == self.n and self._pool is None:
            return batch_slices(self.n, batch_size, self.generator)
        while len(self._pending) < self.rows_per_epoch:
            self._pending = torch.cat([self._pending, self._permutation()])
        rows, self._pending = (
            self._pending[: self.rows_per_epoch],
            self._pending[self.rows_per_epoch :],
        )
        return list(torch.split(rows, batch_sizes(self.rows_per_epoch, batch_size)))


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
