"""``Recipe``: which training-level pieces a method trains with, as plain values.

A recipe is data (strings and numbers), so methods can be declared in one line, stored
with results and overridden by name. It names pieces at the trainer's extension points
through their registries: loss heads (:meth:`Recipe.build_objective`, ``training.losses`` /
``training.cle`` / ``training.ldam``), a batch transform (:meth:`Recipe.build_batch_transform`,
``training.transforms``), phases (:meth:`Recipe.build_phases`, ``training.phases``) and a
post-hoc adjustment chosen on validation (:meth:`Recipe.build_post_hoc`,
``training.posthoc``).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_choice, check_float, check_int
from . import ldam  # noqa: F401  (registers the "ldam" loss head)
from .cle import CAPS, check_beta
from .losses import (
    LOGIT_ADJUSTMENTS,
    SMOOTHINGS,
    WEIGHTINGS,
    CappedLoss,
    ClassWeights,
    Objective,
    build_loss_head,
    check_loss_head,
)
from .phases import Phase, Reweight, build_phase, start_epoch
from .posthoc import PostHoc, build_post_hoc
from .transforms import BatchTransform, build_batch_transform
from .triplet import ANCHORS, TripletPretraining, check_margin


@dataclass(frozen=True)
class Recipe:
    """Loss-level settings of a method (all optional; the default is plain cross-entropy).

    Parameters
    ----------
    weighting : {None, "inverse", "effective"}
        Class-weighted cross-entropy with inverse-frequency or effective-number weights.
    effective_beta : float
        Cui et al.'s beta for ``weighting="effective"``.
    drw_start : int, float or None
        Deferred re-weighting: the weights switch on at this 0-based epoch (an int), or
        after this fraction of the epochs (a float in [0, 1), e.g. 0.8 = Cao et al.'s 160 of
        200). None: weights from the first epoch.
    logit_adjustment : {None, "logit-adjustment", "balanced-softmax"}
        Add ``tau * log(prior)`` to the logits in the training loss.
    tau : float
        Scale of the logit adjustment.
    smoothing : {"uniform", "balanced", "none"}
        How the training config's label smoothing applies to this method's loss: on the
        logits after any logit adjustment (``"uniform"``), on the raw, balanced logits
        (``"balanced"``; see ``training.losses.LogitAdjustment.smoothed_target``), or not at
        all (``"none"``).
    cap : {None, "class-cosine", "class-euclidean", "batch-cosine", "constant"}
        Cap the loss of synthetic rows (CLE-SMOTE and its ablations).
    beta : float
        Numerator of distance caps (``beta / distance``), > 0.
    cap_value : float or None
        Value of the constant cap; None: 5 for two classes, 1 otherwise.
    detach_cap : bool
        Treat the cap as a constant: a capped row contributes no gradient.
    pretrain : bool
        Triplet pretraining of the embedding before training the classifier.
    pretrain_epochs : int
        Epochs of triplet pretraining; with ``TrainConfig.epoch_rows="real"`` each feeds the
        network as many images as a classifier epoch (a third of the real rows as anchors),
        with "all" each passes over every anchor (``TripletPretraining.anchors_per_epoch``).
    margin : float
        Triplet margin, >= 0 (0 in CLE-SMOTE's equation).
    triplet_anchors : {"all", "real"}
        Whether synthetic rows may be anchors ("real": CLE-SMOTE v1).
    batch_transform : str or None
        A name in ``training.transforms.BATCH_TRANSFORMS`` (e.g. ``"mixup"``) applied to every
        training batch after augmentation.
    batch_transform_params : dict
        Its parameters (e.g. ``{"alpha": 1.0}``).
    phases : tuple of dict
        Changes at an epoch, each ``{"name": ..., "start": ..., **params}`` with a name in
        ``training.phases.PHASES`` (e.g. ``{"name": "resample", "start": 0.8}``).
    loss_heads : tuple of dict
        Further loss heads, each ``{"name": ..., **params}`` with a name in
        ``training.losses.LOSS_HEADS`` (e.g. ``{"name": "ldam", "max_margin": 0.5}``).
    post_hoc : str or None
        A name in ``training.posthoc.POST_HOC`` (e.g. ``"tau-norm"``): an adjustment of the
        trained classifier chosen on the validation split; the run needs one
        (``TrainConfig(val_fraction=...)``).
    post_hoc_params : dict
        Its parameters (e.g. ``{"taus": [0, 0.5, 1]}``).

    Class priors and weights are computed from the real training rows; see
    ``training.losses`` for why.
    """

    weighting: str | None = None
    effective_beta: float = 0.999
    drw_start: int | float | None = None
    logit_adjustment: str | None = None
    tau: float = 1.0
    smoothing: str = "uniform"
    cap: str | None = None
    beta: float = 1.0
    cap_value: float | None = None
    detach_cap: bool = True
    pretrain: bool = False
    pretrain_epochs: int = 10
    margin: float = 0.0
    triplet_anchors: str = "all"
    batch_transform: str | None = None
    batch_transform_params: Mapping = field(default_factory=dict)
    phases: tuple = ()
    loss_heads: tuple = ()
    post_hoc: str | None = None
    post_hoc_params: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.weighting is not None:
            check_choice(self.weighting, "weighting", WEIGHTINGS.names())
        check_float(
            self.effective_beta, "effective_beta", min_value=0.0, max_value=1.0, max_inclusive=False
        )
        if self.drw_start is not None:
            if self.weighting is None:
                raise ValueError(
                    f"drw_start={self.drw_start!r} defers class weights, but weighting=None; "
                    "pass weighting='effective' (or 'inverse') as well"
                )
            if isinstance(self.drw_start, bool) or not isinstance(self.drw_start, numbers.Real):
                raise TypeError(f"drw_start={self.drw_start!r} must be an int epoch or a float")
            if isinstance(self.drw_start, numbers.Integral):
                check_int(self.drw_start, "drw_start", min_value=0)
            else:
                check_float(
                    self.drw_start, "drw_start", min_value=0.0, max_value=1.0, max_inclusive=False
                )
        if self.logit_adjustment is not None:
            check_choice(self.logit_adjustment, "logit_adjustment", LOGIT_ADJUSTMENTS.names())
        check_float(self.tau, "tau", min_value=0.0)
        check_choice(self.smoothing, "smoothing", SMOOTHINGS)
        if self.cap is not None:
            check_choice(self.cap, "cap", CAPS.names())
        check_beta(self.beta)
        if self.cap_value is not None:
            check_float(self.cap_value, "cap_value", min_value=0.0, min_inclusive=False)
        for flag in ("detach_cap", "pretrain"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag}={getattr(self, flag)!r} must be True or False")
        check_int(self.pretrain_epochs, "pretrain_epochs", min_value=1)
        check_margin(self.margin)
        check_choice(self.triplet_anchors, "triplet_anchors", ANCHORS)
        self._check_params("batch_transform", "{'alpha': 1.0}", "the transform", "'mixup'")
        transform = self.build_batch_transform()
        if isinstance(self.phases, (str, Mapping)) or not isinstance(self.phases, (list, tuple)):
            raise TypeError(
                f"phases={self.phases!r} must be a list of tables, e.g. "
                "[{'name': 'resample', 'start': 0.8}]"
            )
        if not all(isinstance(p, Mapping) for p in self.phases):
            raise TypeError(
                f"phases={self.phases!r}: each phase is a table {{name = ..., start = ...}}, "
                "e.g. {'name': 'resample', 'start': 0.8}"
            )
        object.__setattr__(self, "phases", tuple(dict(p) for p in self.phases))
        for phase in self.phases:
            build_phase(phase)
        if transform is not None and transform.mixes_labels and self.cap is not None:
            raise ValueError(
                f"batch_transform={self.batch_transform!r} mixes labels, but cap={self.cap!r} "
                "(CLE-SMOTE's cap) compares each row's loss for one class and needs hard "
                "labels; drop the cap or the batch transform"
            )
        if isinstance(self.loss_heads, (str, Mapping)) or not isinstance(
            self.loss_heads, (list, tuple)
        ):
            raise TypeError(
                f"loss_heads={self.loss_heads!r} must be a list of tables, e.g. "
                "[{'name': 'ldam'}]"
            )
        object.__setattr__(
            self,
            "loss_heads",
            tuple(dict(h) if isinstance(h, Mapping) else h for h in self.loss_heads),
        )
        for i, spec in enumerate(self.loss_heads):
            head = check_loss_head(spec, f"loss_heads[{i}]")
            if transform is not None and transform.mixes_labels and head.needs_hard_labels:
                raise ValueError(
                    f"batch_transform={self.batch_transform!r} mixes labels, but loss_heads[{i}] "
                    f"{spec['name']!r} needs hard labels (it acts on each row's one true "
                    "class); drop the loss head or the batch transform"
                )
        self._check_params("post_hoc", "{'taus': [0, 0.5, 1]}", "the adjustment", "'tau-norm'")
        self.build_post_hoc()

    def _check_params(self, piece: str, example: str, what: str, name: str) -> None:
        """``<piece>_params`` is a dict (stored as a copy) and set only with ``<piece>``."""
        params = getattr(self, f"{piece}_params")
        if not isinstance(params, Mapping):
            raise TypeError(f"{piece}_params={params!r} must be a dict, e.g. {example}")
        object.__setattr__(self, f"{piece}_params", dict(params))
        if getattr(self, piece) is None and params:
            raise ValueError(
                f"{piece}_params={dict(params)} but {piece}=None; name {what} "
                f"(e.g. {piece}={name}) or drop the parameters"
            )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes) -> Recipe:
        """A copy with ``changes`` applied (and validated)."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise TypeError(
                f"unknown recipe parameter(s) {unknown}; known: {', '.join(self.field_names())}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def needs_validation(self) -> bool:
        """The recipe chooses something on a validation split (a post-hoc adjustment)."""
        return self.post_hoc is not None

    def check_validation(self, has_validation: bool) -> None:
        """Refuse a run without a validation split when the recipe needs one."""
        if self.needs_validation and not has_validation:
            raise ValueError(
                f"post_hoc={self.post_hoc!r} is chosen on a validation split carved from the "
                "training rows (never on a test set), but this run has none (val_fraction=0.0 "
                "and no eval split named 'val'); pass TrainConfig(val_fraction=0.1) (or "
                "[train] val_fraction = 0.1 in a spec)"
            )

    def drw_start_epoch(self, epochs: int) -> int:
        """0-based epoch from which class weights apply."""
        if self.drw_start is None:
            return 0
        return start_epoch(self.drw_start, epochs, "drw_start")

    def build_objective(
        self, real_counts, *, epochs: int, class_names=None, label_smoothing: float = 0.0
    ) -> Objective:
        """The training loss, with priors and weights from ``real_counts`` (real rows only)
        and cross-entropy smoothed by ``label_smoothing``. Deferred weights (``drw_start``)
        are added by their phase (:meth:`build_phases`)."""
        real_counts = np.asarray(real_counts)
        weights = logit_adjustment = cap = None
        if self.weighting is not None and self.drw_start is None:
            kw = {"beta": self.effective_beta} if self.weighting == "effective" else {}
            w = WEIGHTINGS.get(self.weighting)(real_counts, class_names=class_names, **kw)
            weights = ClassWeights(w)
        if self.logit_adjustment is not None:
            cls = LOGIT_ADJUSTMENTS.get(self.logit_adjustment)
            logit_adjustment = cls.from_counts(real_counts, tau=self.tau, class_names=class_names)
        if self.cap is not None:
            make_cap = CAPS.get(self.cap)
            value = make_cap(beta=self.beta, value=self.cap_value, n_classes=len(real_counts))
            cap = CappedLoss(value, detach=self.detach_cap)
        heads = [
            build_loss_head(spec, real_counts, class_names=class_names, where=f"loss_heads[{i}]")
            for i, spec in enumerate(self.loss_heads)
        ]
        return Objective(
            heads,
            weights=weights,
            logit_adjustment=logit_adjustment,
            cap=cap,
            label_smoothing=label_smoothing,
            smoothing=self.smoothing,
        )

    def build_batch_transform(self) -> BatchTransform | None:
        """The batch transform, or None."""
        if self.batch_transform is None:
            return None
        return build_batch_transform(self.batch_transform, self.batch_transform_params)

    def build_post_hoc(self) -> PostHoc | None:
        """The post-hoc adjustment, or None."""
        if self.post_hoc is None:
            return None
        return build_post_hoc(self.post_hoc, self.post_hoc_params)

    def build_phases(self, epochs: int) -> list[tuple[int, Phase]]:
        """``(start epoch, phase)`` of every phase, in start order (deferred re-weighting
        from ``drw_start`` included); a phase that would start after the last epoch is an
        error."""
        phases = []
        if self.drw_start is not None:
            drw = Reweight(self.drw_start, weighting=self.weighting, beta=self.effective_beta)
            phases.append((self.drw_start_epoch(epochs), drw))
        for i, spec in enumerate(self.phases):
            phase = build_phase(spec)
            try:
                phases.append((phase.start_epoch(epochs), phase))
            except ValueError as err:
                raise ValueError(f"phases[{i}] ({spec['name']!r}): {err}") from None
        return sorted(phases, key=lambda item: item[0])

    def build_pretraining(self) -> TripletPretraining | None:
        """Settings of the triplet stage, or None without pretraining."""
        if not self.pretrain:
            return None
        return TripletPretraining(self.pretrain_epochs, self.margin, self.triplet_anchors)
