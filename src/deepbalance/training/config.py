"""``TrainConfig``: how a classifier is trained (not what loss it uses; see ``Recipe``)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .. import data  # noqa: F401  (its modules register their metric suites)
from .._batching import batch_sizes
from .._checks import check_choice, check_float, check_int
from ..metrics import metric_names

OPTIMIZERS = ("adam", "sgd")
#: Learning-rate schedules: one-cycle (warm up to ``lr``, cosine down; Smith & Topin 2019),
#: cosine annealing from ``lr`` to 0, or a constant ``lr``. Stepped once per batch.
SCHEDULES = ("onecycle", "cosine", "constant")
#: "auto": shifts always, horizontal flips only on datasets whose labels they preserve
#: (``deepbalance.data.hflip_preserves_label``); "shift-flip" forces flips (with a warning
#: where they change labels); "none" trains on the images as they are.
AUGMENTATIONS = ("auto", "none", "shift", "shift-flip")
#: What one epoch covers: every training row, or as many rows as there are real rows (so a
#: sampler that quadruples the set does not quadruple the optimisation steps), or a count.
EPOCH_ROWS = ("all", "real")
#: Default of ``TrainConfig.min_steps``: the fewest classifier steps a default training run
#: takes. At or below the 710 steps of 10 epochs of Fashion-MNIST-LT's 9,000 rows, so that
#: benchmark trains as before; a small set gets more epochs (docs/benchmarks.md, "Step budget").
DEFAULT_MIN_STEPS = 500


@dataclass(frozen=True)
class TrainConfig:
    """Training settings shared by every method.

    The defaults are a recipe tuned for small images on two CPU cores (see
    docs/benchmarks.md, "Training recipe"): the ``fast-cnn`` classifier, SGD with Nesterov
    momentum 0.9 and a one-cycle schedule peaking at ``lr=0.1``, weight decay 5e-4, label
    smoothing 0.1, random shifts (plus horizontal flips where they keep the label), batches of
    128, 10 epochs of as many rows as the real training set has, and at least
    ``min_steps=500`` optimisation steps: a small set is trained for more epochs
    (:meth:`epochs_for`; 780 rows: 7 steps per epoch, so 72 epochs, 504 steps), a set of
    6,400 rows or more keeps its 10 epochs.

    Parameters
    ----------
    classifier : str
        Name in ``deepbalance.nets.CLASSIFIERS``.
    classifier_params : dict
        Extra architecture options passed to ``create_classifier``.
    epochs : int
        Number of epochs (see ``epoch_rows`` for what one covers), or the fewest when
        ``min_steps`` asks for more.
    min_steps : int or None
        The fewest classifier optimisation steps: training runs
        ``max(epochs, ceil(min_steps / steps per epoch))`` epochs (:meth:`epochs_for`), so the
        budget grows as the training set shrinks. Default 500
        (:data:`DEFAULT_MIN_STEPS`); None trains exactly ``epochs`` epochs. When the rule
        adds epochs, ``eval_every`` is scaled by the same factor, so the number of
        evaluations stays about the same.
    epoch_rows : {"real", "all"} or int
        Rows per epoch: ``"real"`` as many as the real (non-synthetic) training rows, drawn
        without replacement from a running permutation of all rows, so every method trains for
        the same number of steps whatever its sampler adds; ``"all"`` one pass over every row
        (the papers' epochs); an int, that many rows. A triplet pretraining epoch
        (``Recipe(pretrain=True)``) feeds the network as many images: a third as many
        triplets (every anchor once with ``"all"``; ``TripletPretraining.anchors_per_epoch``).
    eval_every : int
        Evaluate the eval splits every this many epochs (and always after the last epoch).
    batch_size : int
        Rows per optimisation step.
    lr : float
        Learning rate (the peak of the one-cycle schedule).
    optimizer : {"sgd", "adam"}
        SGD with ``momentum`` (and ``nesterov``), or Adam.
    schedule : {"onecycle", "cosine", "constant"}
        Learning-rate schedule, stepped every batch.
    weight_decay : float
        L2 penalty passed to the optimizer.
    momentum : float
        SGD momentum (ignored by Adam).
    nesterov : bool
        Nesterov momentum for SGD (needs ``momentum > 0``; ignored by Adam).
    label_smoothing : float
        Label smoothing of the cross-entropy, in [0, 1).
    augment : {"auto", "none", "shift", "shift-flip"}
        Batch augmentation: random shifts by up to ``shift`` pixels (zero padding, then a
        random crop) and, for ``"shift-flip"``, random horizontal flips. ``"auto"`` flips only
        datasets whose labels survive a flip (Fashion-MNIST, CIFAR-10, CelebA; not digits,
        MNIST, SVHN, chest X-rays or unknown folders).
    shift : int or None
        Largest shift in pixels; None: ``max(1, round(0.08 * min(H, W)))`` (2 px at 28 px).
    val_fraction : float
        Share of the real training rows held out (stratified, seeded) as the ``"val"`` split,
        carved before any resampling. 0 disables it.
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    best_metric : str
        Metric whose maximum over evaluations defines the "best" (seed-paper) numbers and,
        with a validation split, the honestly selected epoch: a name of
        :func:`deepbalance.metrics.metric_names` (``"auroc_abnormal"`` and
        ``"auroc_subconditions_mean"`` exist on splits with a normal class).
    eval_batch_size : int, default=256
        Rows per forward pass during evaluation (and CLE-SMOTE's class-mean embeddings).
        Evaluation is per image, so it changes no number; 256 scored Fashion-MNIST's test set
        1.6× faster than 1,024 on one CPU thread (``benchmarks/eval_batch.py``,
        docs/benchmarks.md).
    """

    classifier: str = "fast-cnn"
    classifier_params: dict = field(default_factory=dict)
    epochs: int = 10
    min_steps: int | None = DEFAULT_MIN_STEPS
    epoch_rows: str | int = "real"
    eval_every: int = 1
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "sgd"
    schedule: str = "onecycle"
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    label_smoothing: float = 0.1
    augment: str = "auto"
    shift: int | None = None
    val_fraction: float = 0.0
    device: str = "cpu"
    best_metric: str = "acsa"
    eval_batch_size: int = 256

    def __post_init__(self):
        from ..nets.classifiers import CLASSIFIERS

        CLASSIFIERS.get(self.classifier)
        if not isinstance(self.classifier_params, dict):
            raise TypeError(
                f"classifier_params={self.classifier_params!r} must be a dict of architecture "
                "options, e.g. {'hidden': (256, 128)}"
            )
        check_int(self.epochs, "epochs", min_value=1)
        if self.min_steps is not None:
            if isinstance(self.min_steps, bool) or not isinstance(self.min_steps, int):
                raise TypeError(
                    f"min_steps={self.min_steps!r} must be an integer >= 1 (or None to train "
                    "exactly `epochs` epochs); pass e.g. min_steps=500"
                )
            if self.min_steps < 1:
                raise ValueError(
                    f"min_steps={self.min_steps} must be >= 1 (the fewest optimisation steps); "
                    "pass e.g. min_steps=500, or min_steps=None to train exactly `epochs` epochs"
                )
        if isinstance(self.epoch_rows, str):
            check_choice(self.epoch_rows, "epoch_rows", EPOCH_ROWS)
        else:
            check_int(self.epoch_rows, "epoch_rows", min_value=1)
        check_int(self.eval_every, "eval_every", min_value=1)
        check_int(self.batch_size, "batch_size", min_value=1)
        check_int(self.eval_batch_size, "eval_batch_size", min_value=1)
        check_float(self.lr, "lr", min_value=0.0, min_inclusive=False)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.schedule, "schedule", SCHEDULES)
        check_float(self.weight_decay, "weight_decay", min_value=0.0)
        check_float(self.momentum, "momentum", min_value=0.0, max_value=1.0, max_inclusive=False)
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"nesterov={self.nesterov!r} must be True or False")
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            raise ValueError(
                "nesterov=True needs momentum > 0 (got momentum=0); pass momentum=0.9 or "
                "nesterov=False"
            )
        check_float(
            self.label_smoothing,
            "label_smoothing",
            min_value=0.0,
            max_value=1.0,
            max_inclusive=False,
        )
        if isinstance(self.augment, bool):
            raise TypeError(
                f"augment={self.augment!r}: name the augmentation instead, one of "
                f"{', '.join(map(repr, AUGMENTATIONS))} ('auto' flips only where flips keep "
                "the label)"
            )
        check_choice(self.augment, "augment", AUGMENTATIONS)
        if self.shift is not None:
            check_int(self.shift, "shift", min_value=1)
        check_float(self.val_fraction, "val_fraction", min_value=0.0, max_value=0.5)
        check_choice(self.best_metric, "best_metric", metric_names())
        if not isinstance(self.device, str):
            raise TypeError(f"device={self.device!r} must be a string such as 'cpu' or 'cuda'")

    def rows_per_epoch(self, n_rows: int, n_real: int | None = None) -> int:
        """Rows one classifier epoch covers (``epoch_rows``) for ``n_rows`` training rows of
        which ``n_real`` are real (default: all)."""
        n_rows = check_int(n_rows, "n_rows", min_value=0)
        n_real = n_rows if n_real is None else check_int(n_real, "n_real", min_value=0)
        if self.epoch_rows == "all":
            return n_rows
        if self.epoch_rows == "real":
            return n_real if n_real > 0 else n_rows
        return int(self.epoch_rows)

    def steps_per_epoch(self, rows_per_epoch: int) -> int:
        """Optimisation steps of one epoch of ``rows_per_epoch`` rows (batches of
        ``batch_size``, a trailing single row merged into the batch before)."""
        rows_per_epoch = check_int(rows_per_epoch, "rows_per_epoch", min_value=0)
        return len(batch_sizes(rows_per_epoch, self.batch_size))

    def epochs_for(self, rows_per_epoch: int) -> int:
        """Epochs trained on epochs of ``rows_per_epoch`` rows: ``epochs``, or more when
        ``min_steps`` needs them (``ceil(min_steps / steps per epoch)``).

        Examples
        --------
        With the defaults (batch 128, ``epochs=10``, ``min_steps=500``): 100 rows are one
        step per epoch, so 500 epochs; 1,000 rows 8 steps, 63 epochs (504 steps); 10,000 rows
        79 steps, 10 epochs (790 steps).
        """
        steps = self.steps_per_epoch(rows_per_epoch)
        if self.min_steps is None or steps == 0:
            return self.epochs
        return max(self.epochs, math.ceil(self.min_steps / steps))

    def for_rows(self, rows_per_epoch: int) -> TrainConfig:
        """This config with ``epochs`` resolved by :meth:`epochs_for` and ``min_steps=None``
        (``eval_every`` scaled by the same factor as the epochs)."""
        epochs = self.epochs_for(rows_per_epoch)
        if epochs == self.epochs:
            return self.replace(min_steps=None)
        every = max(1, min(epochs, round(self.eval_every * epochs / self.epochs)))
        return self.replace(epochs=epochs, eval_every=every, min_steps=None)

    def budget_text(self, rows_per_epoch: int) -> str:
        """``"504 steps = 72 epochs of 780 rows (at least 500 steps)"``: the resolved budget,
        for headers."""
        epochs = self.epochs_for(rows_per_epoch)
        steps = epochs * self.steps_per_epoch(rows_per_epoch)
        rule = (
            f" (at least {self.min_steps} steps)"
            if self.min_steps is not None and epochs > self.epochs
            else ""
        )

        def count(n, word):
            return f"{n} {word}" if n == 1 else f"{n} {word}s"

        return (
            f"{count(steps, 'step')} = {count(epochs, 'epoch')} of "
            f"{count(rows_per_epoch, 'row')}{rule}"
        )

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain, JSON-friendly fields."""
        return dataclasses.asdict(self)
