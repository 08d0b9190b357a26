"""Remix (Chou et al. 2020): mixup whose label leans to the minority image of a pair."""

from __future__ import annotations

import numpy as np
import torch

from ..._checks import check_float
from .base import BATCH_TRANSFORMS, one_hot
from .mixup import Mixup


def remix_label_weights(lam: float, n_i, n_j, *, kappa: float = 3.0, tau: float = 0.5):
    """Remix's label weight ``λ_y`` of image ``i`` in ``λ x_i + (1 − λ) x_j`` (Chou et al.
    2020, §3, the definition of ``λ_y``).

    ``λ_y = 0`` where ``n_i / n_j ≥ κ`` and ``λ < τ``; ``λ_y = 1`` where ``n_i / n_j ≤ 1 / κ``
    and ``1 − λ < τ``; ``λ_y = λ`` otherwise. The ratios are compared as ``n_i ≥ κ n_j`` and
    ``κ n_i ≤ n_j`` (the same for positive counts; no division by a class without real rows).

    Parameters
    ----------
    lam : float
        The images' mixing weight λ in [0, 1].
    n_i, n_j : array of int
        Training rows of each pair's classes (image ``i``, weighted λ, and image ``j``).
    kappa : float
        Imbalance ratio κ >= 1 from which a pair counts as majority–minority (3 in the paper).
    tau : float
        Threshold τ in [0, 1] on the minority image's share (0.5 in the paper).

    Returns
    -------
    ndarray of float64
        ``λ_y`` per pair.
    """
    lam = check_float(lam, "lam", min_value=0.0, max_value=1.0)
    kappa, tau = _check_kappa_tau(kappa, tau)
    n_i, n_j = np.asarray(n_i, dtype=np.float64), np.asarray(n_j, dtype=np.float64)
    if n_i.shape != n_j.shape or (n_i < 0).any() or (n_j < 0).any():
        raise ValueError(
            f"n_i {n_i.shape} and n_j {n_j.shape} must be non-negative class counts of one "
            "shape, one pair each"
        )
    out = np.full(n_i.shape, lam)
    i_major = (n_i >= kappa * n_j) & (lam < tau)
    i_minor = ~i_major & (kappa * n_i <= n_j) & (1.0 - lam < tau)
    out[i_major] = 0.0
    out[i_minor] = 1.0
    return out


def _check_kappa_tau(kappa, tau) -> tuple[float, float]:
    if isinstance(kappa, (int, float)) and not isinstance(kappa, bool) and kappa < 1:
        raise ValueError(
            f"kappa={kappa} must be >= 1: a pair counts as majority-minority when one class "
            "has kappa times the rows of the other; pass e.g. kappa=3 (Chou et al. 2020)"
        )
    kappa = check_float(kappa, "kappa", min_value=1.0)
    if isinstance(tau, (int, float)) and not isinstance(tau, bool) and not 0 <= tau <= 1:
        raise ValueError(
            f"tau={tau} must be in [0, 1]: it bounds the minority image's share of the mix; "
            "pass e.g. tau=0.5 (Chou et al. 2020)"
        )
    return kappa, check_float(tau, "tau", min_value=0.0, max_value=1.0)


@BATCH_TRANSFORMS.register("remix")
class Remix(Mixup):
    """Images mixed as mixup, ``x' = λ x_i + (1 − λ) x_j`` with one ``λ ~ Beta(α, α)`` per
    batch and ``j`` a random permutation of the batch; labels ``y' = λ_y y_i + (1 − λ_y) y_j``
    with :func:`remix_label_weights` (Chou et al. 2020, §3), from the real training rows per
    class.

    Parameters
    ----------
    alpha : float
        Beta parameter, > 0 (1.0: imbalanced-DL's Remix-DRW setting).
    kappa : float
        κ >= 1 (3 in Chou et al. 2020).
    tau : float
        τ in [0, 1] (0.5 in Chou et al. 2020).
    """

    def __init__(self, alpha: float = 1.0, kappa: float = 3.0, tau: float = 0.5):
        super().__init__(alpha)
        self.kappa, self.tau = _check_kappa_tau(kappa, tau)
        self.last_label_weights = None

    def __call__(self, x, y, *, epoch, generator):
        lam = float(self.rng.beta(self.alpha, self.alpha))
        gen_device = generator.device if generator is not None else torch.device("cpu")
        perm = torch.randperm(len(y), generator=generator, device=gen_device).to(x.device)
        counts = self.real_counts[y.cpu().numpy()]
        lam_y = remix_label_weights(
            lam, counts, counts[perm.cpu().numpy()], kappa=self.kappa, tau=self.tau
        )
        lam_y = torch.as_tensor(lam_y, dtype=torch.float32, device=x.device)[:, None]
        targets = one_hot(y, self.n_classes)
        self.last_lambda, self.last_label_weights = lam, lam_y[:, 0]
        return lam * x + (1.0 - lam) * x[perm], lam_y * targets + (1.0 - lam_y) * targets[perm]

    def describe(self) -> dict:
        return {"name": "remix", "alpha": self.alpha, "kappa": self.kappa, "tau": self.tau}
