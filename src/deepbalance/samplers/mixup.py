"""Latent mixup: new rows of a class interpolated *towards other classes*, with soft labels.

Mixup (Zhang et al. 2018) mixes two images and their labels with ``λ ~ Beta(α, α)``; Remix
(Chou et al. 2020) lets the label lean to the rarer image. Here the mixing happens in an
autoencoder's latent space and only grows the classes a sampler balances: each new row of class
``c`` takes a random real row of ``c`` as base and a random row of another class as partner,

    z_new = z_base + lam * (z_partner - z_base),   lam = min(b, 1 - b),   b ~ Beta(α, α),

so the base keeps the larger share (``lam`` in [0, 0.5]), and its target is
``(1 - lam) e_c + lam e_partner``. Not in any of the seed papers: DeepSMOTE (Dablain et al.
2022) interpolates between codes of one class with hard labels; this crosses the class boundary
as mixup does, and the labels say so. :func:`mixed_targets` turns a sampler's provenance into
those targets (one-hot for real rows and same-class rows); the trainer trains on them.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_float
from .provenance import Provenance
from .strategy_base import LatentStrategy


class LatentMixupStrategy(LatentStrategy):
    """Cross-class interpolation with ``lam = min(b, 1 - b)``, ``b ~ Beta(alpha, alpha)``.

    Parameters
    ----------
    alpha : float
        Beta parameter, > 0 (1: ``lam`` uniform on [0, 0.5]).
    """

    name = "mixup"
    uses_neighbors = False
    #: the new rows' targets are mixed (:func:`mixed_targets`)
    mixes_labels = True
    #: decode with the base's and the partner's detail blended by ``lam``
    blends_residuals = True

    def __init__(self, *, alpha: float = 1.0):
        self.alpha = alpha

    def _sample(self, Z, y, n_new, *, k_neighbors, rng):
        alpha = check_float(self.alpha, "alpha", min_value=0.0, min_inclusive=False)
        if len(np.unique(y)) < 2:
            raise ValueError(
                "latent mixup interpolates towards other classes, but y has one class; "
                "pass data of at least two classes"
            )
        parts, labels, provs = [], [], []
        for c, n in sorted(n_new.items()):
            own, others = np.flatnonzero(y == c), np.flatnonzero(y != c)
            base = rng.choice(own, n, replace=True)
            partner = rng.choice(others, n, replace=True)
            b = rng.beta(alpha, alpha, size=n)
            lam = np.minimum(b, 1.0 - b)
            parts.append(Z[base] + lam[:, None] * (Z[partner] - Z[base]))
            labels.append(np.full(n, c, np.int64))
            provs.append(
                Provenance.build(
                    labels[-1], base, neighbor_index=partner, lam=lam, strategy=self.name
                )
            )
        return np.concatenate(parts), np.concatenate(labels), Provenance.concat(provs)


def mixed_targets(labels, n_real: int, provenance: Provenance, n_classes: int) -> np.ndarray:
    """Target distributions ``(n_real + len(provenance), n_classes)`` of a resampled set.

    Rows ``0 .. n_real - 1`` are the real rows (one-hot of ``labels``, the encoded labels of the
    sampler's input); each synthetic row ``i`` after them gets
    ``(1 - lam) e_{labels[base]} + lam e_{labels[neighbor]}`` from its provenance, or the one-hot
    of its base's class where it has no neighbour or ``lam`` (copies).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 1 or len(labels) != n_real:
        raise ValueError(f"labels must hold the {n_real} real rows' classes, got {labels.shape}")
    n_syn = len(provenance)
    targets = np.zeros((n_real + n_syn, n_classes), np.float32)
    targets[np.arange(n_real), labels] = 1.0
    base, neighbor, lam = provenance.base_index, provenance.neighbor_index, provenance.lam
    if (base < 0).any():
        raise ValueError("every synthetic row needs a base row to take its class from")
    mixed = (neighbor >= 0) & np.isfinite(lam)
    rows = n_real + np.arange(n_syn)
    weight = np.where(mixed, lam, 0.0).astype(np.float32)
    targets[rows, labels[base]] += 1.0 - weight
    np.add.at(targets, (rows[mixed], labels[neighbor[mixed]]), weight[mixed])
    return targets
