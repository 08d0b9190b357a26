"""Triplet pretraining of the embedding network (CLE-SMOTE's second stage).

For every anchor (any training row, synthetic ones included, unless ``anchors="real"``)
a positive is drawn at random from the **real** rows of the anchor's class and a negative
from the **real** rows of the other classes; the loss is
``max(0, ||A - P|| - ||A - N|| + margin)`` on the embeddings (the paper's equation,
``margin = 0`` by default). Sampling is vectorised: real rows are grouped by class once,
and each draw is an offset into a class's block (or into the complement of that block).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_choice, check_float, check_int

ANCHORS = ("all", "real")
#: images one triplet feeds the network (anchor, positive, negative)
IMAGES_PER_TRIPLET = 3


def check_margin(margin) -> float:
    """``margin`` of the triplet loss: a number >= 0."""
    if isinstance(margin, (int, float)) and not isinstance(margin, bool) and margin < 0:
        raise ValueError(
            f"margin={margin} must be >= 0: a negative margin rewards triplets whose negative "
            "is closer than the positive; pass margin=0 (CLE-SMOTE's equation) or e.g. 0.2"
        )
    return check_float(margin, "margin", min_value=0.0)


def triplet_loss(anchor, positive, negative, margin: float = 0.0) -> torch.Tensor:
    """Mean over rows of ``max(0, ||a - p|| - ||a - n|| + margin)`` (Euclidean distances)."""
    d_pos = F.pairwise_distance(anchor, positive)
    d_neg = F.pairwise_distance(anchor, negative)
    return F.relu(d_pos - d_neg + margin).mean()


class TripletSampler:
    """Draws real positives and real negatives for anchors.

    Parameters
    ----------
    labels : int array (N,)
        Encoded labels of all training rows.
    synthetic : bool array (N,)
        True for synthetic rows; they are never drawn as positives or negatives.
    n_classes : int
    class_names : sequence of str, optional
        For error messages.
    """

    def __init__(self, labels, synthetic, n_classes: int, class_names=None):
        labels = np.asarray(labels, dtype=np.int64)
        synthetic = np.asarray(synthetic, dtype=bool)
        real = np.flatnonzero(~synthetic)
        order = real[np.argsort(labels[real], kind="stable")]
        counts = np.bincount(labels[real], minlength=n_classes)
        names = class_names or [str(c) for c in range(n_classes)]
        used = np.unique(labels)
        lacking = [names[c] for c in used if counts[c] == 0]
        if lacking:
            raise ValueError(
                f"class(es) {lacking} have no real rows, so their anchors have no real positive "
                "for triplet pretraining; add real images of those classes or pretrain=False"
            )
        if (counts > 0).sum() < 2:
            raise ValueError("triplet pretraining needs real rows of at least two classes")
        rank = np.full(len(labels), -1, dtype=np.int64)  # position of a real row in its block
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        rank[order] = np.arange(len(order)) - starts[labels[order]]
        self.labels = torch.as_tensor(labels)
        self.real_sorted = torch.as_tensor(order)
        self.counts = torch.as_tensor(counts)
        self.starts = torch.as_tensor(starts)
        self.rank = torch.as_tensor(rank)
        self.n_real = len(order)

    def sample(self, anchors: torch.Tensor, generator: torch.Generator):
        """Row indices ``(positives, negatives)`` for the rows ``anchors``.

        A real anchor is not its own positive when its class has another real row.
        """
        anchors = anchors.cpu()
        c = self.labels[anchors]
        count, start, rank = self.counts[c], self.starts[c], self.rank[anchors]
        skip_self = (rank >= 0) & (count >= 2)
        u = torch.rand(len(anchors), generator=generator, dtype=torch.float64)
        n_pos = count - skip_self.long()
        r = torch.minimum((u * n_pos).long(), n_pos - 1)
        r = r + (skip_self & (r >= rank)).long()
        positives = self.real_sorted[start + r]
        u = torch.rand(len(anchors), generator=generator, dtype=torch.float64)
        n_neg = self.n_real - count
        r = torch.minimum((u * n_neg).long(), n_neg - 1)
        r = r + count * (r >= start).long()  # skip the anchor's class block
        negatives = self.real_sorted[r]
        return positives, negatives


@dataclass(frozen=True)
class TripletPretraining:
    """Settings of the triplet stage.

    Parameters
    ----------
    epochs : int
        Epochs of the stage (:meth:`anchors_per_epoch`: with ``epoch_rows="all"`` a pass over
        every anchor, otherwise the images of a classifier epoch).
    margin : float
        Triplet margin (>= 0).
    anchors : {"all", "real"}
        ``"all"``: every training row is an anchor once per epoch (CLE-SMOTE);
        ``"real"``: synthetic rows are never anchors (CLE-SMOTE v1).
    """

    epochs: int = 10
    margin: float = 0.0
    anchors: str = "all"

    def __post_init__(self):
        check_int(self.epochs, "pretrain_epochs", min_value=1)
        check_margin(self.margin)
        check_choice(self.anchors, "triplet_anchors", ANCHORS)

    @staticmethod
    def anchors_per_epoch(n_anchors: int, config, classifier_rows: int) -> int:
        """Anchors of one epoch: all ``n_anchors`` when ``config.epoch_rows == "all"`` (the
        papers' epochs), else ``ceil(classifier_rows / 3)`` (at most ``n_anchors``): a triplet
        is :data:`IMAGES_PER_TRIPLET` images, so the epoch feeds the network the images of a
        classifier epoch of ``classifier_rows`` rows."""
        n_anchors = check_int(n_anchors, "n_anchors", min_value=0)
        classifier_rows = check_int(classifier_rows, "classifier_rows", min_value=0)
        if config.epoch_rows == "all":
            return n_anchors
        return min(n_anchors, -(-classifier_rows // IMAGES_PER_TRIPLET))

    def anchor_rows(self, synthetic: np.ndarray) -> np.ndarray:
        """Rows used as anchors."""
        return np.flatnonzero(~synthetic) if self.anchors == "real" else np.arange(len(synthetic))
