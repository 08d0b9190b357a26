"""CutMix (Yun et al. 2019): paste a random box of one image onto another, labels weighted by
the box's area."""

from __future__ import annotations

import torch

from ..._checks import check_float
from .base import BATCH_TRANSFORMS, BatchTransform, one_hot


def check_alpha(alpha, what: str = "the box's area fraction") -> float:
    """CutMix's Beta parameter: a number > 0."""
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha <= 0:
        raise ValueError(
            f"alpha={alpha} must be > 0: {what} is drawn from Beta(alpha, alpha); pass e.g. "
            "alpha=1.0 (Yun et al. 2019)"
        )
    return check_float(alpha, "alpha", min_value=0.0, min_inclusive=False)


def check_probability(probability) -> float:
    """A probability in [0, 1]."""
    if (
        isinstance(probability, (int, float))
        and not isinstance(probability, bool)
        and not 0 <= probability <= 1
    ):
        raise ValueError(
            f"probability={probability} must be in [0, 1]: it is the chance that a batch is "
            "mixed; pass e.g. probability=0.5 (Park et al. 2022)"
        )
    return check_float(probability, "probability", min_value=0.0, max_value=1.0)


def random_box(height: int, width: int, lam: float, rng) -> tuple[int, int, int, int]:
    """A box ``(top, bottom, left, right)`` of about ``1 − lam`` of the image's area.

    Its sides are ``int(H sqrt(1 − λ))`` and ``int(W sqrt(1 − λ))``, centred on a uniformly
    drawn pixel and clipped to the image, so a box near an edge is smaller (Yun et al. 2019,
    §3.1; the authors' ``rand_bbox``). ``rng`` is a numpy Generator.
    """
    lam = check_float(lam, "lam", min_value=0.0, max_value=1.0)
    cut = (1.0 - lam) ** 0.5
    cut_h, cut_w = int(height * cut), int(width * cut)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return top, bottom, left, right


def paste_box(background: torch.Tensor, patch_source: torch.Tensor, rng, alpha: float):
    """``background`` with one random box (:func:`random_box`, area fraction from
    ``1 − Beta(α, α)``) replaced by the same box of ``patch_source``, and the background's
    label weight ``λ = 1 − box area / image area`` (exact, after clipping)."""
    h, w = background.shape[-2:]
    lam = float(rng.beta(alpha, alpha))
    top, bottom, left, right = random_box(h, w, lam, rng)
    mixed = background.clone()
    mixed[:, :, top:bottom, left:right] = patch_source[:, :, top:bottom, left:right]
    return mixed, 1.0 - (bottom - top) * (right - left) / (h * w)


@BATCH_TRANSFORMS.register("cutmix")
class CutMix(BatchTransform):
    """One random box per batch (:func:`paste_box`) pasted from a random permutation of the
    batch, ``y' = λ y + (1 − λ) y[perm]`` with ``λ`` the share of the image left unchanged
    (Yun et al. 2019, eq. 1), applied to a batch with ``probability``.

    Parameters
    ----------
    alpha : float
        Beta parameter of the box's area, > 0 (1.0 in Yun et al. 2019, §3.1: uniform).
    probability : float
        Chance in [0, 1] that a batch is mixed (1.0: every batch, as Yun et al. 2019, §3.1
        describe it).
    """

    def __init__(self, alpha: float = 1.0, probability: float = 1.0):
        self.alpha = check_alpha(alpha)
        self.probability = check_probability(probability)
        self.last_lambda = None

    def __call__(self, x, y, *, epoch, generator):
        if self.rng.random() >= self.probability:
            self.last_lambda = None
            return x, None
        gen_device = generator.device if generator is not None else torch.device("cpu")
        perm = torch.randperm(len(y), generator=generator, device=gen_device).to(x.device)
        mixed, lam = paste_box(x, x[perm], self.rng, self.alpha)
        targets = one_hot(y, self.n_classes)
        self.last_lambda = lam
        return mixed, lam * targets + (1.0 - lam) * targets[perm]

    def describe(self) -> dict:
        return {"name": "cutmix", "alpha": self.alpha, "probability": self.probability}
