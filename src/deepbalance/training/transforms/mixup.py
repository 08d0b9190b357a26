"""mixup (Zhang et al. 2018): train on convex combinations of pairs of images and labels."""

from __future__ import annotations

import torch

from ..._checks import check_float
from .base import BATCH_TRANSFORMS, BatchTransform, one_hot


@BATCH_TRANSFORMS.register("mixup")
class Mixup(BatchTransform):
    """``x' = λ x_i + (1 − λ) x_j`` and ``y' = λ y_i + (1 − λ) y_j`` with ``j`` a random
    permutation of the batch and one ``λ ~ Beta(α, α)`` per batch (Zhang et al. 2018, eq. 1).

    Parameters
    ----------
    alpha : float
        Beta parameter, > 0 (1.0 for CIFAR in Zhang et al. 2018, §3.2).
    """

    def __init__(self, alpha: float = 1.0):
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha <= 0:
            raise ValueError(
                f"alpha={alpha} must be > 0: lambda is drawn from Beta(alpha, alpha); pass e.g. "
                "alpha=1.0 (Zhang et al. 2018) or alpha=0.2"
            )
        self.alpha = check_float(alpha, "alpha", min_value=0.0, min_inclusive=False)
        self.last_lambda = None

    def __call__(self, x, y, *, epoch, generator):
        lam = float(self.rng.beta(self.alpha, self.alpha))
        gen_device = generator.device if generator is not None else torch.device("cpu")
        perm = torch.randperm(len(y), generator=generator, device=gen_device).to(x.device)
        targets = one_hot(y, self.n_classes)
        self.last_lambda = lam
        return lam * x + (1.0 - lam) * x[perm], lam * targets + (1.0 - lam) * targets[perm]

    def describe(self) -> dict:
        return {"name": "mixup", "alpha": self.alpha}
