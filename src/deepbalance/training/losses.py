"""Loss-level pieces for imbalance, one per idea, composable with any sampler.

- :func:`inverse_frequency_weights`, :func:`effective_number_weights` (Cui et al., 2019):
  class weights for cross-entropy, switched on at a given epoch by :class:`ClassWeights`
  (``start_epoch > 0`` is deferred re-weighting, DRW, Cao et al., 2019).
- :class:`LogitAdjustment` (Menon et al., 2021) and :class:`BalancedSoftmax` (Ren et al.,
  2020): add ``tau * log(prior)`` to the logits during training only.
- :class:`CappedLoss`: CLE-SMOTE's cap ``min(CE, cap)`` on synthetic rows, with any cap
  (see ``training.cle``) and any sampler's synthetic mask.
- :class:`Objective`: the per-batch loss made of whichever pieces a recipe asks for.

Class priors and weights come from the **real** (non-synthetic) training rows. After
oversampling to balance, the resampled counts are uniform, so priors taken from them would
turn logit adjustment and re-weighting into no-ops and "sampler + loss" combinations would
silently equal the sampler alone. The real counts say how much genuine evidence each class
has, which is what these corrections are meant to compensate; synthetic rows add
interpolations of that evidence, not new evidence. Without a sampler both choices coincide.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_float, check_int
from ..registry import Registry

WEIGHTINGS: Registry = Registry("class weighting")
LOGIT_ADJUSTMENTS: Registry = Registry("logit adjustment")


def _check_counts(counts, what: str, class_names=None) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 1 or len(counts) < 2 or not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(
            f"class counts must be a 1-D integer array over >= 2 classes, got {counts}"
        )
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        names = [class_names[c] if class_names else int(c) for c in empty]
        raise ValueError(
            f"class(es) {names} have no real training rows, so {what} is undefined; add real "
            "images of those classes or drop them from the class list"
        )
    return counts.astype(np.float64)


@WEIGHTINGS.register("inverse")
def inverse_frequency_weights(counts, class_names=None) -> np.ndarray:
    """Weights proportional to ``1 / n_c``, scaled to sum to the number of classes."""
    n = _check_counts(counts, "its inverse-frequency weight", class_names)
    w = 1.0 / n
    return w * len(n) / w.sum()


@WEIGHTINGS.register("effective")
def effective_number_weights(counts, beta: float = 0.999, class_names=None) -> np.ndarray:
    """Cui et al.'s weights ``(1 - beta) / (1 - beta**n_c)``, scaled to sum to the number of
    classes (their normalisation)."""
    beta = check_float(beta, "beta", min_value=0.0, max_value=1.0, max_inclusive=False)
    n = _check_counts(counts, "its effective-number weight", class_names)
    w = (1.0 - beta) / (1.0 - np.power(beta, n))
    return w * len(n) / w.sum()


class ClassWeights:
    """Per-class weights of the cross-entropy, active from ``start_epoch`` (0-based) on.

    ``start_epoch=0`` is plain re-weighting; ``start_epoch > 0`` is deferred re-weighting
    (DRW): plain cross-entropy first, weights afterwards (Cao et al. switch at 160 of 200).

    Parameters
    ----------
    weights : array of shape (K,)
        Positive class weights (e.g. from :func:`effective_number_weights`).
    start_epoch : int
    """

    def __init__(self, weights, *, start_epoch: int = 0):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights={w.tolist()} must be a 1-D array of positive numbers")
        self.weights = torch.as_tensor(w, dtype=torch.float32)
        self.start_epoch = check_int(start_epoch, "start_epoch", min_value=0)

    def at(self, epoch: int) -> torch.Tensor | None:
        """The weights used in ``epoch`` (0-based), or None before ``start_epoch``."""
        return self.weights if epoch >= self.start_epoch else None


class LogitAdjustment:
    """Logit-adjusted loss (Menon et al.): train on ``logits + tau * log(prior)``.

    The offsets apply only to the training loss; predictions use the raw logits, which
    therefore estimate the balanced (prior-free) posterior.

    Parameters
    ----------
    priors : array of shape (K,)
        Class frequencies of the real training rows (positive, summing to 1).
    tau : float
        Scale of the adjustment (1 in the paper's main results).
    """

    def __init__(self, priors, *, tau: float = 1.0):
        p = np.asarray(priors, dtype=np.float64)
        if p.ndim != 1 or np.any(p <= 0) or not np.isclose(p.sum(), 1.0):
            raise ValueError(
                f"priors={p.tolist()} must be positive class frequencies summing to 1; "
                "compute them from real class counts with counts / counts.sum()"
            )
        self.tau = check_float(tau, "tau", min_value=0.0)
        self.offsets = torch.as_tensor(self.tau * np.log(p), dtype=torch.float32)

    @classmethod
    def from_counts(cls, counts, *, tau: float = 1.0, class_names=None):
        n = _check_counts(counts, "its prior", class_names)
        return cls(n / n.sum(), tau=tau)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits + self.offsets.to(logits.device)


class BalancedSoftmax(LogitAdjustment):
    """Balanced softmax (Ren et al.): the softmax with each class's exponential weighted by its
    prior, i.e. cross-entropy on ``logits + log(prior)``. For single-label classification this
    is the logit-adjusted loss with ``tau = 1``; it is kept as its own name for the papers that
    report it."""

    def __init__(self, priors, *, tau: float = 1.0):
        if tau != 1.0:
            raise ValueError(
                f"tau={tau} is not used by balanced softmax (it is fixed at 1); use "
                "LogitAdjustment for another tau"
            )
        super().__init__(priors, tau=1.0)


LOGIT_ADJUSTMENTS.register("logit-adjustment", LogitAdjustment)
LOGIT_ADJUSTMENTS.register("balanced-softmax", BalancedSoftmax)


class CappedLoss:
    """CLE-SMOTE's cap: synthetic rows contribute ``min(loss, cap)``, real rows their loss.

    Parameters
    ----------
    cap : float or cap object
        A constant, or an object from ``training.cle`` computing one cap per row from the
        embeddings (e.g. ``beta / cosine_distance(class mean, embedding)``).
    detach : bool, default True
        Treat the cap as a constant: a capped row contributes its cap value but no gradient
        (neither through the loss nor through the cap's dependence on the embedding). With
        ``detach=False`` a capped row's gradient flows through the cap into its embedding;
        for ``beta / distance`` caps that gradient lowers the cap by moving the embedding away
        from its class mean. Offered for ablations only.
    """

    def __init__(self, cap, *, detach: bool = True):
        from .cle import ConstantCap

        if isinstance(cap, (int, float)) and not isinstance(cap, bool):
            cap = ConstantCap(cap)
        if not callable(cap):
            raise TypeError(f"cap={cap!r} must be a number or a cap object from training.cle")
        if not isinstance(detach, bool):
            raise TypeError(f"detach={detach!r} must be True or False")
        self.cap = cap
        self.detach = detach
        self.last_capped_fraction = 0.0

    @property
    def needs_embeddings(self) -> bool:
        return getattr(self.cap, "needs_embeddings", False)

    def on_epoch_start(self, context) -> None:
        hook = getattr(self.cap, "on_epoch_start", None)
        if hook is not None:
            hook(context)

    def __call__(self, loss, y, synthetic, embeddings=None) -> torch.Tensor:
        """Per-row loss with the cap applied to the ``synthetic`` rows.

        Parameters
        ----------
        loss : tensor (B,)
            Per-row loss (e.g. cross-entropy).
        y : tensor (B,) of int64
        synthetic : tensor (B,) of bool
        embeddings : tensor (B, D), optional
            Needed by caps that measure distances.
        """
        if not bool(synthetic.any()):
            self.last_capped_fraction = 0.0
            return loss
        cap = self.cap(embeddings, y, synthetic).to(loss.dtype)
        if self.detach:
            cap = cap.detach()
            capped = synthetic & (loss > cap)
            out = torch.where(capped, cap, loss)
        else:
            capped = synthetic & (loss > cap)
            out = torch.where(synthetic, torch.minimum(loss, cap), loss)
        self.last_capped_fraction = float(capped.float().mean())
        return out


class Objective:
    """The training loss of one batch, built from optional pieces.

    ``loss = sum_i w[y_i] * l_i / sum_i w[y_i]`` where ``l_i`` is the cross-entropy of the
    (logit-adjusted) logits, capped on synthetic rows, and ``w`` the class weights active in
    this epoch (all ones without weights) — the same normalisation as
    ``torch.nn.functional.cross_entropy(weight=w)``.

    Parameters
    ----------
    weights : ClassWeights, optional
    logit_adjustment : LogitAdjustment, optional
    cap : CappedLoss, optional
    label_smoothing : float
        Label smoothing of the cross-entropy in [0, 1) (``l_i`` mixes the one-hot target with
        the uniform distribution; Szegedy et al., 2016).
    """

    def __init__(self, *, weights=None, logit_adjustment=None, cap=None, label_smoothing=0.0):
        self.weights = weights
        self.logit_adjustment = logit_adjustment
        self.cap = cap
        self.label_smoothing = check_float(
            label_smoothing, "label_smoothing", min_value=0.0, max_value=1.0, max_inclusive=False
        )

    @property
    def needs_embeddings(self) -> bool:
        return self.cap is not None and self.cap.needs_embeddings

    def on_epoch_start(self, context) -> None:
        if self.cap is not None:
            self.cap.on_epoch_start(context)

    def __call__(self, logits, y, *, epoch: int, synthetic=None, embeddings=None) -> torch.Tensor:
        if self.logit_adjustment is not None:
            logits = self.logit_adjustment(logits)
        loss = F.cross_entropy(logits, y, reduction="none", label_smoothing=self.label_smoothing)
        if self.cap is not None and synthetic is not None:
            loss = self.cap(loss, y, synthetic, embeddings)
        weights = self.weights.at(epoch) if self.weights is not None else None
        if weights is None:
            return loss.mean()
        w = weights.to(loss.device)[y]
        return (w * loss).sum() / w.sum()
