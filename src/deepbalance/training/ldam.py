"""LDAM: the label-distribution-aware margin loss (Cao et al. 2019, §3.2, eq. 13).

Cross-entropy on a normalised classifier whose true-class logit is lowered by a class margin
``Delta_y = C / n_y**(1/4)`` (eq. 13), so a rare class must
be separated from the others by more than a frequent one. ``C`` is set so the largest margin
(the rarest class's) is ``max_margin``, 0.5 in the paper's experiments; the logits are cosines
times ``scale = 30`` (their normalised last layer; ``nets.CosineHead``). LDAM-DRW adds deferred
re-weighting (§3.3, Algorithm 1): a ``reweight`` phase (``training.phases``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_positive
from ..nets.classifiers import DEFAULT_COSINE_SCALE, CosineHead, check_scale
from .losses import LOSS_HEADS, BatchTargets, LossHead, check_class_counts

#: Cao et al. 2019's largest margin (the rarest class's), in cosine units.
DEFAULT_MAX_MARGIN = 0.5


def check_max_margin(max_margin) -> float:
    """LDAM's largest class margin: a finite number > 0."""
    return check_positive(
        max_margin,
        "max_margin",
        meaning="LDAM lowers each true-class cosine by a positive margin, the rarest class's "
        "being max_margin, 0.5 in Cao et al. 2019",
        example=DEFAULT_MAX_MARGIN,
    )


def ldam_margins(counts, max_margin: float = DEFAULT_MAX_MARGIN, class_names=None) -> np.ndarray:
    """Class margins ``C / n_c**(1/4)`` with ``C`` such that the largest is ``max_margin``
    (Cao et al. 2019, eq. 13 and their released code's ``m_list``).

    Examples
    --------
    >>> ldam_margins([16, 1]).round(3).tolist()
    [0.25, 0.5]
    """
    max_margin = check_max_margin(max_margin)
    n = check_class_counts(counts, "its LDAM margin", class_names)
    margins = n**-0.25
    return margins * (max_margin / margins.max())


@LOSS_HEADS.register("ldam")
class LDAMLoss(LossHead):
    """LDAM's margins (Cao et al. 2019, eq. 13): the true-class logit is lowered by
    ``scale * Delta_y`` before the cross-entropy, on a cosine classifier whose logits are
    ``scale * cos`` — the paper's ``s * (cos - Delta_y)``.

    The margins apply to the training loss only; predictions use the model's logits (the
    scaled cosines). The trainer builds its classifier with the cosine head this head asks for
    (:meth:`classifier_options`).

    Parameters
    ----------
    margins : array of shape (K,)
        Positive margins in cosine units (e.g. :func:`ldam_margins`).
    scale : float
        The cosine head's scale ``s`` (30 in the paper).

    Notes
    -----
    The margin is subtracted from the one true class's logit, so the head needs hard labels: a
    batch transform that mixes labels (mixup, CutMix) is refused with it. With the library's
    default ``TrainConfig`` the cross-entropy is label-smoothed (0.1); the paper trains without
    smoothing (``TrainConfig(label_smoothing=0)`` gives its loss exactly).
    """

    stage = "logits"
    needs_hard_labels = True

    def __init__(self, margins, *, scale: float = DEFAULT_COSINE_SCALE):
        m = np.asarray(margins, dtype=np.float64)
        if m.ndim != 1 or len(m) < 2 or not np.all(np.isfinite(m)) or np.any(m <= 0):
            raise ValueError(
                f"margins={m.tolist()} must be a 1-D array of positive numbers, one per class; "
                "compute them from the class counts with ldam_margins(counts)"
            )
        self.margins = torch.as_tensor(m, dtype=torch.float32)
        self.scale = check_scale(scale)

    @staticmethod
    def check_params(
        max_margin: float = DEFAULT_MAX_MARGIN, scale: float = DEFAULT_COSINE_SCALE
    ) -> dict:
        """Validated ``build`` parameters (``max_margin``, ``scale``: both > 0)."""
        return {"max_margin": check_max_margin(max_margin), "scale": check_scale(scale)}

    @classmethod
    def build(
        cls,
        real_counts,
        *,
        class_names=None,
        max_margin: float = DEFAULT_MAX_MARGIN,
        scale: float = DEFAULT_COSINE_SCALE,
    ) -> LDAMLoss:
        """The head for the real class counts (margins from :func:`ldam_margins`)."""
        params = cls.check_params(max_margin, scale)
        margins = ldam_margins(real_counts, params["max_margin"], class_names)
        return cls(margins, scale=params["scale"])

    def classifier_options(self) -> dict:
        return {"head": "cosine", "head_scale": self.scale}

    def check_model(self, model) -> None:
        head = getattr(model, "head", None)
        if not isinstance(head, CosineHead) or head.scale != self.scale:
            raise TypeError(
                f"LDAM needs a cosine classifier head with scale={self.scale:g}, but the model's "
                f"head is {head!r}; build it with create_classifier(..., head='cosine', "
                f"head_scale={self.scale:g}) or let the trainer build it"
            )

    def logits(self, logits: torch.Tensor, batch: BatchTargets) -> torch.Tensor:
        if batch.soft is not None:
            raise ValueError(
                "LDAM's margin needs hard labels, but the batch has mixed (soft) targets; drop "
                "the batch transform that mixes labels or the ldam loss head"
            )
        delta = self.scale * self.margins.to(logits.device)[batch.y]
        return logits - delta[:, None] * F.one_hot(batch.y, logits.shape[1]).to(logits.dtype)
