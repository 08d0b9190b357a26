"""Loss-level pieces for imbalance, one per idea, composable with any sampler.

- :func:`inverse_frequency_weights`, :func:`effective_number_weights` (Cui et al., 2019):
  class weights for cross-entropy, switched on at a given epoch by :class:`ClassWeights`
  (``start_epoch > 0`` is deferred re-weighting, DRW, Cao et al., 2019).
- :class:`LogitAdjustment` (Menon et al., 2021) and :class:`BalancedSoftmax` (Ren et al.,
  2020): add ``tau * log(prior)`` to the logits during training only.
- :class:`CappedLoss`: CLE-SMOTE's cap ``min(CE, cap)`` on synthetic rows, with any cap
  (see ``training.cle``) and any sampler's synthetic mask.
- :class:`Objective`: the per-batch loss made of whichever pieces a recipe asks for.

Every piece is a :class:`LossHead` that acts at one stage of the loss — ``"logits"`` (change
the logits before the cross-entropy), ``"rows"`` (change each row's loss) or ``"weights"``
(weight the rows in the mean) — so pieces compose by what they do, not by the order a caller
lists them in. A new loss-level method is one ``LossHead`` subclass in its own file plus one
line in :data:`LOSS_HEADS` (docs/architecture.md shows one); a recipe names it in
``Recipe.loss_heads`` (e.g. LDAM, ``training.ldam``).

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

from .._checks import check_choice, check_float, check_int
from ..registry import Registry

WEIGHTINGS: Registry = Registry("class weighting")
LOGIT_ADJUSTMENTS: Registry = Registry("logit adjustment")
#: Loss heads by name: ``LOSS_HEADS.get(name).build(real_counts, class_names=..., **params)``
#: makes one; ``LOSS_HEADS.get(name).check_params(**params)`` validates the parameters before
#: any counts are known (see :func:`build_loss_head`).
LOSS_HEADS: Registry = Registry("loss head")
#: The stages of the loss, in the order they act (see :class:`LossHead`).
STAGES = ("logits", "rows", "weights")
#: How a method's loss applies the training config's label smoothing (:class:`Objective`).
SMOOTHINGS = ("uniform", "balanced", "none")


class BatchTargets:
    """What a loss head sees of one batch.

    Attributes
    ----------
    y : tensor (B,) of int64
        Hard labels (for soft targets, each row's largest target).
    soft : tensor (B, K) or None
        Target distributions when a batch transform mixed labels (mixup, CutMix); None for
        hard labels.
    synthetic : tensor (B,) of bool or None
    embeddings : tensor (B, D) or None
        Present when a head ``needs_embeddings``.
    epoch : int
        0-based epoch.
    """

    def __init__(self, y, *, soft=None, synthetic=None, embeddings=None, epoch: int = 0):
        self.y, self.soft, self.synthetic = y, soft, synthetic
        self.embeddings, self.epoch = embeddings, epoch


class LossHead:
    """One piece of the training loss, acting at one of :data:`STAGES`.

    Subclasses set ``stage`` and override the matching method:

    - ``"logits"``: :meth:`logits` returns the logits the cross-entropy sees (logit
      adjustment, LDAM margins); predictions keep the raw logits.
    - ``"rows"``: :meth:`rows` returns the per-row loss (CLE-SMOTE's cap).
    - ``"weights"``: :meth:`weights` returns per-row weights of the mean, or None for a plain
      mean (class weights, switched on by a phase for DRW).

    Attributes
    ----------
    stage : str
    needs_embeddings : bool
        The trainer passes the batch's embeddings (``model.embed``) in ``BatchTargets``.
    needs_hard_labels : bool
        The head is undefined for mixed (soft) labels; composing it with a batch transform
        that mixes labels is refused before training.
    """

    stage: str = "rows"
    needs_embeddings: bool = False
    needs_hard_labels: bool = False

    def classifier_options(self) -> dict:
        """Options of ``nets.create_classifier`` the head needs (e.g. LDAM's cosine head); the
        trainer builds its classifier with them. Empty: any classifier."""
        return {}

    def check_model(self, model) -> None:
        """Raise when a given ``model`` lacks what :meth:`classifier_options` asks for."""

    def on_epoch_start(self, context) -> None:
        """Called at the start of every classifier epoch (``trainer.EpochContext``)."""

    def logits(self, logits: torch.Tensor, batch: BatchTargets) -> torch.Tensor:
        return logits

    def rows(self, loss: torch.Tensor, batch: BatchTargets) -> torch.Tensor:
        return loss

    def weights(self, batch: BatchTargets) -> torch.Tensor | None:
        return None


def _head_spec(spec, where: str) -> tuple[str, type, dict]:
    from collections.abc import Mapping

    if not isinstance(spec, Mapping) or "name" not in spec:
        raise TypeError(
            f"{where}={spec!r} must be a table {{name = ..., **params}} with name one of "
            f"{', '.join(LOSS_HEADS.names()) or '(none registered)'}, e.g. {{'name': 'ldam'}}"
        )
    cls = LOSS_HEADS.get(spec["name"])
    return spec["name"], cls, {k: v for k, v in spec.items() if k != "name"}


def check_loss_head(spec, where: str = "loss head") -> type:
    """Validate ``{"name": ..., **params}`` (a name in :data:`LOSS_HEADS`) without building the
    head; returns the head's class."""
    name, cls, params = _head_spec(spec, where)
    try:
        cls.check_params(**params)
    except TypeError as err:
        raise TypeError(f"{where} {name!r}: {err}") from None
    except ValueError as err:
        raise ValueError(f"{where} {name!r}: {err}") from None
    return cls


def build_loss_head(spec, real_counts, *, class_names=None, where: str = "loss head"):
    """The loss head ``{"name": ..., **params}`` for the real class counts ``real_counts``."""
    check_loss_head(spec, where)
    _, cls, params = _head_spec(spec, where)
    return cls.build(real_counts, class_names=class_names, **params)


def check_class_counts(counts, what: str, class_names=None) -> np.ndarray:
    """``counts`` as floats: a 1-D integer array over >= 2 classes, each > 0 (else an error
    saying that ``what`` of the empty classes is undefined)."""
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
    n = check_class_counts(counts, "its inverse-frequency weight", class_names)
    w = 1.0 / n
    return w * len(n) / w.sum()


@WEIGHTINGS.register("effective")
def effective_number_weights(counts, beta: float = 0.999, class_names=None) -> np.ndarray:
    """Cui et al.'s weights ``(1 - beta) / (1 - beta**n_c)``, scaled to sum to the number of
    classes (their normalisation)."""
    beta = check_float(beta, "beta", min_value=0.0, max_value=1.0, max_inclusive=False)
    n = check_class_counts(counts, "its effective-number weight", class_names)
    w = (1.0 - beta) / (1.0 - np.power(beta, n))
    return w * len(n) / w.sum()


class ClassWeights(LossHead):
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
        self.class_weights = torch.as_tensor(w, dtype=torch.float32)
        self.start_epoch = check_int(start_epoch, "start_epoch", min_value=0)

    stage = "weights"

    def at(self, epoch: int) -> torch.Tensor | None:
        """The class weights used in ``epoch`` (0-based), or None before ``start_epoch``."""
        return self.class_weights if epoch >= self.start_epoch else None

    def weights(self, batch: BatchTargets) -> torch.Tensor | None:
        """Per-row weights: ``w[y]``, or the target-weighted mean of ``w`` for soft targets."""
        w = self.at(batch.epoch)
        if w is None:
            return None
        w = w.to(batch.y.device)
        return w[batch.y] if batch.soft is None else batch.soft @ w


class LogitAdjustment(LossHead):
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
        n = check_class_counts(counts, "its prior", class_names)
        return cls(n / n.sum(), tau=tau)

    stage = "logits"

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits + self.offsets.to(logits.device)

    def logits(self, logits: torch.Tensor, batch: BatchTargets) -> torch.Tensor:
        return self(logits)

    def smoothed_target(self, target: torch.Tensor, epsilon: float) -> torch.Tensor:
        """The target distribution of the adjusted logits for label smoothing ``epsilon`` in
        the balanced space: ``((1 - epsilon) * target + epsilon / K) * prior**tau``,
        renormalised, where ``target`` is (B, K) (one-hot or mixed).

        Smoothing the adjusted softmax toward the uniform distribution instead asks the raw
        logits, which predict, for a probability proportional to ``epsilon / K / prior**tau``
        on every class: at ``tau = 1``, ``epsilon = 0.1``, ten classes and a ratio of 100
        between the largest and the rarest class, the rarest class of a largest-class image
        gets ``0.01 * 100 / prior_max``, more than the true class's ``0.91 / prior_max``, so
        the optimum predicts the rarest class for it. Smoothing in the balanced space keeps
        the raw logits' optimum at the smoothed one-hot target, as plain cross-entropy does.
        """
        k = target.shape[1]
        prior = torch.exp(self.offsets.to(target.device))  # prior ** tau
        smoothed = ((1.0 - epsilon) * target + epsilon / k) * prior
        return smoothed / smoothed.sum(dim=1, keepdim=True)


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


class CappedLoss(LossHead):
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

    stage = "rows"
    #: the cap compares each row's loss for its one class (Lee et al. 2024, §2.3)
    needs_hard_labels = True

    @property
    def needs_embeddings(self) -> bool:
        return getattr(self.cap, "needs_embeddings", False)

    def on_epoch_start(self, context) -> None:
        hook = getattr(self.cap, "on_epoch_start", None)
        if hook is not None:
            hook(context)

    def rows(self, loss: torch.Tensor, batch: BatchTargets) -> torch.Tensor:
        if batch.synthetic is None:
            return loss
        return self(loss, batch.y, batch.synthetic, batch.embeddings)

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
    """The training loss of one batch, composed of :class:`LossHead` pieces.

    ``loss = sum_i w_i * l_i / sum_i w_i`` where ``l_i`` is the cross-entropy of the logits
    as the ``"logits"`` heads leave them, changed by the ``"rows"`` heads (e.g. capped on
    synthetic rows), and ``w_i`` the product of the ``"weights"`` heads' row weights (a plain
    mean when none is active) — the normalisation of
    ``torch.nn.functional.cross_entropy(weight=w)``. Heads of one stage act in the order given.

    Parameters
    ----------
    heads : sequence of LossHead
    label_smoothing : float
        Label smoothing of the cross-entropy in [0, 1) (``l_i`` mixes the target with the
        uniform distribution; Szegedy et al. 2016).
    smoothing : {"uniform", "balanced", "none"}
        How ``label_smoothing`` applies: mixing the uniform distribution into the target of
        the logits as the heads leave them (``"uniform"``, PyTorch's ``label_smoothing``,
        after any logit adjustment's offsets), into the target of the raw, balanced logits
        (``"balanced"``: :meth:`LogitAdjustment.smoothed_target`; without a logit adjustment
        the same as ``"uniform"``), or not at all (``"none"``: this loss ignores
        ``label_smoothing``).
    weights, logit_adjustment, cap : LossHead, optional
        The same as listing them in ``heads`` (kept for callers that name the pieces).
    """

    def __init__(
        self,
        heads=(),
        *,
        weights=None,
        logit_adjustment=None,
        cap=None,
        label_smoothing=0.0,
        smoothing="uniform",
    ):
        heads = [*heads, *(h for h in (logit_adjustment, cap, weights) if h is not None)]
        for head in heads:
            if not isinstance(head, LossHead):
                raise TypeError(
                    f"loss head {head!r} must be a training.losses.LossHead (stage one of "
                    f"{', '.join(STAGES)})"
                )
            if head.stage not in STAGES:
                raise ValueError(
                    f"loss head {type(head).__name__} has stage={head.stage!r}; use one of "
                    f"{', '.join(STAGES)}"
                )
        self.heads = heads
        self.label_smoothing = check_float(
            label_smoothing, "label_smoothing", min_value=0.0, max_value=1.0, max_inclusive=False
        )
        self.smoothing = check_choice(smoothing, "smoothing", SMOOTHINGS)

    def add(self, head: LossHead) -> None:
        """Add a head (e.g. from a phase that switches class weights on)."""
        Objective([head])
        self.heads.append(head)

    def _stage(self, stage: str) -> list:
        return [h for h in self.heads if h.stage == stage]

    def head(self, cls: type) -> LossHead | None:
        """The first head of class ``cls``, or None."""
        return next((h for h in self.heads if isinstance(h, cls)), None)

    # the pieces by the names callers used before heads were composed
    weights = property(lambda self: self.head(ClassWeights))
    logit_adjustment = property(lambda self: self.head(LogitAdjustment))
    cap = property(lambda self: self.head(CappedLoss))

    @property
    def needs_embeddings(self) -> bool:
        return any(h.needs_embeddings for h in self.heads)

    @property
    def needs_hard_labels(self) -> list:
        """The heads that are undefined for soft (mixed) targets."""
        return [h for h in self.heads if h.needs_hard_labels]

    def classifier_options(self) -> dict:
        """The ``create_classifier`` options every head needs, merged; two heads asking for
        different values of one option are an error."""
        options, owner = {}, {}
        for head in self.heads:
            for key, value in head.classifier_options().items():
                if key in options and options[key] != value:
                    raise ValueError(
                        f"loss heads {owner[key]} and {type(head).__name__} need different "
                        f"classifiers ({key}={options[key]!r} vs {value!r}); drop one of them"
                    )
                options[key], owner[key] = value, type(head).__name__
        return options

    def check_model(self, model) -> None:
        """Raise when ``model`` lacks what a head needs (a model given to ``Trainer.fit``)."""
        for head in self.heads:
            head.check_model(model)

    def on_epoch_start(self, context) -> None:
        for head in self.heads:
            head.on_epoch_start(context)

    def __call__(
        self, logits, y, *, epoch: int, synthetic=None, embeddings=None, soft=None
    ) -> torch.Tensor:
        """Mean loss of a batch; ``soft`` (B, K) target distributions replace ``y`` in the
        cross-entropy when a batch transform mixed labels."""
        batch = BatchTargets(y, soft=soft, synthetic=synthetic, embeddings=embeddings, epoch=epoch)
        for head in self._stage("logits"):
            logits = head.logits(logits, batch)
        target = y if soft is None else soft
        adjustment = self.logit_adjustment
        epsilon = 0.0 if self.smoothing == "none" else self.label_smoothing
        if self.smoothing == "balanced" and epsilon and adjustment is not None:
            if soft is None:
                target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
            target = adjustment.smoothed_target(target, epsilon)
            loss = F.cross_entropy(logits, target, reduction="none")
        else:
            loss = F.cross_entropy(logits, target, reduction="none", label_smoothing=epsilon)
        for head in self._stage("rows"):
            loss = head.rows(loss, batch)
        w = None
        for head in self._stage("weights"):
            row_w = head.weights(batch)
            if row_w is not None:
                w = row_w if w is None else w * row_w
        if w is None:
            return loss.mean()
        return (w * loss).sum() / w.sum()
