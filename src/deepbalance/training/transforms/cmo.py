"""Context-rich minority oversampling (CMO; Park et al. 2022): CutMix of minority images onto
the images of the instance-balanced batch."""

from __future__ import annotations

import numpy as np
import torch

from ..._checks import check_float
from .base import BATCH_TRANSFORMS, BatchTransform, one_hot
from .cutmix import check_alpha, check_probability, paste_box


def check_exponent(exponent) -> float:
    """CMO's sampling exponent: a number >= 0."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool) and exponent < 0:
        raise ValueError(
            f"exponent={exponent} must be >= 0: rows are drawn in proportion to n_c ** "
            "-exponent; pass exponent=1.0 (Park et al. 2022) or 0 for every row equally"
        )
    return check_float(exponent, "exponent", min_value=0.0)


#: CMO's minority pools: the real rows (Park et al. 2022) or every row, a sampler's included.
POOLS = ("real", "all")


def minority_row_weights(
    labels, synthetic, *, exponent: float = 1.0, pool: str = "real"
) -> np.ndarray:
    """CMO's sampling weight of every training row: ``n_c ** -exponent`` for a row of class
    ``c`` in the pool with ``n_c`` pool rows of its class, 0 outside the pool; normalised to
    sum to 1.

    With ``exponent = 1`` (Park et al. 2022's ``q(1, k)``, per image as in the authors' code)
    each class is drawn equally often; 0 draws every pool row equally. ``pool="real"`` (the
    paper) leaves synthetic rows out; ``pool="all"`` draws them too, so a sampler's rows (e.g.
    DeepSMOTE's decoded images) become CMO's minority images.
    """
    labels = np.asarray(labels)
    synthetic = np.asarray(synthetic, dtype=bool)
    if labels.ndim != 1 or synthetic.shape != labels.shape or len(labels) == 0:
        raise ValueError(
            f"labels {labels.shape} and synthetic {synthetic.shape} must be 1-D arrays of one "
            "length, one entry per training row"
        )
    exponent = check_exponent(exponent)
    pool = check_pool(pool)
    member = ~synthetic if pool == "real" else np.ones(len(labels), dtype=bool)
    if not member.any():
        raise ValueError(
            "CMO draws its minority images from the real training rows, but every row is "
            "synthetic; mark only the sampler's new rows as synthetic (or pass pool='all')"
        )
    counts = np.bincount(labels[member], minlength=int(labels.max()) + 1).astype(np.float64)
    weights = np.zeros(len(labels))
    weights[member] = counts[labels[member]] ** -exponent
    return weights / weights.sum()


def check_pool(pool) -> str:
    """CMO's minority pool: one of :data:`POOLS`."""
    if pool not in POOLS:
        raise ValueError(
            f"pool={pool!r} is not a CMO pool; pass 'real' (the real rows, Park et al. 2022) or "
            "'all' (a sampler's synthetic rows too)"
        )
    return pool


@BATCH_TRANSFORMS.register("cmo")
class CMO(BatchTransform):
    """Context-rich minority oversampling (Park et al. 2022, §3, Algorithm 1).

    With ``probability`` per batch: a second batch of as many real training images is drawn
    with replacement, each row with probability ∝ ``n_c ** -exponent``
    (:func:`minority_row_weights`), augmented like the training batches; one random box
    (CutMix, Yun et al. 2019; area fraction ``1 − λ`` with ``λ ~ Beta(α, α)``, clipped to the
    image) of each of these minority images is pasted onto the batch's image at the same place,
    and the target is ``λ y + (1 − λ) y_minority`` with ``λ = 1 − box area / image area`` (the
    background's share). Other batches train unchanged.

    Published settings: ``α = 1``, ``probability = 0.5``, ``exponent = 1`` (``q(1, k)``). The
    authors' code weights each *image* by ``1 / n_c``, so each class is drawn equally often;
    that is what is done here. Departure: their code leaves the first 4 and the last 3 of 200
    epochs without CMO; at this library's 10-epoch default those fractions round to no epoch, so
    every epoch may mix (end it earlier with the ``stop-batch-transform`` phase).

    Parameters
    ----------
    alpha : float
        Beta parameter of the box's area, > 0.
    probability : float
        Chance in [0, 1] that a batch is mixed.
    exponent : float
        >= 0; the minority images are drawn in proportion to ``n_c ** -exponent``.
    pool : {"real", "all"}
        Rows the minority images come from: the real rows (the paper), or every row, so that a
        sampler's synthetic rows are pasted too (``deepsmote-cmo``; an extension, not in Park
        et al.).
    """

    def __init__(
        self,
        alpha: float = 1.0,
        probability: float = 0.5,
        exponent: float = 1.0,
        pool: str = "real",
    ):
        self.alpha = check_alpha(alpha)
        self.probability = check_probability(probability)
        self.exponent = check_exponent(exponent)
        self.pool = check_pool(pool)
        self.last_lambda = self.last_rows = None

    def setup(self, *, n_classes, real_counts, seed, rows=None) -> None:
        super().setup(n_classes=n_classes, real_counts=real_counts, seed=seed, rows=rows)
        if rows is None:
            raise ValueError(
                "CMO draws its minority images from the training rows, but setup got rows=None; "
                "pass rows=TrainingRows(labels, synthetic, inputs) (the Trainer does)"
            )
        self.row_probabilities = minority_row_weights(
            rows.labels, rows.synthetic, exponent=self.exponent, pool=self.pool
        )
        self._cdf = np.cumsum(self.row_probabilities)

    def draw_rows(self, n: int) -> np.ndarray:
        """``n`` row indices drawn with replacement from :func:`minority_row_weights`."""
        u = self.rng.random(n) * self._cdf[-1]
        return np.minimum(np.searchsorted(self._cdf, u, side="right"), len(self._cdf) - 1)

    def __call__(self, x, y, *, epoch, generator):
        if self.rng.random() >= self.probability:
            self.last_lambda = self.last_rows = None
            return x, None
        rows = self.draw_rows(len(y))
        minority = self.rows.images(torch.from_numpy(rows)).to(x.device)
        y_minority = torch.as_tensor(self.rows.labels[rows], dtype=torch.int64, device=y.device)
        mixed, lam = paste_box(x, minority, self.rng, self.alpha)
        self.last_lambda, self.last_rows = lam, rows
        targets = lam * one_hot(y, self.n_classes) + (1.0 - lam) * one_hot(
            y_minority, self.n_classes
        )
        return mixed, targets

    def describe(self) -> dict:
        return {
            "name": "cmo",
            "alpha": self.alpha,
            "probability": self.probability,
            "exponent": self.exponent,
            "pool": self.pool,
        }
