"""``TrainConfig``: how a classifier is trained (not what loss it uses; see ``Recipe``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .._checks import check_choice, check_float, check_int

OPTIMIZERS = ("adam", "sgd")
#: scalar metrics of ``deepbalance.metrics.evaluate`` that can pick the best evaluation
SELECTION_METRICS = (
    "acsa",
    "gm",
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "auroc",
    "accuracy",
    "auroc_abnormal",
    "auroc_subconditions_mean",
)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings shared by every method.

    Parameters
    ----------
    classifier : str
        Name in ``deepbalance.nets.CLASSIFIERS``.
    classifier_params : dict
        Extra architecture options passed to ``create_classifier``.
    epochs : int
        Passes over the (resampled) training set.
    eval_every : int
        Evaluate the eval splits every this many epochs (and always after the last epoch).
    batch_size : int
        Rows per optimisation step.
    lr : float
        Learning rate.
    optimizer : {"adam", "sgd"}
        Adam, or SGD with ``momentum``.
    weight_decay : float
        L2 penalty passed to the optimizer.
    momentum : float
        SGD momentum (ignored by Adam).
    augment : bool
        Random crop with zero padding (1/8 of the side) and horizontal flip, per batch.
    val_fraction : float
        Share of the real training rows held out (stratified, seeded) as the ``"val"`` split,
        carved before any resampling. 0 disables it.
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    best_metric : str
        Metric whose maximum over evaluations defines the "best" (seed-paper) numbers and,
        with a validation split, the honestly selected epoch. ``"auroc_abnormal"`` and
        ``"auroc_subconditions_mean"`` exist on splits with a normal class (see the trainer).
    eval_batch_size : int
        Rows per forward pass during evaluation.
    """

    classifier: str = "small-cnn"
    classifier_params: dict = field(default_factory=dict)
    epochs: int = 10
    eval_every: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    augment: bool = False
    val_fraction: float = 0.0
    device: str = "cpu"
    best_metric: str = "acsa"
    eval_batch_size: int = 1024

    def __post_init__(self):
        from ..nets.classifiers import CLASSIFIERS

        CLASSIFIERS.get(self.classifier)
        if not isinstance(self.classifier_params, dict):
            raise TypeError(
                f"classifier_params={self.classifier_params!r} must be a dict of architecture "
                "options, e.g. {'hidden': (256, 128)}"
            )
        check_int(self.epochs, "epochs", min_value=1)
        check_int(self.eval_every, "eval_every", min_value=1)
        check_int(self.batch_size, "batch_size", min_value=1)
        check_int(self.eval_batch_size, "eval_batch_size", min_value=1)
        check_float(self.lr, "lr", min_value=0.0, min_inclusive=False)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_float(self.weight_decay, "weight_decay", min_value=0.0)
        check_float(self.momentum, "momentum", min_value=0.0, max_value=1.0, max_inclusive=False)
        if not isinstance(self.augment, bool):
            raise TypeError(f"augment={self.augment!r} must be True or False")
        check_float(self.val_fraction, "val_fraction", min_value=0.0, max_value=0.5)
        check_choice(self.best_metric, "best_metric", SELECTION_METRICS)
        if not isinstance(self.device, str):
            raise TypeError(f"device={self.device!r} must be a string such as 'cpu' or 'cuda'")

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain, JSON-friendly fields."""
        return dataclasses.asdict(self)
