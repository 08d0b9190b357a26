"""CLE-SMOTE's caps on the loss of synthetic rows, and its ablations.

CLE-SMOTE fine-tunes with ``min(CE, beta / cosine_distance(mu_class, embedding))`` on
synthetic rows, ``mu_class`` being the class's mean embedding over the **real** rows,
recomputed at the start of every epoch. A synthetic row whose embedding strays from its
class mean gets a small cap, so an implausible interpolation cannot dominate the loss.
Each cap here is a callable ``cap(embeddings, y, synthetic) -> (B,) tensor`` used by
``losses.CappedLoss``; the full method (pixel SMOTE + triplet pretraining + cap) is the
``"cle-smote"`` entry of ``deepbalance.methods``.

Caps
----
- :class:`ClassMeanCap` (``distance="cosine"``): the paper's cap.
- :class:`ClassMeanCap` (``distance="euclidean"``): ``beta / ||mu_class - embedding||``.
- :class:`BatchMeanCap`: the class mean taken over the current batch instead of the epoch.
- :class:`ConstantCap`: a fixed cap (5 for two classes, 1 otherwise, in the ablation).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_choice, check_float
from ..registry import Registry

CAPS: Registry = Registry("loss cap")
DISTANCES = ("cosine", "euclidean")
#: distances below this count as zero (the cap is then effectively infinite)
_EPS = 1e-8


def distance(a: torch.Tensor, b: torch.Tensor, kind: str) -> torch.Tensor:
    """Row-wise cosine distance ``1 - cos(a, b)`` or Euclidean distance ``||a - b||``."""
    if kind == "cosine":
        return 1.0 - F.cosine_similarity(a, b, dim=1, eps=_EPS)
    return torch.linalg.vector_norm(a - b, dim=1)


def check_beta(beta) -> float:
    """``beta`` of a distance cap: a positive number."""
    if isinstance(beta, (int, float)) and not isinstance(beta, bool) and beta <= 0:
        raise ValueError(
            f"beta={beta} must be > 0: the cap is beta / distance and beta <= 0 would cap every "
            "synthetic row at or below zero; pass e.g. beta=1.0 (CLE-SMOTE's value)"
        )
    return check_float(beta, "beta", min_value=0.0, min_inclusive=False)


class ConstantCap:
    """The same cap for every synthetic row."""

    needs_embeddings = False

    def __init__(self, value: float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            raise ValueError(f"cap value={value} must be > 0; pass e.g. 1.0")
        self.value = check_float(value, "cap value", min_value=0.0, min_inclusive=False)

    def __call__(self, embeddings, y, synthetic) -> torch.Tensor:
        return torch.full(y.shape, self.value, device=y.device)


class ClassMeanCap:
    """``beta / distance(mu_class, embedding)`` with class means over the real rows.

    The means are recomputed by :meth:`on_epoch_start` from the current network, in
    evaluation mode, over every real training row.

    Attributes
    ----------
    class_means_ : tensor (K, D)
        Means of the last epoch (NaN rows for classes without real rows).
    n_updates_ : int
        How many times the means were recomputed.
    """

    needs_embeddings = True

    def __init__(self, beta: float = 1.0, *, distance: str = "cosine"):
        self.beta = check_beta(beta)
        self.distance = check_choice(distance, "distance", DISTANCES)
        self.class_means_: torch.Tensor | None = None
        self.n_updates_ = 0

    def on_epoch_start(self, context) -> None:
        """Recompute each class's mean embedding over the real rows."""
        emb, y = context.real_embeddings()
        n_classes = context.n_classes
        counts = torch.bincount(y, minlength=n_classes)
        present = {int(c) for c in np.flatnonzero(counts.cpu().numpy() > 0)}
        missing = sorted({int(c) for c in context.synthetic_classes} - present)
        if missing:
            names = [context.class_names[c] for c in missing]
            raise ValueError(
                f"class(es) {names} have synthetic rows but no real rows, so their mean "
                "embedding (CLE-SMOTE's cap) cannot be formed; add real images of those classes "
                "or use cap='constant'"
            )
        sums = torch.zeros(n_classes, emb.shape[1], device=emb.device).index_add_(0, y, emb)
        self.class_means_ = sums / counts.unsqueeze(1).to(emb.dtype)  # NaN for absent classes
        self.n_updates_ += 1

    def __call__(self, embeddings, y, synthetic) -> torch.Tensor:
        if self.class_means_ is None:
            raise RuntimeError("ClassMeanCap used before on_epoch_start computed the class means")
        mu = self.class_means_[y]
        d = distance(mu, embeddings, self.distance)
        return self.beta / d.clamp_min(_EPS)


class BatchMeanCap:
    """Like :class:`ClassMeanCap`, with each class mean taken over the current batch.

    The mean uses the batch's real rows of the class; when the batch holds none, all of
    the batch's rows of that class (synthetic ones included).
    """

    needs_embeddings = True

    def __init__(self, beta: float = 1.0, *, distance: str = "cosine"):
        self.beta = check_beta(beta)
        self.distance = check_choice(distance, "distance", DISTANCES)

    def __call__(self, embeddings, y, synthetic) -> torch.Tensor:
        emb = embeddings.detach()
        n_classes = int(y.max()) + 1
        onehot = F.one_hot(y, n_classes).to(emb.dtype)  # (B, K)
        real = onehot * (~synthetic).to(emb.dtype).unsqueeze(1)
        n_real, n_all = real.sum(0), onehot.sum(0)
        mean_real = (real.T @ emb) / n_real.clamp_min(1).unsqueeze(1)
        mean_all = (onehot.T @ emb) / n_all.clamp_min(1).unsqueeze(1)
        means = torch.where((n_real > 0).unsqueeze(1), mean_real, mean_all)
        d = distance(means[y], embeddings, self.distance)
        return self.beta / d.clamp_min(_EPS)


def default_constant_cap(n_classes: int) -> float:
    """The constant-cap ablation's value: 5 for two classes, 1 for more."""
    return 5.0 if n_classes == 2 else 1.0


def _class_cosine(*, beta, value, n_classes):
    return ClassMeanCap(beta, distance="cosine")


def _class_euclidean(*, beta, value, n_classes):
    return ClassMeanCap(beta, distance="euclidean")


def _batch_cosine(*, beta, value, n_classes):
    return BatchMeanCap(beta, distance="cosine")


def _constant(*, beta, value, n_classes):
    return ConstantCap(default_constant_cap(n_classes) if value is None else value)


CAPS.register("class-cosine", _class_cosine)
CAPS.register("class-euclidean", _class_euclidean)
CAPS.register("batch-cosine", _batch_cosine)
CAPS.register("constant", _constant)
