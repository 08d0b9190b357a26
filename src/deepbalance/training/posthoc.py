"""Post-hoc adjustments: a change to the trained classifier after its last epoch, chosen on
the validation split carved from the training rows, never on a test set.

The trainer runs the recipe's adjustment after the last epoch and before its final
evaluation, so every number reported after the last epoch (and the returned model) is the
adjusted classifier's. An adjustment sees the validation rows through a
:class:`PostHocContext`: their embeddings and a score of any logits on them. A run without a
validation split is refused before training (``TrainConfig(val_fraction=...)``).

A new adjustment is one :class:`PostHoc` subclass and one :data:`POST_HOC` line.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..nets.classifiers import CosineHead
from ..registry import Registry

POST_HOC: Registry = Registry("post-hoc adjustment")
#: Kang et al. 2020's range of tau, searched in steps of 0.1.
DEFAULT_TAUS = tuple(round(0.1 * i, 1) for i in range(11))


class PostHocContext:
    """What an adjustment sees after the last epoch (built by the trainer).

    Parameters
    ----------
    model : Classifier
        The trained classifier, in evaluation mode.
    embeddings : tensor (N, D)
        ``model.embed`` of the validation images (no augmentation, no gradient).
    labels : ndarray (N,) of int
        Their labels.
    score : callable
        ``score(logits) -> float``: the selection metric of ``softmax(logits)`` on the
        validation split (higher is better).
    metric : str
        Name of that metric (``TrainConfig.best_metric``).
    """

    def __init__(self, model, embeddings, labels, score, metric: str = "acsa"):
        self.model, self.embeddings = model, embeddings
        self.labels = np.asarray(labels)
        if not callable(score):
            raise TypeError(f"score={score!r} must be a function of the logits")
        self._score, self.metric = score, metric

    def score(self, logits: torch.Tensor) -> float:
        """The metric of ``logits`` on the validation rows (NaN counts as -inf)."""
        value = float(self._score(logits))
        return -math.inf if math.isnan(value) else value


class PostHoc:
    """A change to the trained classifier chosen on validation; subclasses implement
    :meth:`check_model` and :meth:`fit`."""

    def check_model(self, model) -> None:
        """Raise when the adjustment cannot apply to ``model`` (checked before training)."""

    def fit(self, context: PostHocContext) -> dict:  # pragma: no cover - abstract
        """Choose the adjustment on ``context``, apply it to ``context.model`` and return a
        JSON-friendly record of what was chosen."""
        raise NotImplementedError


def check_taus(taus) -> tuple[float, ...]:
    """A non-empty grid of tau values in [0, 1], returned sorted and without repeats."""
    if isinstance(taus, (str, bytes, Mapping)) or not hasattr(taus, "__iter__"):
        raise TypeError(f"taus={taus!r} must be a list of numbers in [0, 1], e.g. [0, 0.5, 1]")
    values = list(taus)
    if not values:
        raise ValueError("taus=[] is empty; pass a grid such as [0, 0.1, ..., 1]")
    for tau in values:
        if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not 0 <= tau <= 1:
            raise ValueError(
                f"taus={values!r}: {tau!r} is not a number in [0, 1] (0 keeps the weights, 1 "
                "normalises them to unit norm); pass values in [0, 1]"
            )
    return tuple(sorted({float(t) for t in values}))


def tau_normalised(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """Kang et al. 2020's ``w_c / ||w_c||**tau`` for every class row ``w_c`` of ``weight``."""
    norms = weight.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return weight / norms**tau


@POST_HOC.register("tau-norm")
class TauNormalisation(PostHoc):
    """tau-normalised classifier (Kang et al. 2020, §4): ``w_c <- w_c / ||w_c||**tau``.

    Instance-balanced training leaves the frequent classes with the larger weight norms; the
    tau-normalisation shrinks that spread (tau = 1: unit norms, tau = 0: unchanged). tau is the
    grid value with the best validation score (``TrainConfig.best_metric``, ACSA by default,
    the balanced accuracy a balanced validation set measures in the paper); ties go to the
    smaller tau. The head's bias is dropped for every tau, as in the authors' released
    tau-normalisation code (logits ``features @ W_tau.T``): it is learned under the same
    imbalance the normalisation removes.

    Parameters
    ----------
    taus : sequence of float
        The grid, in [0, 1] (default 0, 0.1, ..., 1).
    """

    def __init__(self, taus=DEFAULT_TAUS):
        self.taus = check_taus(taus)

    def check_model(self, model) -> None:
        head = getattr(model, "head", None)
        if isinstance(head, CosineHead):
            raise ValueError(
                "tau-norm rescales a linear head's class weights, but the model has a cosine "
                "head, which normalises them itself (every tau would give the same "
                "classifier); drop tau-norm or the cosine head (e.g. LDAM)"
            )
        if not isinstance(head, torch.nn.Linear):
            raise TypeError(
                f"tau-norm needs a classifier whose `head` is a torch.nn.Linear, got {head!r}; "
                "use a classifier from deepbalance.nets.create_classifier"
            )

    def fit(self, context: PostHocContext) -> dict:
        """Score every tau on the validation embeddings, keep the best, rewrite the head."""
        head = context.model.head
        self.check_model(context.model)
        weight = head.weight.detach().clone()
        emb = context.embeddings.to(weight.device)
        scores = [
            (tau, context.score(F.linear(emb, tau_normalised(weight, tau)))) for tau in self.taus
        ]
        best = max(scores, key=lambda item: item[1])[0]  # the first (smallest tau) of ties
        with torch.no_grad():
            head.weight.copy_(tau_normalised(weight, best))
            if head.bias is not None:
                head.bias.zero_()
        self.tau = best
        return {"name": "tau-norm", "tau": best, "metric": context.metric, "scores": scores}


def build_post_hoc(name: str, params: Mapping | None = None) -> PostHoc:
    """The registered adjustment ``name`` made with ``params``."""
    cls = POST_HOC.get(name)
    try:
        return cls(**dict(params or {}))
    except TypeError as err:
        raise TypeError(f"post-hoc adjustment {name!r}: {err}") from None
